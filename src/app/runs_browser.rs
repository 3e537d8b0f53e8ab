//! The runs browser: every run under the runs directory (sweep trials one level
//! deeper), rescanned every few seconds so CLI runs appear too.

use crate::runs::{RunDir, RunInfo};
use egui::{Grid, RichText, Ui};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RunRow {
    pub path: PathBuf,
    /// "sweep/trial_3" for sweep trials.
    pub label: String,
    pub info: Result<RunInfo, String>,
}

pub struct Browser {
    pub rows: Vec<RunRow>,
    pub filter: String,
    pub selected: Vec<PathBuf>,
    scanned: Option<(PathBuf, Instant)>,
}

impl Default for Browser {
    fn default() -> Self {
        Self { rows: Vec::new(), filter: String::new(), selected: Vec::new(), scanned: None }
    }
}

/// Lists run directories (those with `logs/run_info.json` or `configs/config.yaml`).
pub fn scan(root: &Path) -> Vec<RunRow> {
    let mut rows = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else { return rows };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for d in dirs {
        let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name == "trash" {
            continue;
        }
        if d.join("sweep.json").exists() {
            for row in scan(&d) {
                rows.push(RunRow { label: format!("{name}/{}", row.label), ..row });
            }
            continue;
        }
        let run = RunDir::at(&d);
        if run.run_info().exists() || run.config_yaml().exists() {
            let info = RunInfo::read(&run).map_err(|e| e.to_string());
            rows.push(RunRow { path: d, label: name, info });
        }
    }
    rows
}

impl Browser {
    /// Rescans when the directory changed or every 2 s.
    pub fn refresh(&mut self, root: &Path, force: bool) {
        let stale = match &self.scanned {
            Some((p, t)) => p != root || t.elapsed() > Duration::from_secs(2),
            None => true,
        };
        if force || stale {
            self.rows = scan(root);
            self.scanned = Some((root.to_path_buf(), Instant::now()));
        }
    }

    /// The table; returns a run to load into the editor or replay, if clicked.
    pub fn browser_ui(&mut self, ui: &mut Ui) -> Option<(BrowserAction, PathBuf)> {
        let mut action = None;
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.text_edit_singleline(&mut self.filter).labelled_by(l.id);
            ui.label(format!("{} runs", self.rows.len()));
        });
        egui::ScrollArea::vertical().id_salt("runs_scroll").show(ui, |ui| {
            Grid::new("runs_grid").striped(true).num_columns(8).show(ui, |ui| {
                for h in ["", "run", "env", "algo", "status", "timesteps", "best eval", ""] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                let filter = self.filter.to_lowercase();
                for row in self.rows.iter().filter(|r| filter.is_empty() || r.label.to_lowercase().contains(&filter)) {
                    let mut on = self.selected.contains(&row.path);
                    if ui.checkbox(&mut on, "plot").on_hover_text("Select to plot; several overlay").changed() {
                        if on {
                            self.selected.push(row.path.clone());
                        } else {
                            self.selected.retain(|p| p != &row.path);
                        }
                    }
                    ui.label(&row.label);
                    match &row.info {
                        Ok(i) => {
                            ui.label(&i.env_id);
                            ui.label(&i.algorithm);
                            ui.label(format!("{:?}", i.status).to_lowercase());
                            ui.label(format!("{}/{}", i.timesteps_done, i.total_timesteps));
                            ui.label(i.best_eval_mean_reward.map(|b| format!("{b:.1}")).unwrap_or_else(|| "-".into()));
                        }
                        Err(e) => {
                            ui.label("?");
                            ui.label("?");
                            ui.label(RichText::new("unreadable").color(ui.visuals().warn_fg_color)).on_hover_text(e);
                            ui.label("");
                            ui.label("");
                        }
                    }
                    ui.horizontal(|ui| {
                        if ui.small_button("Load into editor").clicked() {
                            action = Some((BrowserAction::LoadConfig, row.path.clone()));
                        }
                        if ui.small_button("Replay").clicked() {
                            action = Some((BrowserAction::Replay, row.path.clone()));
                        }
                    });
                    ui.end_row();
                }
            });
        });
        action
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserAction {
    LoadConfig,
    Replay,
}
