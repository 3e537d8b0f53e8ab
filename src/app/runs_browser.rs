//! The runs browser: every run under the runs directory as a sortable,
//! filterable table, sweep trials grouped under their sweep. The directory is
//! rescanned on a background thread every few seconds (run_info.json parsed
//! only when it changed, the window woken only when a row did), so runs of
//! other processes appear and advance live, 10,000 runs never stall the UI,
//! and an idle window costs nothing.

use super::runs_scanner::Scanner;
use crate::runs::RunStatus;
use crate::runs::group::GroupInfo;
use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::runs_filter::{Filters, filters_ui, known_tags};
use super::runs_scan::STALE_SECS;
use super::runs_scan::{InfoCache, format_utc, scan, sort_rows};
pub use super::runs_scan::{RunRow, SortKey};
use crate::runs::notebook::format_bytes;

/// One line of the table: a sweep's header, a seed group's header or a run.
enum Line {
    Group {
        name: String,
        dir: PathBuf,
        n: usize,
        running: usize,
        best: Option<f64>,
        bytes: u64,
    },
    /// A seed group, folded into one line by default (its seeds follow when unfolded).
    SeedGroup {
        label: String,
        dir: PathBuf,
        info: Arc<GroupInfo>,
        counts: Vec<(String, usize)>,
        best: Option<f64>,
        bytes: u64,
    },
    Run(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserAction {
    LoadConfig,
    Replay,
    Resume,
    Fork,
}

pub struct Browser {
    pub rows: Vec<RunRow>,
    pub filters: Filters,
    /// Every tag in the rows, with its count (the filter's chips, the editor's suggestions).
    pub known_tags: Vec<(String, usize)>,
    /// Runs whose curves are plotted (several overlay).
    pub selected: Vec<PathBuf>,
    /// The run the toolbar acts on (last clicked).
    pub focused: Option<PathBuf>,
    pub sort: (SortKey, bool),
    /// Sweeps shown folded.
    pub collapsed: HashSet<String>,
    /// Seed groups shown unfolded (they start folded: one line per group).
    pub expanded: HashSet<String>,
    /// A run waiting for the user to confirm moving it to the trash.
    pub confirm_delete: Option<PathBuf>,
    /// Runs waiting for the user to confirm removing their checkpoints.
    pub confirm_clean: Option<Vec<PathBuf>>,
    pub message: Option<String>,
    /// The directory the rows are of (None until its first scan arrived).
    scanned: Option<PathBuf>,
    scanner: Option<Scanner>,
    /// For scans on the UI thread (refresh_blocking).
    cache: Option<InfoCache>,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            filters: Filters::default(),
            known_tags: Vec::new(),
            selected: Vec::new(),
            focused: None,
            sort: (SortKey::Started, true),
            collapsed: HashSet::new(),
            expanded: HashSet::new(),
            confirm_delete: None,
            confirm_clean: None,
            message: None,
            scanned: None,
            scanner: None,
            cache: Some(InfoCache::new()),
        }
    }
}

impl Browser {
    /// Whether the first scan of the current directory is still running.
    pub fn loading(&self) -> bool {
        self.scanner.is_some() && self.scanned.is_none()
    }

    /// Takes scanned rows, sorted by `sorted_by` if given (sorted again when
    /// unsorted or the user changed the order since).
    fn accept(&mut self, root: PathBuf, mut rows: Vec<RunRow>, sorted_by: Option<(SortKey, bool)>) {
        if sorted_by != Some(self.sort) {
            sort_rows(&mut rows, self.sort);
        }
        self.known_tags = known_tags(&rows);
        self.rows = rows;
        self.scanned = Some(root);
    }

    /// Takes what the background scanner found (it rescans every 2 s, at once when the
    /// directory or the order changed, and wakes the window only when rows changed).
    /// Never blocks.
    pub fn refresh(&mut self, root: &Path, waker: Arc<dyn Fn() + Send + Sync>) {
        if self.scanned.as_ref().is_some_and(|p| p != root) {
            self.rows.clear();
            self.scanned = None;
        }
        match &self.scanner {
            Some(scanner) => scanner.follow(root, self.sort),
            None => match Scanner::start(root, self.sort, waker) {
                Some(scanner) => self.scanner = Some(scanner),
                None => {
                    self.message = Some(format!("cannot scan {}: no thread could be started", root.display()));
                    return;
                }
            },
        }
        if let Some(found) = self.scanner.as_ref().and_then(Scanner::take) {
            if found.root == root {
                self.accept(found.root, found.rows, Some(found.sort));
            }
        }
    }

