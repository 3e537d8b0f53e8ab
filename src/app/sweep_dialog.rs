//! The Run Sweep dialog: parameters picked from the config, value lists (grid)
//! or ranges with a log toggle (random), the trial count shown before launch,
//! trials run through the sweep engine as CLI processes (as on a cluster), and
//! a sortable results table with the best trial highlighted.

use super::pending::Pending;
use crate::config::Config;
use crate::sweep::{self, SweepSettings, SweepSpec, TrialResult, TrialStatus, space};
use egui::{ComboBox, DragValue, RichText, Ui};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamRow {
    pub key: String,
    /// Grid values in the CLI grammar ("1e-3,3e-4" or "range(0,10,2)"); in random
    /// search, the choices for non-numeric keys.
    pub values: String,
    /// Random search over a numeric key: the interval, log-uniform or integer.
    pub low: f64,
    pub high: f64,
    pub log: bool,
    pub int: bool,
    /// Whether the key holds a plain number (so a range can be sampled).
    pub numeric: bool,
}

impl ParamRow {
    /// A row for `key`, pre-filled from its value in `config`.
    pub fn for_key(config: &Config, key: &str) -> Self {
        let tree = serde_json::to_value(config).unwrap_or_default();
        let v = key.split('.').try_fold(&tree, |t, k| t.get(k)).cloned().unwrap_or_default();
        let (numeric, x) = match v.as_f64() {
            Some(x) => (true, x),
            None => (false, 0.0),
        };
        let int = v.is_u64() || v.is_i64();
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string().replace(' ', ""),
        };
        let (low, high) = if x > 0.0 { (x / 4.0, x * 4.0) } else { (0.0, 1.0) };
        Self {
            key: key.to_string(),
            values: text,
            low: if int { low.floor().max(1.0) } else { low },
            high: if int { high.ceil() } else { high },
            log: x > 0.0 && !int,
            int,
            numeric,
        }
    }

    /// The row in the sweep grammar.
    pub fn spec(&self, random: bool) -> String {
        if random && self.numeric {
            let iv = format!("interval({},{})", self.low, self.high);
            if self.int {
                format!("{}=int({iv})", self.key)
            } else if self.log {
                format!("{}=tag(log,{iv})", self.key)
            } else {
                format!("{}={iv}", self.key)
            }
        } else if random {
            format!("{}=choice({})", self.key, self.values)
        } else {
            format!("{}={}", self.key, self.values)
        }
    }
}

/// Keys that make sense to sweep (not names or paths).
fn sweepable_keys(config: &Config) -> Vec<String> {
    crate::config::overrides::all_keys(config)
        .into_iter()
        .filter(|k| !matches!(k.as_str(), "experiment.name" | "experiment.runs_dir" | "algorithm.name" | "experiment.video_episodes"))
        .collect()
}

struct Running {
    /// The launcher: each trial's result as it ends.
    task: Pending<(), TrialResult>,
    stop: Arc<AtomicBool>,
    dir: PathBuf,
    total: usize,
    /// Trial ids per child process, in the order the workers take them (`sweep::batches::plan`).
    units: Vec<Vec<usize>>,
    workers: usize,
}

pub struct SweepDialog {
    pub open: bool,
    pub rows: Vec<ParamRow>,
    pub random: bool,
    pub trials: usize,
    pub workers: usize,
    pub seeds: usize,
    /// Local child processes or a Slurm job array, with its settings (kept while the app runs).
    pub launcher: sweep::slurm::Launcher,
    pub slurm: sweep::slurm::SlurmSettings,
    /// The job id and latest trial states of a Slurm sweep.
    slurm_status: Arc<std::sync::Mutex<Vec<String>>>,
    /// The binary trials run as (the app itself; tests point it at the built CLI).
    pub exe: PathBuf,
    running: Option<Running>,
    pub results: Vec<TrialResult>,
    /// Results table order: column and descending.
    pub sort: (usize, bool),
    pub message: Option<String>,
}

impl Default for SweepDialog {
    fn default() -> Self {
        let c = Config::default();
        Self {
            open: false,
            rows: vec![ParamRow { values: "lin_1e-3,lin_3e-4".into(), ..ParamRow::for_key(&c, "algorithm.params.learning_rate") }],
            random: false,
            trials: 8,
            workers: sweep::cores(),
            seeds: 1,
            launcher: sweep::slurm::Launcher::Local,
            slurm: sweep::slurm::SlurmSettings::default(),
            slurm_status: Arc::new(std::sync::Mutex::new(Vec::new())),
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("rl-research")),
            running: None,
            results: Vec::new(),
            sort: (1, true),
            message: None,
        }
    }
}

