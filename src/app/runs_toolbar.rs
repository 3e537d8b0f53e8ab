//! The runs browser's toolbar: what can be done with the focused run (load its
//! config, replay, resume, fork, open its folder, move it to the trash).

use super::runs_browser::{Browser, BrowserAction, RunRow};
use super::runs_scan::{move_to_trash, open_folder};
use crate::runs::RunDir;
use crate::runs::notebook::{CleanWhat, clean_run, format_bytes};
use egui::{RichText, Ui};
use std::path::{Path, PathBuf};

impl Browser {
    pub(super) fn toolbar_ui(&mut self, ui: &mut Ui, runs_root: &Path) -> Option<(BrowserAction, PathBuf)> {
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            let focused = self.focused.clone().filter(|p| self.rows.iter().any(|r| &r.path == p || self.group_dir_of(r) == Some(p)));
            let group = focused.as_ref().filter(|p| crate::runs::group::GroupDir::is_group(p));
            let on = focused.is_some();
            if let Some(p) = &focused {
                ui.strong(p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            } else {
                ui.label(RichText::new("Click a run's name to act on it").weak());
            }
            if ui.add_enabled(on, egui::Button::new("Load into editor")).on_hover_text("Put this run's config into the editor").clicked() {
                action = focused.clone().map(|p| (BrowserAction::LoadConfig, p));
            }
            let row = focused.as_ref().and_then(|p| self.rows.iter().find(|r| &r.path == p));
            let seeds: Vec<&RunRow> =
                group.map(|g| self.rows.iter().filter(|r| self.group_dir_of(r) == Some(g)).collect()).unwrap_or_default();
            // A run of someone else's loop (the Python ExperimentLogger) may have neither.
            let replayable = row.is_some_and(|r| {
                let run = crate::runs::RunDir::at(&r.path);
                run.eval_episodes().exists() || run.preferred_model().is_some()
            });
            let replay = ui.add_enabled(replayable, egui::Button::new("Replay episodes"));
            if replay
                .on_hover_text("Scrub this run's evaluation episodes")
                .on_disabled_hover_text(if group.is_some() {
                    "A seed group: unfold it (+) and pick one of its seeds"
                } else if on {
                    "It has no recorded episodes and no model to record them with"
                } else {
                    "Click a run first"
                })
                .clicked()
            {
                action = focused.clone().map(|p| (BrowserAction::Replay, p));
            }
            let resumable = row.is_some_and(|r| r.resumable())
                || seeds.iter().any(|r| {
                    r.resumable()
                        || r.seed_group.as_ref().is_some_and(|g| g.status == crate::runs::group::GroupStatus::Stopped && r.info.is_err())
                });
            let why_not = match row {
                None if group.is_some() => "None of its seeds is stopped, failed or interrupted with a checkpoint",
                Some(r) if r.checkpoints.is_empty() => "It has no checkpoint (it stopped before its first one)",
                Some(_) => "Only stopped, failed or interrupted runs can be resumed; fork a completed run to train it further",
                None => "Click a run first",
            };
            let resume = ui.add_enabled(resumable, egui::Button::new("Resume"));
            if resume
                .on_hover_text("Continue from its last checkpoint, in place (identical to a run that never stopped)")
                .on_disabled_hover_text(why_not)
                .clicked()
            {
                action = focused.clone().map(|p| (BrowserAction::Resume, p));
            }
            let forkable = row.is_some_and(|r| !r.checkpoints.is_empty());
            let fork = ui.add_enabled(forkable, egui::Button::new("Fork…"));
            let why_not =
                if group.is_some() { "A seed group: unfold it (+) and fork one of its seeds" } else { "It has no checkpoint to fork from" };
            if fork
                .on_hover_text("Start a new run from one of its checkpoints with an edited config")
                .on_disabled_hover_text(why_not)
                .clicked()
            {
                action = focused.clone().map(|p| (BrowserAction::Fork, p));
            }
            if ui.add_enabled(on, egui::Button::new("Open folder")).on_hover_text("Show the run directory in the file manager").clicked() {
                if let Some(p) = &focused {
                    self.message = Some(match open_folder(p) {
                        Ok(()) => format!("opened {}", p.display()),
                        Err(e) => e,
                    });
                }
            }
            if ui
                .add_enabled(on, egui::Button::new("Delete…"))
                .on_hover_text("Move to the trash folder inside the runs directory")
                .clicked()
            {
                self.confirm_delete = focused.clone();
            }
            self.clean_ui(ui);
        });
        self.confirm_clean_ui(ui, runs_root);
        if let Some(path) = self.confirm_delete.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    RichText::new(format!("Move {} to {}?", path.display(), runs_root.join("trash").display()))
                        .color(ui.visuals().warn_fg_color),
                );
                if ui.button("Move to trash").clicked() {
                    self.message = Some(match move_to_trash(runs_root, &path) {
                        Ok(dest) => format!("moved to {} (move it back to undo)", dest.display()),
                        Err(e) => e,
                    });
                    self.selected.retain(|p| p != &path);
                    self.focused = None;
                    self.confirm_delete = None;
                    self.refresh_blocking(runs_root);
                }
                if ui.button("Cancel").clicked() {
                    self.confirm_delete = None;
                }
            });
        }
        action
    }
}