    /// Scans on the calling thread (tests, benchmarks, after a delete), and has the
    /// background scanner look again too.
    pub fn refresh_blocking(&mut self, root: &Path) {
        let mut cache = self.cache.take().unwrap_or_default();
        let rows = scan(root, &mut cache);
        self.cache = Some(cache);
        self.accept(root.to_path_buf(), rows, None);
        if let Some(scanner) = &self.scanner {
            scanner.rescan();
        }
    }

    fn lines(&self) -> Vec<Line> {
        let mut out = Vec::new();
        let mut groups_done: HashSet<&str> = HashSet::new();
        let matches = |r: &RunRow| self.filters.matches(r, None);
        for (i, row) in self.rows.iter().enumerate() {
            match &row.group {
                None if matches(row) => out.push(Line::Run(i)),
                None => {}
                Some(g) if row.seed_group.is_some() => {
                    if !groups_done.insert(g.as_str()) {
                        continue;
                    }
                    let members: Vec<usize> = (0..self.rows.len()).filter(|&j| self.rows[j].group.as_deref() == Some(g)).collect();
                    if !members.iter().any(|&j| self.filters.matches(&self.rows[j], Some(g))) {
                        continue;
                    }
                    let mut counts: Vec<(String, usize)> = Vec::new();
                    for &j in &members {
                        let s = self.rows[j].status_text();
                        match counts.iter_mut().find(|(k, _)| *k == s) {
                            Some(c) => c.1 += 1,
                            None => counts.push((s, 1)),
                        }
                    }
                    let best =
                        members.iter().filter_map(|&j| self.rows[j].info.as_ref().ok()?.best_eval_mean_reward).max_by(f64::total_cmp);
                    let Some(info) = row.seed_group.clone() else { continue };
                    let dir = row.path.parent().map(Path::to_path_buf).unwrap_or_default();
                    let bytes = members.iter().map(|&j| self.rows[j].disk.total_bytes).sum();
                    out.push(Line::SeedGroup { label: g.clone(), dir, info, counts, best, bytes });
                    if self.expanded.contains(g) {
                        out.extend(members.into_iter().map(Line::Run));
                    }
                }
                Some(g) => {
                    if !groups_done.insert(g.as_str()) {
                        continue;
                    }
                    // The sweep sits where its best-ranked trial would; its trials follow in order.
                    let members: Vec<usize> =
                        (i..self.rows.len()).filter(|&j| self.rows[j].group.as_deref() == Some(g) && matches(&self.rows[j])).collect();
                    if members.is_empty() {
                        continue;
                    }
                    let infos = || members.iter().filter_map(|&j| self.rows[j].info.as_ref().ok());
                    let best = infos().filter_map(|i| i.best_eval_mean_reward).max_by(f64::total_cmp);
                    let running = members.iter().filter(|&&j| self.rows[j].status_text() == "running").count();
                    let bytes = members.iter().map(|&j| self.rows[j].disk.total_bytes).sum();
                    let dir = self.rows[members[0]].path.parent().map(Path::to_path_buf).unwrap_or_default();
                    out.push(Line::Group { name: g.clone(), dir, n: members.len(), running, best, bytes });
                    if !self.collapsed.contains(g) {
                        out.extend(members.into_iter().map(Line::Run));
                    }
                }
            }
        }
        out
    }

