//! The Run Sweep dialog: swept keys as text (the CLI's grammar), grid or random,
//! launched through the sweep engine on a background thread.

use crate::config::Config;
use crate::sweep::{self, space, SweepSettings, SweepSpec, TrialResult, TrialStatus};
use egui::{RichText, Ui};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

pub struct SweepDialog {
    pub open: bool,
    /// One `key=spec` per line.
    pub lines: String,
    pub random: bool,
    pub trials: usize,
    pub workers: usize,
    pub seeds: usize,
    /// The binary trials run as (the app itself; tests point it at the built CLI).
    pub exe: PathBuf,
    running: Option<(Receiver<TrialResult>, Arc<AtomicBool>, PathBuf, usize)>,
    pub results: Vec<TrialResult>,
    pub message: Option<String>,
}

impl Default for SweepDialog {
    fn default() -> Self {
        Self {
            open: false,
            lines: "algorithm.params.learning_rate=lin_1e-3,lin_3e-4\nalgorithm.params.n_epochs=10,20".into(),
            random: false,
            trials: 8,
            workers: sweep::cores(),
            seeds: 1,
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("rl-research")),
            running: None,
            results: Vec::new(),
            message: None,
        }
    }
}

impl SweepDialog {
    /// The trials the current text describes, or what is wrong with it.
    pub fn trials_for(&self) -> Result<Vec<Vec<(String, String)>>, String> {
        let params: Vec<space::Param> =
            self.lines.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| space::parse_param(l).map_err(|e| e.0)).collect::<Result<_, _>>()?;
        if params.is_empty() {
            return Err("add at least one key=values line".into());
        }
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

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Writes the base config next to the sweep and starts it.
    pub fn launch(&mut self, config: &Config, runs_dir: &std::path::Path, waker: Arc<dyn Fn() + Send + Sync>) -> Result<PathBuf, String> {
        let trials = self.trials_for()?;
        for t in &trials {
            let o: Vec<_> = t.iter().map(|(k, v)| crate::config::overrides::parse_override(&format!("{k}={v}"))).collect::<Result<_, _>>().map_err(|e| e.0)?;
            crate::config::apply_overrides(config, &o).and_then(|c| c.validate()).map_err(|e| e.0)?;
        }
        let name = format!("{}_sweep", config.experiment.name);
        let sweep_dir = (0..).map(|i| runs_dir.join(if i == 0 { name.clone() } else { format!("{name}_{i}") })).find(|d| !d.exists()).unwrap_or_else(|| runs_dir.join(&name));
        std::fs::create_dir_all(&sweep_dir).map_err(|e| format!("cannot create {}: {e}", sweep_dir.display()))?;
        let base = sweep_dir.join("base_config.yaml");
        crate::runs::write_atomic(&base, config.to_yaml().as_bytes()).map_err(|e| e.to_string())?;
        let spec = SweepSpec {
            kind: if self.random { "random".into() } else { "grid".into() },
            command_line: "rl-research (GUI sweep)".into(),
            base_args: vec!["--config".into(), base.display().to_string(), format!("experiment.runs_dir={}", runs_dir.display())],
            trials,
            settings: SweepSettings { workers: self.workers.max(1), seeds: self.seeds.max(1), ..SweepSettings::default() },
            base_seed: config.experiment.seed,
        };
        let total = spec.trials.len();
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let (exe, dir, stop2) = (self.exe.clone(), sweep_dir.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut on_trial = |r: &TrialResult| {
                let _ = tx.send(r.clone());
                waker();
            };
            let _ = sweep::run_sweep(&exe, &spec, &dir, false, stop2, &mut on_trial);
            waker();
        });
        self.results.clear();
        self.running = Some((rx, stop, sweep_dir.clone(), total));
        self.message = Some(format!("sweep of {total} trials running in {}", sweep_dir.display()));
        Ok(sweep_dir)
    }

    fn poll(&mut self) {
        if let Some((rx, _, dir, total)) = &self.running {
            while let Ok(r) = rx.try_recv() {
                self.results.push(r);
            }
            if self.results.len() >= *total {
                self.message = Some(format!("sweep finished: {} trials in {}", total, dir.display()));
                self.running = None;
            }
        }
    }

    /// The dialog; returns the best trial's overrides when "Load best into editor" is clicked.
    pub fn sweep_ui(&mut self, ui: &mut Ui, config: &Config, runs_dir: &std::path::Path) -> Option<Vec<(String, String)>> {
        self.poll();
        let mut load = None;
        ui.label("One key per line, as on the command line: key=a,b,c or key=range(0,10,2); random search also takes interval(lo,hi), tag(log,interval(lo,hi)), int(interval(lo,hi)), choice(a,b).");
        let l = ui.label("Swept keys");
        ui.add(egui::TextEdit::multiline(&mut self.lines).desired_rows(4).desired_width(f32::INFINITY)).labelled_by(l.id);
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.random, false, "grid");
            ui.radio_value(&mut self.random, true, "random");
            if self.random {
                ui.add(egui::DragValue::new(&mut self.trials).range(1..=1000).prefix("trials "));
            }
            ui.add(egui::DragValue::new(&mut self.workers).range(1..=64).prefix("workers "));
            ui.add(egui::DragValue::new(&mut self.seeds).range(1..=10).prefix("seeds per trial "));
        });
        let trials = self.trials_for();
        match &trials {
            Ok(t) => ui.label(format!("{} trials × {} seed(s)", t.len(), self.seeds)),
            Err(e) => ui.label(RichText::new(e).color(ui.visuals().error_fg_color)),
        };
        ui.horizontal(|ui| {
            let can = trials.is_ok() && !self.is_running();
            if ui.add_enabled(can, egui::Button::new("Launch sweep")).clicked() {
                let waker: Arc<dyn Fn() + Send + Sync> = {
                    let ctx = ui.ctx().clone();
                    Arc::new(move || ctx.request_repaint())
                };
                if let Err(e) = self.launch(config, runs_dir, waker) {
                    self.message = Some(format!("cannot launch: {e}"));
                }
            }
            if let Some((_, stop, _, _)) = &self.running {
                if ui.button("Stop sweep").clicked() {
                    stop.store(true, Ordering::SeqCst);
                }
            }
        });
        if let Some(m) = &self.message {
            ui.label(m);
        }
        let mut sorted: Vec<&TrialResult> = self.results.iter().collect();
        sorted.sort_by(|a, b| b.objective_mean.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.objective_mean.unwrap_or(f64::NEG_INFINITY)));
        egui::Grid::new("sweep_results").striped(true).show(ui, |ui| {
            for h in ["trial", "objective", "status", "params"] {
                ui.strong(h);
            }
            ui.end_row();
            for (rank, r) in sorted.iter().enumerate() {
                let obj = r.objective_mean.map(|m| format!("{m:.2}")).unwrap_or_else(|| "-".into());
                let text = |s: String| if rank == 0 && r.status == TrialStatus::Completed { RichText::new(s).strong() } else { RichText::new(s) };
                ui.label(text(r.id.to_string()));
                ui.label(text(obj));
                ui.label(format!("{:?}", r.status).to_lowercase());
                ui.label(r.params.iter().map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k))).collect::<Vec<_>>().join(" "));
                ui.end_row();
            }
        });
        if let Some(best) = sorted.first().filter(|r| r.objective_mean.is_some()) {
            if ui.button("Load best into editor").clicked() {
                load = Some(best.params.clone());
            }
        }
        load
    }
}
