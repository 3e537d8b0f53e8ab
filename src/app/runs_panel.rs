//! The Runs tab: the runs browser on the left; on the right the curves of the
//! ticked runs (followed live) and the focused run's details and config.

use super::runs_browser::BrowserAction;
use super::{RlApp, Tab, plots};
use crate::config::Config;
use crate::runs::group::{GroupDir, GroupInfo};
use crate::runs::{RunDir, RunInfo};
use egui::{RichText, Ui};
use std::path::PathBuf;

impl RlApp {
    pub(super) fn runs_ui(&mut self, ui: &mut Ui) {
        egui::Panel::left("browser").default_size(760.0).min_size(360.0).resizable(true).show(ui, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("runs directory");
                let mut text = self.settings.runs_dir.display().to_string();
                if ui.add(egui::TextEdit::singleline(&mut text).desired_width(260.0)).labelled_by(l.id).changed() {
                    self.settings.runs_dir = PathBuf::from(text);
                }
                if ui
                    .button("Browse…")
                    .on_hover_text("Choose the runs directory (native dialog; needs xdg-desktop-portal, otherwise type the path)")
                    .clicked()
                {
                    match rfd::FileDialog::new().set_directory(&self.settings.runs_dir).pick_folder() {
                        Some(p) => self.settings.runs_dir = p,
                        None => self.status = "no folder chosen (if no dialog appeared, type the path in the field)".into(),
                    }
                }
                if ui.button("Refresh").on_hover_text("Rescan now (it also rescans every 2 s)").clicked() {
                    self.browser.refresh_blocking(&self.settings.runs_dir.clone());
                }
            });
            if !self.settings.runs_dir.is_dir() {
                ui.label(
                    RichText::new(format!("{} does not exist yet: it is created by the first run.", self.settings.runs_dir.display()))
                        .weak(),
                );
            }
            ui.separator();
            if let Some((action, path)) = self.browser.browser_ui(ui, &self.settings.runs_dir.clone()) {
                match action {
                    BrowserAction::LoadConfig => match load_config(&path) {
                        Ok(c) => {
                            self.settings.config = c;
                            self.buffers.reset();
                            self.settings.tab = Tab::Train;
                            self.status = format!("loaded the config of {}", path.display());
                        }
                        Err(e) => self.status = e.to_string(),
                    },
                    BrowserAction::Replay => {
                        self.replay.open(path);
                        self.settings.tab = Tab::Replay;
                    }
                    BrowserAction::Resume => {
                        self.jobs.start_request(crate::runner::request::RunRequest::Resume(path.clone()), self.paced_waker(ui.ctx()));
                        self.settings.tab = Tab::Train;
                        self.status = format!("resuming {} from its last checkpoint", path.display());
                    }
                    BrowserAction::Fork => {
                        let steps = self.browser.rows.iter().find(|r| r.path == path).map(|r| r.checkpoints.clone()).unwrap_or_default();
                        match (Config::load(&RunDir::at(&path).config_yaml()), steps.last()) {
                            (Ok(mut c), Some(&step)) => {
                                c.experiment.name = crate::runner::fork_name(&path);
                                self.settings.config = c;
                                self.buffers.reset();
                                self.fork = Some(super::ForkTarget { parent: path.clone(), steps, step });
                                self.settings.tab = Tab::Train;
                                self.status = format!("fork of {}: edit the config and press Run", path.display());
                            }
                            (Err(e), _) => self.status = e.to_string(),
                            (_, None) => self.status = format!("{} has no checkpoint to fork from", path.display()),
                        }
                    }
                }
            }
        });
        // Seed groups are drawn from their statistics, single runs followed live.
        let (groups, runs): (Vec<PathBuf>, Vec<PathBuf>) = self.browser.selected.iter().cloned().partition(|p| GroupDir::is_group(p));
        self.follower.set(&runs, Self::waker(ui.ctx()));
        self.follower.poll();
        egui::CentralPanel::default().show(ui, |ui| {
            if self.browser.selected.is_empty() {
                ui.label(RichText::new("Click a run's or seed group's name to plot it; tick the boxes to overlay several.").weak());
            }
            self.details_ui(ui);
            let series: Vec<(String, &plots::RunMetrics)> =
                runs.iter().filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), self.follower.data.get(p)?))).collect();
            let waker = Self::waker(ui.ctx());
            if !self.group_view.mode_ui(ui, &self.browser.selected) {
                return;
            }
            if groups.is_empty() {
                plots::plots_ui(ui, &mut self.settings.plot, &series);
            } else {
                self.group_view.bands_ui(ui, &groups, &series, waker);
            }
        });
    }

    /// The focused run's summary and config.yaml (folded by default); a seed group's record.
    fn details_ui(&mut self, ui: &mut Ui) {
        let Some(focused) = self.browser.focused.clone() else { return };
        let stale = self.details.as_ref().is_none_or(|(p, _, _)| *p != focused);
        let row_info = self.browser.rows.iter().find(|r| r.path == focused).map(|r| r.info.clone());
        if GroupDir::is_group(&focused) {
            return self.group_details_ui(ui, &focused);
        }
        if crate::sweep::dir::SweepDir::is_sweep(&focused) {
            return self.sweep_details_ui(ui, &focused);
        }
        if stale {
            let run = RunDir::at(&focused);
            let config =
                std::fs::read_to_string(run.config_yaml()).unwrap_or_else(|e| format!("cannot read {}: {e}", run.config_yaml().display()));
            let info = row_info.clone().unwrap_or_else(|| RunInfo::read(&run).map_err(|e| e.to_string()));
            self.details = Some((focused.clone(), info, config));
        } else if let (Some(info), Some(d)) = (row_info, self.details.as_mut()) {
            d.1 = info;
        }
        let Some((_, info, config)) = &self.details else { return };
        let disk = self.browser.rows.iter().find(|r| r.path == focused).map(|r| r.disk);
        let notes = &mut self.notes_editor;
        egui::CollapsingHeader::new(format!("Details of {}", focused.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()))
            .id_salt("run_details")
            .default_open(true)
            .show(ui, |ui| {
                match info {
                    Ok(i) => {
                        ui.label(format!(
                            "{} on {} · seed {} · {} · device {} · {} cores",
                            i.algorithm,
                            i.env_id,
                            i.seed,
                            i.status.as_str(),
                            i.environment.device,
                            i.environment.cpu_cores
                        ));
                        if let Some(e) = &i.error {
                            ui.colored_label(ui.visuals().error_fg_color, format!("error: {e}"));
                        }
                        for w in &i.warnings {
                            ui.colored_label(ui.visuals().warn_fg_color, format!("warning: {w}"));
                        }
                        super::run_notes::run_summary_ui(ui, i, disk);
                    }
                    Err(e) => {
                        ui.colored_label(ui.visuals().warn_fg_color, e);
                    }
                }
                notes.notes_ui(ui, &focused, "run");
                egui::CollapsingHeader::new("config.yaml").id_salt("config_yaml").show(ui, |ui| {
                    egui::ScrollArea::vertical().id_salt("config_text").max_height(180.0).show(ui, |ui| {
                        ui.add(egui::Label::new(RichText::new(config.as_str()).monospace().small()).selectable(true));
                    });
                });
            });
    }
}