    /// The seed group directory a seed's row belongs to.
    pub fn group_dir_of<'a>(&self, r: &'a RunRow) -> Option<&'a Path> {
        r.seed_group.as_ref().and(r.path.parent())
    }

    /// Toolbar, filter and table; returns an action on the focused run.
    pub fn browser_ui(&mut self, ui: &mut Ui, runs_root: &Path) -> Option<(BrowserAction, PathBuf)> {
        let action = self.toolbar_ui(ui, runs_root);
        if let Some(m) = &self.message {
            ui.label(m);
        }
        let lines = self.lines();
        // What is shown, counted in runs (a seed group's seeds each count): the rows that pass.
        let shown: Vec<&RunRow> =
            self.rows.iter().filter(|r| !self.filters.active() || self.filters.matches(r, r.group.as_deref())).collect();
        let (n_runs, shown_bytes) = (shown.len(), shown.iter().map(|r| r.disk.total_bytes).sum::<u64>());
        let loading = self.loading();
        if filters_ui(ui, &mut self.filters, &self.known_tags, n_runs, self.rows.len(), shown_bytes, loading) {
            // "Select all shown": every run and seed group the filters leave, to overlay or Compare.
            self.selected = lines
                .iter()
                .filter_map(|l| match l {
                    Line::Run(i) if self.rows[*i].seed_group.is_none() => Some(self.rows[*i].path.clone()),
                    Line::SeedGroup { dir, .. } => Some(dir.clone()),
                    _ => None,
                })
                .collect();
        }
        let headers = [
            ("run", SortKey::Name),
            ("tags", SortKey::Tags),
            ("env", SortKey::Env),
            ("algo", SortKey::Algo),
            ("status", SortKey::Status),
            ("timesteps", SortKey::Timesteps),
            ("best", SortKey::Best),
            ("wall", SortKey::Wall),
            ("disk", SortKey::Disk),
            ("started", SortKey::Started),
        ];
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        let mut toggle_group = None;
        let mut toggle_seed_group: Option<String> = None;
        let this_year = format_utc(crate::runs::unix_now_secs());
        TableBuilder::new(ui)
            .id_salt("runs_table")
            .striped(true)
            .resizable(true)
            .auto_shrink([false, false])
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::exact(22.0))
            .column(Column::initial(150.0).at_least(60.0).clip(true))
            .column(Column::initial(90.0).clip(true))
            .column(Column::initial(100.0).clip(true))
            .column(Column::initial(48.0).clip(true))
            .column(Column::initial(82.0).clip(true))
            .column(Column::initial(104.0).clip(true))
            .column(Column::initial(58.0).clip(true))
            .column(Column::initial(46.0).clip(true))
            .column(Column::initial(52.0).clip(true))
            .column(Column::remainder().at_least(84.0).clip(true))
            .header(row_h + 2.0, |mut header| {
                header.col(|ui| {
                    ui.label("").on_hover_text("Plot: tick several runs to overlay their curves");
                });
                for (h, key) in headers {
                    header.col(|ui| {
                        let arrow = if self.sort.0 == key { if self.sort.1 { " v" } else { " ^" } } else { "" };
                        if ui.button(RichText::new(format!("{h}{arrow}")).strong()).on_hover_text("Sort by this column (again: reverse)").clicked() {
                            self.sort = (key, if self.sort.0 == key { !self.sort.1 } else { matches!(key, SortKey::Best | SortKey::Timesteps | SortKey::Started | SortKey::Wall | SortKey::Disk) });
                            sort_rows(&mut self.rows, self.sort);
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(row_h, lines.len(), |mut row| {
                    match &lines[row.index()] {
                        Line::Group { name, dir, n, running, best, bytes } => {
                            row.set_selected(self.focused.as_ref() == Some(dir));
                            let open = !self.collapsed.contains(name);
                            row.col(|ui| {
                                if ui.small_button(if open { "-" } else { "+" }).on_hover_text(if open { "Fold this sweep" } else { "Unfold this sweep" }).clicked() {
                                    toggle_group = Some(name.clone());
                                }
                            });
                            row.col(|ui| {
                                let focused = self.focused.as_ref() == Some(dir);
                                let resp = ui
                                    .selectable_label(focused, RichText::new(name).strong())
                                    .on_hover_text("A sweep: its trials are listed under it; click for its notes");
                                if resp.clicked() {
                                    self.focused = Some(dir.clone());
                                }
                            });
                            row.col(|_| {});
                            row.col(|ui| {
                                ui.label(format!("sweep, {n} trials"));
                            });
                            row.col(|_| {});
                            row.col(|ui| {
                                ui.label(if *running > 0 { format!("{running} running") } else { String::new() });
                            });
                            row.col(|_| {});
                            row.col(|ui| {
                                ui.strong(best.map(|b| format!("{b:.1}")).unwrap_or_default());
                            });
                            row.col(|_| {});
                            row.col(|ui| {
                                disk_ui(ui, *bytes);
                            });
                            row.col(|_| {});
                        }
                        Line::SeedGroup { label, dir, info, counts, best, bytes } => {
                            let open = self.expanded.contains(label);
                            row.set_selected(self.focused.as_ref() == Some(dir));
                            row.col(|ui| {
                                let mut on = self.selected.contains(dir);
                                if ui.checkbox(&mut on, "").on_hover_text("Plot this group's band (several overlay)").changed() {
                                    if on {
                                        self.selected.push(dir.clone());
                                    } else {
                                        self.selected.retain(|p| p != dir);
                                    }
                                }
                            });
                            row.col(|ui| {
                                if ui.small_button(if open { "-" } else { "+" }).on_hover_text(if open { "Fold this seed group" } else { "Show its seeds" }).clicked() {
                                    toggle_seed_group = Some(label.clone());
                                }
                                let text = RichText::new(format!("{label} ({} seeds)", info.seeds.len())).strong();
                                let resp = ui.selectable_label(self.focused.as_ref() == Some(dir), text).on_hover_text(format!("seed group {}: seeds {:?}", dir.display(), info.seeds));
                                if resp.clicked() {
                                    self.focused = Some(dir.clone());
                                    if ui.input(|i| i.modifiers.command) {
                                        if !self.selected.contains(dir) {
                                            self.selected.push(dir.clone());
                                        }
                                    } else {
                                        self.selected = vec![dir.clone()];
                                    }
                                }
                            });
                            row.col(|ui| {
                                tags_ui(ui, &info.config.experiment.tags, label.split('/').next().filter(|_| label.contains('/')));
                            });
                            row.col(|ui| {
                                ui.label(&info.env_id);
                            });
                            row.col(|ui| {
                                ui.label(&info.algorithm);
                            });
                            row.col(|ui| {
                                let short = counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ");
                                let failed = counts.iter().any(|(s, _)| s == "failed");
                                let running = counts.iter().any(|(s, _)| s == "running");
                                let color = if failed { ui.visuals().error_fg_color } else if running { ui.visuals().hyperlink_color } else { ui.visuals().text_color() };
                                ui.label(RichText::new(&short).color(color)).on_hover_text(format!("seeds: {short}"));
                            });
                            row.col(|ui| {
                                match &info.final_score {
                                    Some(f) => {
                                        ui.label(RichText::new(format!("IQM {:.1} [{:.0}, {:.0}]", f.iqm.value, f.iqm.low, f.iqm.high)).small()).on_hover_text(format!(
                                            "final eval/mean_reward over {} seeds: IQM {:.2}, 95% CI [{:.2}, {:.2}]; mean {:.2} ± {:.2}",
                                            f.n_seeds, f.iqm.value, f.iqm.low, f.iqm.high, f.mean.value, f.std
                                        ));
                                    }
                                    None => {
                                        ui.label(RichText::new("IQM when done").weak().small()).on_hover_text("The final-score statistics are computed when the group ends; select it to see its curves now");
                                    }
                                }
                            });
                            row.col(|ui| {
                                ui.label(best.map(|b| format!("{b:.1}")).unwrap_or_else(|| "-".into())).on_hover_text("The best evaluation of any seed");
                            });
                            row.col(|ui| {
                                ui.label(info.wall_secs.map(crate::runner::format_duration).unwrap_or_else(|| "-".into()));
                            });
                            row.col(|ui| {
                                disk_ui(ui, *bytes);
                            });
                            row.col(|ui| {
                                let full = format_utc(info.started_at_unix_secs);
                                let short = if full.get(..4) == this_year.get(..4) { full.get(5..).unwrap_or(&full).to_string() } else { full.clone() };
                                ui.label(short).on_hover_text(format!("started {full} UTC"));
                            });
                        }
                        Line::Run(i) => {
                            let r = &self.rows[*i];
                            row.set_selected(self.focused.as_ref() == Some(&r.path));
                            row.col(|ui| {
                                let mut on = self.selected.contains(&r.path);
                                if ui.checkbox(&mut on, "").on_hover_text("Plot this run (several overlay)").changed() {
                                    if on {
                                        self.selected.push(r.path.clone());
                                    } else {
                                        self.selected.retain(|p| p != &r.path);
                                    }
                                }
                            });
                            row.col(|ui| {
                                if r.group.is_some() {
                                    ui.add_space(14.0);
                                }
                                let resp = ui.selectable_label(self.focused.as_ref() == Some(&r.path), &r.name).on_hover_text(r.path.display().to_string());
                                if resp.clicked() {
                                    self.focused = Some(r.path.clone());
                                    // A plain click shows this run alone; Ctrl/Cmd-click adds it to the overlay.
                                    if ui.input(|i| i.modifiers.command) {
                                        if !self.selected.contains(&r.path) {
                                            self.selected.push(r.path.clone());
                                        }
                                    } else {
                                        self.selected = vec![r.path.clone()];
                                    }
                                }
                            });
                            row.col(|ui| {
                                // A trial's sweep tag is what the sweep line above it says already.
                                let sweep = if r.seed_group.is_none() { r.group.as_deref() } else { None };
                                tags_ui(ui, r.tags(), sweep);
                            });
                            match &r.info {
                                Ok(info) => {
                                    row.col(|ui| {
                                        ui.label(&info.env_id);
                                    });
                                    row.col(|ui| {
                                        ui.label(&info.algorithm);
                                    });
                                    row.col(|ui| {
                                        let text = r.status_text();
                                        let color = match info.status {
                                            RunStatus::Running if text == "running" => ui.visuals().hyperlink_color,
                                            RunStatus::Running => ui.visuals().warn_fg_color,
                                            RunStatus::Failed => ui.visuals().error_fg_color,
                                            RunStatus::Stopped | RunStatus::Interrupted => ui.visuals().warn_fg_color,
                                            RunStatus::Completed => ui.visuals().text_color(),
                                        };
                                        let resp = ui.label(RichText::new(text).color(color));
                                        if let Some(e) = &info.error {
                                            resp.on_hover_text(e);
                                        } else if r.dead {
                                            resp.on_hover_text(format!("its process ({}) is gone: it was killed before it could record an end; models saved so far are kept, and Resume continues it from its last checkpoint", info.pid.unwrap_or(0)));
                                        } else if let Some(idle) = r.idle_secs.filter(|s| *s > STALE_SECS) {
                                            resp.on_hover_text(format!("nothing written for {}: its process may have died", crate::runner::format_duration(idle)));
                                        }
                                    });
                                    row.col(|ui| {
                                        ui.label(format!("{}/{}", info.timesteps_done, info.total_timesteps));
                                    });
                                    row.col(|ui| {
                                        ui.label(info.best_eval_mean_reward.map(|b| format!("{b:.1}")).unwrap_or_else(|| "-".into()));
                                    });
                                    row.col(|ui| {
                                        ui.label(r.wall_secs().map(crate::runner::format_duration).unwrap_or_else(|| "-".into()));
                                    });
                                    row.col(|ui| {
                                        disk_ui(ui, r.disk.total_bytes).on_hover_text(format!(
                                            "{} in all: checkpoints {}, videos {}",
                                            format_bytes(r.disk.total_bytes),
                                            format_bytes(r.disk.checkpoint_bytes),
                                            format_bytes(r.disk.video_bytes)
                                        ));
                                    });
                                    row.col(|ui| {
                                        let full = format_utc(info.started_at_unix_secs);
                                        // This year's dates drop the year (the column stays narrow).
                                        let short = if full.get(..4) == this_year.get(..4) { full.get(5..).unwrap_or(&full).to_string() } else { full.clone() };
                                        ui.label(short).on_hover_text(format!("started {full} UTC"));
                                    });
                                }
                                Err(e) => {
                                    row.col(|_| {});
                                    row.col(|_| {});
                                    row.col(|ui| {
                                        ui.label(RichText::new("unreadable").color(ui.visuals().warn_fg_color)).on_hover_text(e);
                                    });
                                    row.col(|ui| {
                                        ui.label(RichText::new(e).weak()).on_hover_text(e);
                                    });
                                    row.col(|_| {});
                                    row.col(|_| {});
                                    row.col(|_| {});
                                    row.col(|_| {});
                                }
                            }
                        }
                    }
                });
            });
        if let Some(g) = toggle_seed_group {
            if !self.expanded.remove(&g) {
                self.expanded.insert(g);
            }
        }
        if let Some(g) = toggle_group {
            if !self.collapsed.remove(&g) {
                self.collapsed.insert(g);
            }
        }
        action
    }
}

/// A row's tags, as one line (hover: the full list); `sweep`, the sweep the row is listed
/// under, is left out of the line.
fn tags_ui(ui: &mut Ui, tags: &[String], sweep: Option<&str>) {
    if !tags.is_empty() {
        let shown: Vec<&str> = tags.iter().map(String::as_str).filter(|t| Some(*t) != sweep).collect();
        ui.label(shown.join(", ")).on_hover_text(format!("tags: {}", tags.join(", ")));
    }
}

/// A disk-use cell.
fn disk_ui(ui: &mut Ui, bytes: u64) -> egui::Response {
    ui.label(if bytes == 0 { "-".to_string() } else { format_bytes(bytes) })
}
