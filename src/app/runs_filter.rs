//! The runs browser's filters: text (a run's or sweep's name, a tag, or words of its
//! notes), tag chips (several at once: the runs with every one of them) and status.

use super::runs_browser::RunRow;
use crate::runs::notebook::format_bytes;
use egui::{RichText, Ui};

/// Statuses the filter offers ("running" includes runs that may have died, "running?").
pub const STATUSES: [&str; 6] = ["running", "completed", "failed", "stopped", "interrupted", "unreadable"];

#[derive(Default)]
pub struct Filters {
    pub text: String,
    /// Tags a run must all have.
    pub tags: Vec<String>,
    pub status: Option<&'static str>,
}

impl Filters {
    pub fn active(&self) -> bool {
        !self.text.is_empty() || !self.tags.is_empty() || self.status.is_some()
    }

    /// Whether `r` passes every filter; `label` is also searched (a seed group's or sweep's name).
    pub fn matches(&self, r: &RunRow, label: Option<&str>) -> bool {
        if !self.tags.iter().all(|t| r.tags().contains(t)) {
            return false;
        }
        if self.status.is_some_and(|s| r.status_text().trim_end_matches('?') != s) {
            return false;
        }
        if self.text.is_empty() {
            return true;
        }
        let needle = self.text.to_lowercase();
        let has = |s: &str| s.to_lowercase().contains(&needle);
        has(&r.label())
            || label.is_some_and(has)
            || r.tags().iter().any(|t| has(t))
            || r.notes.as_ref().is_ok_and(|n| has(n))
            || r.info.as_ref().is_ok_and(|i| has(&i.notes))
    }
}

/// Every tag of `rows`, with how many runs have it, by name.
pub fn known_tags(rows: &[RunRow]) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for t in rows.iter().flat_map(|r| r.tags()) {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    counts.into_iter().map(|(t, n)| (t.to_string(), n)).collect()
}

/// The filter row (text and status, with the count and disk use of what is shown) and
/// the tag chips under it; returns whether "Select all shown" was clicked.
pub fn filters_ui(
    ui: &mut Ui,
    f: &mut Filters,
    known: &[(String, usize)],
    shown: usize,
    total: usize,
    shown_bytes: u64,
    loading: bool,
) -> bool {
    let mut select = false;
    ui.horizontal(|ui| {
        let l = ui.label("Filter");
        ui.add(egui::TextEdit::singleline(&mut f.text).desired_width(170.0).hint_text("name, tag or notes"))
            .labelled_by(l.id)
            .on_hover_text("Runs whose name, sweep, tags, purpose or notes contain this text");
        egui::ComboBox::from_id_salt("status_filter")
            .selected_text(f.status.unwrap_or("any status"))
            .width(96.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.status, None, "any status");
                for s in STATUSES {
                    ui.selectable_value(&mut f.status, Some(s), s);
                }
            })
            .response
            .on_hover_text("Show only runs with this status");
        if loading {
            ui.spinner();
            ui.label("scanning…");
        } else {
            let runs = if shown == total { format!("{total} runs") } else { format!("{shown} of {total} runs") };
            ui.label(format!("{runs} · {} on disk", format_bytes(shown_bytes))).on_hover_text(
                "What the runs shown take on disk (the disk column: each run's; tick runs and Remove checkpoints… to free space)",
            );
        }
    });
    if known.is_empty() && f.tags.is_empty() {
        return false;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Tags").weak())
            .on_hover_text("Click tags to show only the runs that have all of them (set with experiment.tags)");
        for (tag, n) in known {
            let mut on = f.tags.contains(tag);
            if ui.toggle_value(&mut on, format!("#{tag}")).on_hover_text(format!("{n} run(s) tagged {tag}")).changed() {
                if on {
                    f.tags.push(tag.clone());
                } else {
                    f.tags.retain(|t| t != tag);
                }
            }
        }
        // A selected tag no run has any more (after a clean-up or a rescan) can still be unselected.
        for tag in f.tags.clone().iter().filter(|t| !known.iter().any(|(k, _)| k == *t)) {
            if ui.toggle_value(&mut true, format!("#{tag}")).on_hover_text("no run has this tag now: click to drop it").clicked() {
                f.tags.retain(|t| t != tag);
            }
        }
        if f.active() {
            select = ui
                .small_button("select all shown")
                .on_hover_text(
                    "Tick every run and seed group shown, to overlay their curves or Compare them (e.g. everything tagged lr-study)",
                )
                .clicked();
            if ui.small_button("clear filters").clicked() {
                *f = Filters::default();
            }
        }
    });
    select
}