impl SweepDialog {
    /// The dialog with the launcher and Slurm fields of the last session.
    pub fn remembering(launcher: sweep::slurm::Launcher, slurm: sweep::slurm::SlurmSettings) -> Self {
        Self { launcher, slurm, ..Self::default() }
    }

    /// The trials the rows describe, or what is wrong with them.
    pub fn trials_for(&self) -> Result<Vec<Vec<(String, String)>>, String> {
        if self.rows.is_empty() {
            return Err("add at least one parameter".into());
        }
        let params: Vec<space::Param> =
            self.rows.iter().map(|r| space::parse_param(&r.spec(self.random)).map_err(|e| e.0)).collect::<Result<_, _>>()?;
        if self.random {
            Ok(space::random_trials(&params, self.trials, 0))
        } else {
            let n = space::grid_size(&params);
            if n > 10_000 {
                return Err(format!("the grid has {n} trials; more than 10000 is refused here"));
            }
            space::grid(&params).map_err(|e| e.0)
        }
    }

    /// Asks a running sweep to stop (its trials are stopped gracefully).
    pub fn request_stop(&self) {
        if let Some(r) = &self.running {
            r.stop.store(true, Ordering::SeqCst);
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Trials training right now (for the status bar).
    pub fn running_trials(&self) -> usize {
        self.running_units().iter().map(|u| u.len()).sum()
    }

    /// Trials training as batches right now (for the status bar's agents batched).
    pub fn batched_trials(&self) -> usize {
        self.running_units().iter().filter(|u| u.len() > 1).map(|u| u.len()).sum()
    }

    /// The child processes training now: the first `workers` units with a trial not yet reported.
    fn running_units(&self) -> Vec<&Vec<usize>> {
        let Some(r) = &self.running else { return Vec::new() };
        let done = |id: &usize| self.results.iter().any(|t| t.id == *id);
        r.units.iter().filter(|u| !u.iter().all(done)).take(r.workers).collect()
    }

    /// Writes the base config into a new sweep directory and starts the sweep.
    pub fn launch(&mut self, config: &Config, runs_dir: &std::path::Path, waker: Arc<dyn Fn() + Send + Sync>) -> Result<PathBuf, String> {
        let trials = self.trials_for()?;
        for t in &trials {
            let o: Vec<_> = t
                .iter()
                .map(|(k, v)| crate::config::overrides::parse_override(&format!("{k}={v}")))
                .collect::<Result<_, _>>()
                .map_err(|e| e.0)?;
            crate::config::apply_overrides(config, &o)
                .and_then(|c| c.validate())
                .map_err(|e| format!("trial {}: {e}", t.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")))?;
        }
        let name = format!("{}_sweep", config.experiment.name);
        let layout = crate::sweep::dir::SweepDir::for_name(runs_dir, &name, false);
        let sweep_dir = layout.root.clone();
        std::fs::create_dir_all(&sweep_dir).map_err(|e| format!("cannot create {}: {e}", sweep_dir.display()))?;
        let base = layout.base_config();
        crate::runs::write_atomic(&base, config.to_yaml().as_bytes()).map_err(|e| e.to_string())?;
        let spec = SweepSpec {
            kind: if self.random { "random".into() } else { "grid".into() },
            command_line: format!(
                "rl-research (GUI sweep) {}",
                self.rows.iter().map(|r| r.spec(self.random)).collect::<Vec<_>>().join(" ")
            ),
            base_args: [
                vec!["--config".into(), base.display().to_string(), format!("experiment.runs_dir={}", runs_dir.display())],
                layout.tag_override(config).into_iter().collect(),
            ]
            .concat(),
            trials,
            settings: SweepSettings {
                workers: self.workers.max(1),
                seeds: self.seeds.max(1),
                launcher: self.launcher,
                slurm: self.slurm.clone(),
                ..SweepSettings::default()
            },
            base_seed: config.experiment.seed,
        };
        let total = spec.trials.len();
        let units = sweep::batches::plan(&spec, &(0..total).collect::<Vec<_>>()).units;
        let batches = units.iter().filter(|u| u.len() > 1).count();
        let stop = Arc::new(AtomicBool::new(false));
        let (exe, dir, stop2) = (self.exe.clone(), sweep_dir.clone(), stop.clone());
        let status = self.slurm_status.clone();
        if let Ok(mut l) = status.lock() {
            l.clear();
        }
        let w = waker.clone();
        let mut task = Pending::spawn_reporting("sweep", waker, move |trials| {
            let mut on_trial = |r: &TrialResult| trials.send(r.clone());
            let mut on_event = |m: &str| {
                if let Ok(mut l) = status.lock() {
                    l.push(m.to_string());
                }
                w();
            };
            let l = sweep::launch::Launch { exe: &exe, spec: &spec, dir: &dir, resume: false, no_wait: false, stop: stop2 };
            if let Err(e) = sweep::launch::launch(l, &mut on_event, &mut on_trial) {
                on_event(&format!("error: {e}"));
            }
        });
        if task.lost() {
            return Err("cannot start the sweep thread".into());
        }
        self.results.clear();
        self.running = Some(Running { task, stop, dir: sweep_dir.clone(), total, units, workers: self.workers.max(1) });
        let batched = if batches > 0 { format!("; trials differing only in scalars train as {batches} batch(es)") } else { String::new() };
        self.message =
            Some(format!("sweep of {total} trials running in {}{batched} (trials show up in the Runs tab)", sweep_dir.display()));
        Ok(sweep_dir)
    }

    fn poll(&mut self) {
        if let Some(r) = &mut self.running {
            self.results.extend(r.task.updates());
            // Done when every trial reported, or the sweep thread has ended (e.g. after Stop sweep).
            if self.results.len() >= r.total || !r.task.busy() {
                // What it reported between the drain above and its end.
                self.results.extend(r.task.updates());
                self.message = Some(format!("sweep finished: {} of {} trials in {}", self.results.len(), r.total, r.dir.display()));
                self.running = None;
            }
        }
    }

    fn rows_ui(&mut self, ui: &mut Ui, config: &Config) {
        let keys = sweepable_keys(config);
        let random = self.random;
        let mut remove = None;
        egui::Grid::new("sweep_params").num_columns(3).striped(true).show(ui, |ui| {
            for (i, row) in self.rows.iter_mut().enumerate() {
                ComboBox::from_id_salt(("sweep_key", i)).selected_text(row.key.clone()).width(230.0).show_ui(ui, |ui| {
                    for k in &keys {
                        if ui.selectable_label(*k == row.key, k).clicked() && *k != row.key {
                            *row = ParamRow::for_key(config, k);
                        }
                    }
                });
                if random && row.numeric {
                    ui.horizontal(|ui| {
                        let (s_low, s_high) = (row.low.abs().max(1e-4) * 0.02, row.high.abs().max(1e-4) * 0.02);
                        ui.add(DragValue::new(&mut row.low).speed(s_low).prefix("low "));
                        ui.add(DragValue::new(&mut row.high).speed(s_high).prefix("high "));
                        ui.add_enabled(!row.int, egui::Checkbox::new(&mut row.log, "log"))
                            .on_hover_text("Sample log-uniformly (for learning rates and other scales)");
                    });
                } else {
                    let l = ui.label(if random { "choices" } else { "values" });
                    ui.add(egui::TextEdit::singleline(&mut row.values).desired_width(200.0).hint_text("a,b,c or range(0,10,2)"))
                        .on_hover_text("Comma-separated values as on the command line; range(start,stop,step) for a grid")
                        .labelled_by(l.id);
                }
                if ui.small_button("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
        if let Some(i) = remove {
            self.rows.remove(i);
        }
        ComboBox::from_id_salt("sweep_add").selected_text("Add parameter…").width(230.0).show_ui(ui, |ui| {
            for k in &keys {
                if !self.rows.iter().any(|r| &r.key == k) && ui.selectable_label(false, k).clicked() {
                    self.rows.push(ParamRow::for_key(config, k));
                }
            }
        });
    }

    /// Launcher: Local / Slurm, and the Slurm job settings.
    fn launcher_ui(&mut self, ui: &mut Ui) {
        use sweep::slurm::Launcher;
        ui.horizontal(|ui| {
            ui.label("launcher");
            ui.radio_value(&mut self.launcher, Launcher::Local, "Local").on_hover_text("Trials run on this machine");
            ui.radio_value(&mut self.launcher, Launcher::Slurm, "Slurm")
                .on_hover_text("Trials run as one Slurm job array (sbatch); the runs directory must be on storage the nodes share");
        });
        if self.launcher != Launcher::Slurm {
            return;
        }
        let s = &mut self.slurm;
        let text = |ui: &mut Ui, label: &str, v: &mut Option<String>, hint: &str| {
            let l = ui.label(label);
            let mut t = v.clone().unwrap_or_default();
            if ui.add(egui::TextEdit::singleline(&mut t).desired_width(110.0).hint_text(hint)).labelled_by(l.id).changed() {
                *v = Some(t).filter(|t| !t.trim().is_empty());
            }
        };
        ui.horizontal_wrapped(|ui| {
            text(ui, "partition", &mut s.partition, "default");
            text(ui, "time", &mut s.time, "e.g. 2:00:00");
            text(ui, "account", &mut s.account, "");
            text(ui, "qos", &mut s.qos, "");
        });
        ui.horizontal_wrapped(|ui| {
            let mut cpus = s.cpus_per_task.unwrap_or(self.seeds.max(1));
            if ui.add(DragValue::new(&mut cpus).range(1..=256).prefix("cpus per task ")).changed() {
                s.cpus_per_task = Some(cpus);
            }
            let mut mem = s.mem_gb.unwrap_or(0.0);
            if ui
                .add(
                    DragValue::new(&mut mem)
                        .range(0.0..=4096.0)
                        .speed(0.5)
                        .prefix("mem GB ")
                        .custom_formatter(|v, _| if v <= 0.0 { "default".into() } else { format!("{v}") }),
                )
                .changed()
            {
                s.mem_gb = (mem > 0.0).then_some(mem);
            }
            let mut gpus = s.gpus_per_task.unwrap_or(0);
            if ui.add(DragValue::new(&mut gpus).range(0..=16).prefix("gpus per task ")).changed() {
                s.gpus_per_task = (gpus > 0).then_some(gpus);
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("setup lines");
            let mut t = s.setup.join("; ");
            if ui
                .add(egui::TextEdit::singleline(&mut t).desired_width(260.0).hint_text("module load cuda; source env.sh"))
                .labelled_by(l.id)
                .on_hover_text("Shell lines run before each trial, separated by ;")
                .changed()
            {
                s.setup = t.split(';').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
            }
            let l = ui.label("rl-research on the nodes");
            let mut exe = s.exe.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            if ui.add(egui::TextEdit::singleline(&mut exe).desired_width(180.0).hint_text("this one")).labelled_by(l.id).changed() {
                s.exe = Some(PathBuf::from(exe.trim())).filter(|p| !p.as_os_str().is_empty());
            }
        });
    }

    /// The dialog; returns the best trial's overrides when "Load best into editor" is clicked.
    pub fn sweep_ui(&mut self, ui: &mut Ui, config: &Config, runs_dir: &std::path::Path) -> Option<Vec<(String, String)>> {
        self.poll();
        let mut load = None;
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.random, false, "grid").on_hover_text("Every combination of the listed values");
            ui.radio_value(&mut self.random, true, "random").on_hover_text("Sample each parameter from its range");
            if self.random {
                ui.add(DragValue::new(&mut self.trials).range(1..=1000).prefix("trials "));
            }
            ui.add(DragValue::new(&mut self.workers).range(1..=64).prefix("workers ")).on_hover_text("rl-research processes at once: each trains one trial, or a batch of trials that differ only in scalar hyperparameters (sweep.batch_trials=auto: on a GPU, and PPO on the CPU)");
            ui.add(DragValue::new(&mut self.seeds).range(1..=10).prefix("seeds per trial ")).on_hover_text("With more than one seed each trial is a seed group (trial_<n>/seed_<k>/); the objective is the IQM of their final evaluations from 3 seeds on, else their mean");
        });
        self.launcher_ui(ui);
        self.rows_ui(ui, config);
        let trials = self.trials_for();
        match &trials {
            Ok(t) => ui.label(
                RichText::new(format!(
                    "{} trials × {} seed(s) = {} runs of {} steps each",
                    t.len(),
                    self.seeds,
                    t.len() * self.seeds,
                    config.experiment.total_timesteps
                ))
                .strong(),
            ),
            Err(e) => ui.label(RichText::new(e).color(ui.visuals().error_fg_color)),
        };
        ui.horizontal(|ui| {
            let can = trials.is_ok() && !self.is_running();
            if ui.add_enabled(can, egui::Button::new("Launch sweep")).clicked() {
                if let Err(e) = self.launch(config, runs_dir, super::RlApp::waker(ui.ctx())) {
                    self.message = Some(format!("cannot launch: {e}"));
                }
            }
            if let Some(r) = &self.running {
                ui.add(
                    egui::ProgressBar::new(self.results.len() as f32 / r.total.max(1) as f32)
                        .text(format!("{}/{} trials", self.results.len(), r.total))
                        .desired_width(200.0),
                );
                if ui.button("Stop sweep").on_hover_text("Stop the running trials gracefully; no new ones start").clicked() {
                    r.stop.store(true, Ordering::SeqCst);
                }
            }
        });
        if let Some(m) = &self.message {
            ui.label(m);
        }
        // The submission (job id, script) and the latest few state changes.
        let slurm_lines: Vec<String> = self
            .slurm_status
            .lock()
            .map(|l| l.iter().take(1).chain(l.iter().skip(1).rev().take(3).rev()).cloned().collect())
            .unwrap_or_default();
        for line in slurm_lines {
            let color = if line.starts_with("error") { ui.visuals().error_fg_color } else { ui.visuals().weak_text_color() };
            ui.label(RichText::new(line).color(color).small());
        }
        if !self.results.is_empty() {
            load = self.results_ui(ui);
        }
        load
    }

    fn results_ui(&mut self, ui: &mut Ui) -> Option<Vec<(String, String)>> {
        let best_id = self
            .results
            .iter()
            .filter(|r| r.objective_mean.is_some())
            .max_by(|a, b| a.objective_mean.unwrap_or(f64::NEG_INFINITY).total_cmp(&b.objective_mean.unwrap_or(f64::NEG_INFINITY)))
            .map(|r| r.id);
        let mut sorted: Vec<&TrialResult> = self.results.iter().collect();
        let (col, desc) = self.sort;
        sorted.sort_by(|a, b| {
            let o = match col {
                0 => a.id.cmp(&b.id),
                1 => a.objective_mean.unwrap_or(f64::NEG_INFINITY).total_cmp(&b.objective_mean.unwrap_or(f64::NEG_INFINITY)),
                2 => format!("{:?}", a.status).cmp(&format!("{:?}", b.status)),
                _ => a.wall_secs.total_cmp(&b.wall_secs),
            };
            if desc { o.reverse() } else { o }
        });
        ui.separator();
        let mut new_sort = None;
        egui::Grid::new("sweep_results").striped(true).show(ui, |ui| {
            for (i, h) in ["trial", "objective", "status", "wall"].iter().enumerate() {
                let arrow = if col == i { if desc { " v" } else { " ^" } } else { "" };
                if ui.button(RichText::new(format!("{h}{arrow}")).strong()).on_hover_text("Sort by this column").clicked() {
                    new_sort = Some((i, if col == i { !desc } else { i == 1 }));
                }
            }
            let slurm = sorted.iter().any(|r| r.job_id.is_some());
            if slurm {
                ui.strong("Slurm job");
            }
            ui.strong("params");
            ui.end_row();
            for r in &sorted {
                let best = Some(r.id) == best_id;
                let color = ui.visuals().hyperlink_color;
                let text = |s: String| if best { RichText::new(s).strong().color(color) } else { RichText::new(s) };
                ui.label(text(if best { format!("{} (best)", r.id) } else { r.id.to_string() }));
                let obj = match (r.objective_mean, r.objective_std) {
                    (Some(m), Some(s)) if r.seeds.len() > 1 => format!("{m:.2} ± {s:.2}"),
                    (Some(m), _) => format!("{m:.2}"),
                    _ => "-".into(),
                };
                ui.label(text(obj));
                let status = ui.label(format!("{:?}", r.status).to_lowercase());
                if let Some(e) = &r.error {
                    status.on_hover_text(e);
                }
                ui.label(crate::runner::format_duration(r.wall_secs));
                if slurm {
                    ui.label(format!("{} {}", r.job_id.as_deref().unwrap_or("-"), r.slurm_state.as_deref().unwrap_or("")));
                }
                ui.label(r.params.iter().map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k))).collect::<Vec<_>>().join(" "));
                ui.end_row();
            }
        });
        if let Some(s) = new_sort {
            self.sort = s;
        }
        let best = self.results.iter().find(|r| Some(r.id) == best_id && r.status == TrialStatus::Completed);
        let clicked = ui
            .add_enabled(best.is_some(), egui::Button::new("Load best into editor"))
            .on_hover_text("Put the best trial's parameters into the editor")
            .clicked();
        clicked.then(|| best.map(|b| b.params.clone())).flatten()
    }
}
