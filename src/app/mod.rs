//! The desktop app (eframe/egui). Persisted settings are kept apart from runtime
//! handles; each panel lives in its own module; trainings run on background
//! threads and talk to the UI through channels, waking it with `request_repaint`.
//! The GUI never calls burn: it only uses the runner, runs, replay and video APIs.

pub mod editor;
pub mod jobs;
pub mod plots;
pub mod replay;
pub mod runs_browser;
pub mod sweep_dialog;

use crate::config::Config;
use crate::runs::logger::read_metrics;
use crate::runs::RunDir;
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    Train,
    Runs,
    Replay,
}

/// What survives a restart.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub config: Config,
    pub runs_dir: PathBuf,
    pub tab: Tab,
    pub dark: bool,
    pub plot: plots::PlotSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self { config: Config::default(), runs_dir: PathBuf::from("runs"), tab: Tab::Train, dark: true, plot: plots::PlotSettings::default() }
    }
}

pub struct RlApp {
    pub settings: Settings,
    pub jobs: jobs::Jobs,
    pub browser: runs_browser::Browser,
    pub replay: replay::Replay,
    pub sweep: sweep_dialog::SweepDialog,
    buffers: editor::EditorBuffers,
    presets: Vec<editor::Preset>,
    /// Metrics of runs selected in the browser, reloaded when the selection changes.
    loaded: BTreeMap<PathBuf, BTreeMap<String, Vec<[f64; 2]>>>,
    status: String,
    usage: ProcessUsage,
}

/// The app's own CPU and memory use, sampled from /proc about once a second.
#[derive(Default)]
struct ProcessUsage {
    last: Option<(std::time::Instant, f64)>,
    cpu_percent: f64,
    rss_mib: f64,
}

impl ProcessUsage {
    fn sample(&mut self) {
        let now = std::time::Instant::now();
        if self.last.is_some_and(|(t, _)| now.duration_since(t).as_secs_f64() < 1.0) {
            return;
        }
        // utime + stime (fields 14, 15 after the command name), in clock ticks (100/s on Linux).
        let cpu_secs = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        });
        if let Some(cpu) = cpu_secs {
            if let Some((t, c)) = self.last {
                self.cpu_percent = 100.0 * (cpu - c) / now.duration_since(t).as_secs_f64().max(1e-3);
            }
            self.last = Some((now, cpu));
        }
        if let Some(pages) = std::fs::read_to_string("/proc/self/statm").ok().and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok()) {
            self.rss_mib = pages * 4096.0 / (1024.0 * 1024.0);
        }
    }
}

