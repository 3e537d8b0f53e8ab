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

/// Columns the table can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Env,
    Algo,
    Status,
    Timesteps,
    Best,
    Started,
}

pub struct Browser {
    pub rows: Vec<RunRow>,
    pub filter: String,
    pub selected: Vec<PathBuf>,
    pub sort: (SortKey, bool),
    /// A run waiting for the user to confirm moving it to the trash.
    pub confirm_delete: Option<PathBuf>,
    pub message: Option<String>,
    scanned: Option<(PathBuf, Instant)>,
}

impl Default for Browser {
    fn default() -> Self {
        Self { rows: Vec::new(), filter: String::new(), selected: Vec::new(), sort: (SortKey::Started, true), confirm_delete: None, message: None, scanned: None }
    }
}

/// Moves a run into `<runs root>/trash/` (undo: move it back); never deletes data.
pub fn move_to_trash(runs_root: &Path, run: &Path) -> Result<PathBuf, String> {
    let trash = runs_root.join("trash");
    std::fs::create_dir_all(&trash).map_err(|e| format!("cannot create {}: {e}", trash.display()))?;
    let name = run.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    let dest = (0..).map(|i| trash.join(if i == 0 { name.clone() } else { format!("{name}_{i}") })).find(|d| !d.exists()).unwrap_or_else(|| trash.join(&name));
    std::fs::rename(run, &dest).map_err(|e| format!("cannot move {} to the trash: {e}", run.display()))?;
    Ok(dest)
}

fn sort_rows(rows: &mut [RunRow], (key, descending): (SortKey, bool)) {
    rows.sort_by(|a, b| {
        let (ia, ib) = (a.info.as_ref().ok(), b.info.as_ref().ok());
        let o = match key {
            SortKey::Name => a.label.cmp(&b.label),
            SortKey::Env => ia.map(|i| &i.env_id).cmp(&ib.map(|i| &i.env_id)),
            SortKey::Algo => ia.map(|i| &i.algorithm).cmp(&ib.map(|i| &i.algorithm)),
            SortKey::Status => ia.map(|i| format!("{:?}", i.status)).cmp(&ib.map(|i| format!("{:?}", i.status))),
            SortKey::Timesteps => ia.map(|i| i.timesteps_done).cmp(&ib.map(|i| i.timesteps_done)),
            SortKey::Best => {
                let f = |i: Option<&RunInfo>| i.and_then(|i| i.best_eval_mean_reward).unwrap_or(f64::NEG_INFINITY);
                f(ia).total_cmp(&f(ib))
            }
            SortKey::Started => ia.map(|i| i.started_at_unix_secs).cmp(&ib.map(|i| i.started_at_unix_secs)),
        };
        if descending { o.reverse() } else { o }
    });
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
            sort_rows(&mut self.rows, self.sort);
            self.scanned = Some((root.to_path_buf(), Instant::now()));
        }
    }

    /// The table; returns a run to load into the editor or replay, if clicked.
    pub fn browser_ui(&mut self, ui: &mut Ui, runs_root: &Path) -> Option<(BrowserAction, PathBuf)> {
        let mut action = None;
        if let Some(path) = self.confirm_delete.clone() {
            ui.horizontal(|ui| {
                ui.label(format!("Move {} to {}/trash?", path.display(), runs_root.display()));
                if ui.button("Move to trash").clicked() {
                    self.message = Some(match move_to_trash(runs_root, &path) {
                        Ok(dest) => format!("moved to {} (move it back to undo)", dest.display()),
                        Err(e) => e,
                    });
                    self.selected.retain(|p| p != &path);
                    self.confirm_delete = None;
                    self.refresh(runs_root, true);
                }
                if ui.button("Cancel").clicked() {
                    self.confirm_delete = None;
                }
            });
        }
        if let Some(m) = &self.message {
            ui.label(m);
        }
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.text_edit_singleline(&mut self.filter).labelled_by(l.id);
            ui.label(format!("{} runs", self.rows.len()));
        });
        egui::ScrollArea::vertical().id_salt("runs_scroll").show(ui, |ui| {
            Grid::new("runs_grid").striped(true).num_columns(8).show(ui, |ui| {
                ui.label("");
                ui.label("");
                for (h, key) in [("run", SortKey::Name), ("env", SortKey::Env), ("algo", SortKey::Algo), ("status", SortKey::Status), ("timesteps", SortKey::Timesteps), ("best eval", SortKey::Best)] {
                    let arrow = if self.sort.0 == key { if self.sort.1 { " v" } else { " ^" } } else { "" };
                    if ui.button(RichText::new(format!("{h}{arrow}")).strong()).on_hover_text("Sort by this column (again: reverse)").clicked() {
                        self.sort = (key, if self.sort.0 == key { !self.sort.1 } else { key == SortKey::Best || key == SortKey::Timesteps });
                        sort_rows(&mut self.rows, self.sort);
                    }
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
                    ui.horizontal(|ui| {
                        if ui.small_button("Load into editor").clicked() {
                            action = Some((BrowserAction::LoadConfig, row.path.clone()));
                        }
                        if ui.small_button("Replay").clicked() {
                            action = Some((BrowserAction::Replay, row.path.clone()));
                        }
                        if ui.small_button("Delete…").on_hover_text("Move to the trash folder inside the runs directory").clicked() {
                            self.confirm_delete = Some(row.path.clone());
                        }
                    });
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