/// The config a run directory or seed group was trained with.
fn load_config(path: &std::path::Path) -> Result<Config, String> {
    if GroupDir::is_group(path) {
        return GroupInfo::read(&GroupDir::at(path)).map(|i| i.config).map_err(|e| e.to_string());
    }
    Config::load(&RunDir::at(path).config_yaml()).map_err(|e| e.to_string())
}

impl RlApp {
    /// A seed group's record: seeds, statuses, final scores.
    fn group_details_ui(&mut self, ui: &mut Ui, dir: &std::path::Path) {
        let info = match GroupInfo::read(&GroupDir::at(dir)) {
            Ok(i) => i,
            Err(e) => {
                ui.colored_label(ui.visuals().warn_fg_color, e.to_string());
                return;
            }
        };
        let disk: u64 = self.browser.rows.iter().filter(|r| r.path.parent() == Some(dir)).map(|r| r.disk.total_bytes).sum();
        let notes = &mut self.notes_editor;
        egui::CollapsingHeader::new(format!("Details of seed group {}", info.name)).id_salt("group_details").default_open(true).show(
            ui,
            |ui| {
                let execution = match (info.batched, info.parallel) {
                    (true, 1) => "batched as one computation".to_string(),
                    (true, b) => format!("batched as {b} computations at once"),
                    (false, p) => format!("{p} at a time"),
                };
                ui.label(format!(
                    "{} on {} · {} seeds, {execution} · {}",
                    info.algorithm,
                    info.env_id,
                    info.seeds.len(),
                    info.status.label()
                ));
                // The seeds' lines, folded unless one failed (the plot keeps its room).
                let failed = info.seed_runs.iter().any(|e| e.error.is_some());
                egui::CollapsingHeader::new(format!("{} seeds", info.seed_runs.len())).id_salt("group_seeds").default_open(failed).show(
                    ui,
                    |ui| {
                        for e in &info.seed_runs {
                            let score = e.final_score.map(|s| format!("final {s:.2}")).unwrap_or_else(|| "no final score".into());
                            let line = format!("seed {}: {} · {score}", e.seed, e.status.as_str());
                            match &e.error {
                                Some(err) => ui.colored_label(ui.visuals().error_fg_color, format!("{line} · {err}")),
                                None => ui.label(line),
                            };
                        }
                    },
                );
                let e = &info.config.experiment;
                if !e.tags.is_empty() {
                    ui.label(format!("tags: {}", e.tags.join(", ")));
                }
                if !e.notes.is_empty() {
                    ui.label(RichText::new(format!("purpose: {}", e.notes)).italics());
                }
                ui.label(format!("on disk: {}", crate::runs::notebook::format_bytes(disk)));
                notes.notes_ui(ui, dir, "seed group");
            },
        );
    }
}

impl RlApp {
    /// A sweep's trials, disk use and notes.
    fn sweep_details_ui(&mut self, ui: &mut Ui, dir: &std::path::Path) {
        let trials: Vec<&crate::app::runs_browser::RunRow> = self
            .browser
            .rows
            .iter()
            .filter(|r| r.path.parent() == Some(dir) || r.path.parent().and_then(|p| p.parent()) == Some(dir))
            .collect();
        let disk: u64 = trials.iter().map(|r| r.disk.total_bytes).sum();
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let notes = &mut self.notes_editor;
        egui::CollapsingHeader::new(format!("Details of sweep {name}")).id_salt("sweep_details").default_open(true).show(ui, |ui| {
            ui.label(format!("{} runs · on disk {} · results in sweep.csv", trials.len(), crate::runs::notebook::format_bytes(disk)));
            notes.notes_ui(ui, dir, "sweep");
        });
    }
}