impl RlApp {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            jobs: jobs::Jobs::default(),
            browser: runs_browser::Browser::default(),
            replay: replay::Replay::default(),
            sweep: sweep_dialog::SweepDialog::default(),
            buffers: editor::EditorBuffers::default(),
            presets: editor::load_presets(),
            loaded: BTreeMap::new(),
            status: String::new(),
            usage: ProcessUsage::default(),
        }
    }

    /// Sets the editor's config file field (for tests and drag-and-drop).
    pub fn buffers_config_path(&mut self, path: String) {
        self.buffers.config_path = path;
    }

    /// The status bar's message.
    pub fn status_text(&self) -> &str {
        &self.status
    }

    fn load_selected_metrics(&mut self) {
        self.loaded.retain(|p, _| self.browser.selected.contains(p));
        for p in &self.browser.selected {
            if !self.loaded.contains_key(p) {
                let mut m: BTreeMap<String, Vec<[f64; 2]>> = BTreeMap::new();
                if let Ok(rows) = read_metrics(&RunDir::at(p).metrics_csv()) {
                    for r in rows {
                        m.entry(r.metric).or_default().push([r.timesteps as f64, r.value]);
                    }
                }
                self.loaded.insert(p.clone(), m);
            }
        }
    }

    /// The whole window; separate from `eframe::App` so tests can drive it.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.jobs.poll();
        ui.ctx().set_visuals(if self.settings.dark { egui::Visuals::dark() } else { egui::Visuals::light() });
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("RL Research");
                ui.separator();
                ui.selectable_value(&mut self.settings.tab, Tab::Train, "Train");
                ui.selectable_value(&mut self.settings.tab, Tab::Runs, "Runs");
                ui.selectable_value(&mut self.settings.tab, Tab::Replay, "Replay");
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.checkbox(&mut self.settings.dark, "dark");
                });
            });
        });
        self.usage.sample();
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                ui.label(format!(
                    "device: {} ({threads} CPU threads)  ·  {} training(s) running  ·  app CPU {:.0}%  ·  memory {:.0} MiB  ·  runs: {}",
                    self.settings.config.experiment.device,
                    self.jobs.running(),
                    self.usage.cpu_percent,
                    self.usage.rss_mib,
                    self.settings.runs_dir.display()
                ));
                if !self.status.is_empty() {
                    ui.separator();
                    ui.label(&self.status);
                }
            });
        });
        match self.settings.tab {
            Tab::Train => self.train_ui(ui),
            Tab::Runs => self.runs_ui(ui),
            Tab::Replay => {
                egui::CentralPanel::default().show(ui, |ui| self.replay.replay_ui(ui));
            }
        }
    }

    fn train_ui(&mut self, ui: &mut Ui) {
        egui::Panel::left("editor").default_size(380.0).resizable(true).show(ui, |ui| {
            let running = self.jobs.running();
            let out = editor::editor_ui(ui, &mut self.settings.config, &mut self.buffers, &self.presets, running);
            if out.run {
                let mut config = self.settings.config.clone();
                config.experiment.runs_dir = self.settings.runs_dir.clone();
                let ctx = ui.ctx().clone();
                self.jobs.start(config, Arc::new(move || ctx.request_repaint()));
                self.status = "training started".into();
            }
            if let Some(cmd) = out.copied_command {
                self.status = format!("copied: {cmd}");
            }
            if let Some(m) = out.message {
                self.status = m;
            }
            if ui.button("Run Sweep…").on_hover_text("Grid or random search over this config").clicked() {
                self.sweep.open = true;
            }
        });
        if self.sweep.open {
            let mut open = true;
            let (config, runs_dir) = (self.settings.config.clone(), self.settings.runs_dir.clone());
            let mut load = None;
            egui::Window::new("Run Sweep").open(&mut open).default_width(640.0).show(ui.ctx(), |ui| {
                load = self.sweep.sweep_ui(ui, &config, &runs_dir);
            });
            self.sweep.open = open;
            if let Some(params) = load {
                let o: Result<Vec<_>, _> = params.iter().map(|(k, v)| crate::config::overrides::parse_override(&format!("{k}={v}"))).collect();
                match o.and_then(|o| crate::config::apply_overrides(&self.settings.config, &o)) {
                    Ok(c) => {
                        self.settings.config = c;
                        self.buffers.reset();
                        self.status = "loaded the best trial's parameters".into();
                    }
                    Err(e) => self.status = e.0,
                }
            }
        }
        egui::CentralPanel::default().show(ui, |ui| {
            for job in &self.jobs.list {
                ui.horizontal(|ui| {
                    ui.strong(&job.name);
                    let frac = job.timesteps as f32 / job.total_timesteps.max(1) as f32;
                    let text = match (&job.status, &job.error) {
                        (_, Some(e)) => format!("failed: {e}"),
                        (Some(s), _) => format!("{s:?}").to_lowercase(),
                        _ => format!("{}/{} · {:.0} steps/s · ETA {}", job.timesteps, job.total_timesteps, job.steps_per_sec, crate::runner::format_duration(job.eta_secs())),
                    };
                    ui.add(egui::ProgressBar::new(frac).text(text).desired_width(420.0));
                    if job.running() && ui.button("Stop").on_hover_text("Stop gracefully: models and logs are kept").clicked() {
                        job.request_stop();
                    }
                });
                for n in &job.notes {
                    ui.label(RichText::new(n).weak());
                }
            }
            if self.jobs.list.is_empty() {
                ui.label("Edit the config on the left and press Run. Curves appear here live.");
            }
            let series: Vec<(String, &BTreeMap<String, Vec<[f64; 2]>>)> = self.jobs.list.iter().map(|j| (j.name.clone(), &j.metrics)).collect();
            plots::plots_ui(ui, &mut self.settings.plot, &series);
        });
    }

    fn runs_ui(&mut self, ui: &mut Ui) {
        self.browser.refresh(&self.settings.runs_dir.clone(), false);
        egui::Panel::left("browser").default_size(640.0).resizable(true).show(ui, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("runs directory");
                let mut text = self.settings.runs_dir.display().to_string();
                if ui.text_edit_singleline(&mut text).labelled_by(l.id).changed() {
                    self.settings.runs_dir = PathBuf::from(text);
                }
                if ui.button("Browse…").on_hover_text("Choose the runs directory (needs xdg-desktop-portal; otherwise type the path)").clicked() {
                    match rfd::FileDialog::new().set_directory(&self.settings.runs_dir).pick_folder() {
                        Some(p) => self.settings.runs_dir = p,
                        None => self.status = "no folder chosen (if no dialog appeared, type the path)".into(),
                    }
                }
                if ui.button("Refresh").clicked() {
                    self.browser.refresh(&self.settings.runs_dir.clone(), true);
                }
            });
            if let Some((action, path)) = self.browser.browser_ui(ui, &self.settings.runs_dir.clone()) {
                match action {
                    runs_browser::BrowserAction::LoadConfig => match Config::load(&RunDir::at(&path).config_yaml()) {
                        Ok(c) => {
                            self.settings.config = c;
                            self.buffers.reset();
                            self.settings.tab = Tab::Train;
                            self.status = format!("loaded the config of {}", path.display());
                        }
                        Err(e) => self.status = e.to_string(),
                    },
                    runs_browser::BrowserAction::Replay => {
                        self.replay.open(path);
                        self.settings.tab = Tab::Replay;
                    }
                }
            }
        });
        self.load_selected_metrics();
        egui::CentralPanel::default().show(ui, |ui| {
            if self.loaded.is_empty() {
                ui.label("Tick runs on the left to plot them (several overlay).");
            }
            let series: Vec<(String, &BTreeMap<String, Vec<[f64; 2]>>)> =
                self.loaded.iter().map(|(p, m)| (p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), m)).collect();
            plots::plots_ui(ui, &mut self.settings.plot, &series);
        });
    }
}

impl eframe::App for RlApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        RlApp::ui(self, ui);
        if self.jobs.running() > 0 {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

/// Opens the window (what `rl-research` with no arguments does).
pub fn run() -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1280.0, 800.0]).with_min_inner_size([800.0, 500.0]).with_title("RL Research"),
        ..Default::default()
    };
    eframe::run_native(
        "rl-research",
        options,
        Box::new(|cc| {
            let settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
            Ok(Box::new(RlApp::new(settings)))
        }),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