impl Browser {
    /// The selected runs (a selected seed group's seeds included) that can give up their
    /// checkpoints: settled (not training) and with checkpoints.
    fn cleanable(&self) -> Vec<&RunRow> {
        self.rows
            .iter()
            .filter(|r| self.selected.iter().any(|p| *p == r.path || self.group_dir_of(r) == Some(p.as_path())))
            .filter(|r| r.settled() && !r.checkpoints.is_empty())
            .collect()
    }

    /// "Remove checkpoints…" and its confirmation.
    fn clean_ui(&mut self, ui: &mut Ui) {
        let runs = self.cleanable();
        let bytes: u64 = runs.iter().map(|r| r.disk.checkpoint_bytes).sum();
        let paths: Vec<PathBuf> = runs.iter().map(|r| r.path.clone()).collect();
        let button = ui.add_enabled(!paths.is_empty(), egui::Button::new("Remove checkpoints…"));
        let clicked = button
            .on_hover_text(format!(
                "Free {} from {} selected finished run(s): their checkpoints go, so they can no longer be resumed or forked; models, metrics, videos, replays and notes stay",
                format_bytes(bytes),
                paths.len()
            ))
            .on_disabled_hover_text("Select finished runs that have checkpoints (tick several to clean them together); a run still training is never cleaned")
            .clicked();
        if clicked {
            self.confirm_clean = Some(paths);
        }
    }

    /// The confirmation row of "Remove checkpoints…", when asked.
    fn confirm_clean_ui(&mut self, ui: &mut Ui, runs_root: &Path) {
        let Some(paths) = self.confirm_clean.clone() else { return };
        let bytes: u64 = self.rows.iter().filter(|r| paths.contains(&r.path)).map(|r| r.disk.checkpoint_bytes).sum();
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!(
                    "Remove the checkpoints of {} run(s), {}? They can no longer be resumed or forked.",
                    paths.len(),
                    format_bytes(bytes)
                ))
                .color(ui.visuals().warn_fg_color),
            );
            if ui.button("Remove checkpoints").clicked() {
                let what = CleanWhat { checkpoints: true, videos: false };
                let (mut freed, mut errors) = (0u64, Vec::new());
                for p in &paths {
                    match clean_run(&RunDir::at(p), what, false) {
                        Ok(r) => freed += r.bytes,
                        Err(e) => errors.push(e),
                    }
                }
                self.message = Some(match errors.is_empty() {
                    true => format!("removed the checkpoints of {} run(s): {} freed", paths.len(), format_bytes(freed)),
                    false => format!("{} freed; {}", format_bytes(freed), errors.join("; ")),
                });
                self.confirm_clean = None;
                self.refresh_blocking(runs_root);
            }
            if ui.button("Cancel").clicked() {
                self.confirm_clean = None;
            }
        });
    }
}
