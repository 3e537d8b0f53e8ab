//! The desktop app (eframe/egui). Persisted settings are kept apart from runtime
//! handles; each panel lives in its own module; trainings run on background
//! threads and talk to the UI through channels, waking it with `request_repaint`.
//! The GUI never calls burn: it only uses the runner, runs, replay and video APIs.

pub mod editor;
pub mod editor_gym;
mod editor_notes;
pub mod group_view;
pub mod jobs;
pub mod launch;
pub mod live_view;
pub mod metrics_follow;
pub mod pace;
pub mod pending;
pub mod plots;
pub mod replay;
mod run_notes;
pub mod runs_browser;
mod runs_filter;
mod runs_panel;
pub mod runs_scan;
pub mod runs_scanner;
mod runs_toolbar;
pub mod sweep_dialog;
mod train_panel;
pub mod usage;

use crate::config::Config;
use crate::runs::{RunDir, RunInfo};
use egui::Ui;
use pending::Pending;
use serde::{Deserialize, Serialize};
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
    /// Run Sweep's launcher and Slurm fields, remembered across restarts.
    pub sweep_launcher: crate::sweep::slurm::Launcher,
    pub sweep_slurm: crate::sweep::slurm::SlurmSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            config: Config::default(),
            runs_dir: launch::default_runs_dir(),
            tab: Tab::Train,
            dark: true,
            plot: plots::PlotSettings::default(),
            sweep_launcher: Default::default(),
            sweep_slurm: Default::default(),
        }
    }
}

pub struct RlApp {
    pub settings: Settings,
    pub jobs: jobs::Jobs,
    pub browser: runs_browser::Browser,
    pub replay: replay::Replay,
    pub sweep: sweep_dialog::SweepDialog,
    pub live: live_view::LiveView,
    buffers: editor::EditorBuffers,
    presets: Vec<editor::Preset>,
    /// Metrics of the runs selected in the browser, followed live.
    follower: metrics_follow::MetricsFollower,
    pub group_view: group_view::GroupView,
    /// The focused run's info and config.yaml, read when the focus changes.
    details: Option<(PathBuf, Result<RunInfo, String>, String)>,
    /// The focused run's, seed group's or sweep's findings (notes.md), being edited.
    notes_editor: run_notes::NotesEditor,
    status: String,
    usage: usage::Meter,
    gpu: GpuProbe,
    /// Set by the runs browser's Fork…: the editor's Run then forks this run.
    pub fork: Option<ForkTarget>,
    /// `gui --start`: the training to start once the window is shown (its first frames,
    /// the renderer's shader compilation included, then cost the training nothing).
    start_when_shown: Option<Config>,
}

/// A fork being prepared in the editor: the parent run and the checkpoint chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct ForkTarget {
    pub parent: PathBuf,
    pub steps: Vec<u64>,
    pub step: u64,
}

/// The GPU adapter, probed once on a background thread (opening it takes a while).
pub enum GpuProbe {
    NotStarted,
    Probing(Pending<Result<String, String>>),
    Done(Result<String, String>),
}

impl GpuProbe {
    /// "NVIDIA H100 80GB HBM3", "none: <why>", or "detecting…".
    pub fn describe(&self) -> String {
        match self {
            GpuProbe::NotStarted => "not checked".into(),
            GpuProbe::Probing(_) => "detecting…".into(),
            GpuProbe::Done(Ok(name)) => name.clone(),
            GpuProbe::Done(Err(e)) => format!("none ({})", e.lines().next().unwrap_or("no adapter")),
        }
    }
}

impl RlApp {
    pub fn new(settings: Settings) -> Self {
        Self {
            sweep: sweep_dialog::SweepDialog::remembering(settings.sweep_launcher, settings.sweep_slurm.clone()),
            settings,
            jobs: jobs::Jobs::default(),
            browser: runs_browser::Browser::default(),
            replay: replay::Replay::default(),
            live: live_view::LiveView::default(),
            buffers: editor::EditorBuffers::default(),
            presets: editor::load_presets(),
            follower: metrics_follow::MetricsFollower::default(),
            group_view: group_view::GroupView::default(),
            details: None,
            notes_editor: run_notes::NotesEditor::default(),
            status: String::new(),
            usage: usage::Meter::idle(),
            gpu: GpuProbe::NotStarted,
            fork: None,
            start_when_shown: None,
        }
    }

    /// Starts the status bar's CPU meter (the window does; tests need not).
    pub fn start_cpu_meter(&mut self, waker: Arc<dyn Fn() + Send + Sync>) {
        self.usage = usage::Meter::start(waker);
    }

    /// Looks for a GPU adapter in the background (the window does; tests need not).
    pub fn start_gpu_probe(&mut self, waker: Arc<dyn Fn() + Send + Sync>) {
        self.gpu = GpuProbe::Probing(Pending::spawn("gpu-probe", waker, crate::runner::detect_gpu));
    }

    fn poll_gpu(&mut self) {
        if let GpuProbe::Probing(p) = &mut self.gpu {
            if let Some(r) = p.take() {
                self.gpu = GpuProbe::Done(r);
            } else if p.lost() {
                self.gpu = GpuProbe::Done(Err("the probe could not run (its thread failed)".into()));
            }
        }
    }

    /// The shortest time between frames that background work (training events, the live
    /// evaluation view, progress) asks for: see [`pace`].
    pub fn frame_pace() -> std::time::Duration {
        pace::current()
    }

    /// Wakes the window for a training's events no more often than the frame pace (a
    /// training reports many events a second; the pace is read at each wake, as it adapts).
    pub(crate) fn paced_waker(&self, ctx: &egui::Context) -> Arc<dyn Fn() + Send + Sync> {
        let ctx = ctx.clone();
        Arc::new(move || ctx.request_repaint_after(pace::current()))
    }

    /// Wakes the window for background work (scans, the meter, loaded files). Inside the
    /// window these wakes share one frame per pace (egui keeps the earliest pending
    /// repaint), so independent timers do not add up to more frames.
    pub(crate) fn waker(ctx: &egui::Context) -> Arc<dyn Fn() + Send + Sync> {
        let ctx = ctx.clone();
        Arc::new(move || if pace::windowed() { ctx.request_repaint_after(pace::current()) } else { ctx.request_repaint() })
    }

    /// Sets the editor's config file field (for tests and drag-and-drop).
    pub fn buffers_config_path(&mut self, path: String) {
        self.buffers.config_path = path;
    }

    /// Points of all curves loaded for the runs browser (benchmarks wait on it).
    pub fn plotted_points(&self) -> usize {
        self.follower.data.values().flat_map(|m| m.values()).map(Vec::len).sum()
    }

    /// The points ([timesteps, wall secs, value]) of `metric` plotted for a run
    /// selected in the runs browser (tests look at what is drawn).
    pub fn plotted_series(&self, run: &std::path::Path, metric: &str) -> Option<&Vec<[f64; 3]>> {
        self.follower.data.get(run)?.get(metric)
    }

    /// The status bar's message.
    pub fn status_text(&self) -> &str {
        &self.status
    }

    /// The whole window; separate from `eframe::App` so tests can drive it.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.jobs.poll();
        self.poll_gpu();
        let waker = Self::waker(ui.ctx());
        self.browser.refresh(&self.settings.runs_dir.clone(), waker);
        ui.ctx().set_visuals(if self.settings.dark { egui::Visuals::dark() } else { egui::Visuals::light() });
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("RL Research");
                ui.separator();
                let running = self.jobs.running();
                let train = if running > 0 { format!("Train ({running} running)") } else { "Train".to_string() };
                ui.selectable_value(&mut self.settings.tab, Tab::Train, train).on_hover_text("Config editor, live plots (Train)");
                ui.selectable_value(&mut self.settings.tab, Tab::Runs, "Runs");
                ui.selectable_value(&mut self.settings.tab, Tab::Replay, "Replay");
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.checkbox(&mut self.settings.dark, "dark theme");
                });
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar_ui(ui));
        match self.settings.tab {
            Tab::Train => self.train_ui(ui),
            Tab::Runs => self.runs_ui(ui),
            Tab::Replay => {
                let runs: Vec<PathBuf> =
                    self.browser.rows.iter().filter(|r| RunDir::at(&r.path).eval_episodes().exists()).map(|r| r.path.clone()).collect();
                egui::CentralPanel::default().show(ui, |ui| self.replay.replay_ui(ui, &runs));
            }
        }
    }

    fn status_bar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let mut devices: Vec<String> = self.jobs.list.iter().filter(|j| j.running()).filter_map(|j| j.device.clone()).collect();
            devices.sort();
            devices.dedup();
            let device = if devices.is_empty() {
                match self.settings.config.experiment.device {
                    crate::config::DeviceChoice::Cpu => format!("cpu ({threads} threads)"),
                    d => format!("{d} (GPU: {})", self.gpu.describe()),
                }
            } else {
                devices.join(", ").replace("cpu (burn flex)", &format!("cpu ({threads} threads, burn flex)"))
            };
            ui.label(format!("device: {device}")).on_hover_text(format!("GPU adapter: {}", self.gpu.describe()));
            ui.separator();
            ui.label(format!("{} training(s) running", self.jobs.running() + self.sweep.running_trials()));
            // A batched seed group or batch of sweep trials is one computation of many agents: say how many.
            let batched: usize = self
                .jobs
                .list
                .iter()
                .filter(|j| j.running())
                .filter_map(|j| j.group.as_ref())
                .filter(|g| g.batched)
                .map(|g| g.seeds.len())
                .sum::<usize>()
                + self.sweep.batched_trials();
            if batched > 0 {
                ui.separator();
                ui.label(format!("{batched} agents batched")).on_hover_text(
                    "seeds of a seed group (experiment.batch_seeds) or sweep trials (sweep.batch_trials) trained as batched computations",
                );
            }
            ui.separator();
            let usage = self.usage.latest();
            ui.label(usage.text()).on_hover_text(usage.tooltip());
            if !self.status.is_empty() {
                ui.separator();
                ui.add(egui::Label::new(&self.status).truncate()).on_hover_text(&self.status);
            }
        });
    }
}

impl eframe::App for RlApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        RlApp::ui(self, ui);
        pace::frame_drawn();
        if let Some(config) = self.start_when_shown.take_if(|_| pace::frames() > 2) {
            self.jobs.start(config, self.paced_waker(ui.ctx()));
        } else if self.start_when_shown.is_some() {
            ui.ctx().request_repaint();
        }
        if self.jobs.running() > 0 {
            ui.ctx().request_repaint_after(Self::frame_pace().max(std::time::Duration::from_millis(250)));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.sweep_launcher = self.sweep.launcher;
        self.settings.sweep_slurm = self.sweep.slurm.clone();
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    /// Closing the window stops trainings gracefully (status "stopped", final
    /// model written) instead of killing them mid-write.
    fn on_exit(&mut self) {
        self.sweep.request_stop();
        self.jobs.stop_all_and_wait(std::time::Duration::from_secs(20));
    }
}

/// What `rl-research gui` may set at start (the screenshot script uses it too).
#[derive(Clone, Debug, Default)]
pub struct GuiOptions {
    pub tab: Option<Tab>,
    pub runs_dir: Option<PathBuf>,
    /// Open this run in the replay panel.
    pub replay: Option<PathBuf>,
    pub config: Option<Config>,
    /// Start training the config at once.
    pub start: bool,
    /// Runs to select (plot) in the runs browser; the first is focused.
    pub select: Vec<PathBuf>,
    /// Open the Runs tab's Compare view (of the selected runs and groups).
    pub compare: bool,
}

/// Opens the window (what `rl-research` with no arguments does).
pub fn run(opts: GuiOptions) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: {
            let v = egui::ViewportBuilder::default()
                .with_inner_size([1280.0, 800.0])
                .with_min_inner_size([800.0, 500.0])
                .with_title("RL Research")
                .with_app_id("rl-research");
            match eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon/rl-research-256.png")) {
                Ok(icon) => v.with_icon(Arc::new(icon)),
                Err(e) => {
                    log::warn!("window icon not loaded: {e}");
                    v
                }
            }
        },
        ..Default::default()
    };
    eframe::run_native(
        "rl-research",
        options,
        Box::new(move |cc| {
            launch::register_window(&cc.egui_ctx);
            let mut settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
            if let Some(t) = opts.tab {
                settings.tab = t;
            }
            if let Some(d) = opts.runs_dir {
                settings.runs_dir = d;
            }
            if let Some(c) = opts.config {
                settings.config = c;
            }
            let mut app = RlApp::new(settings);
            if !opts.select.is_empty() {
                app.browser.focused = opts.select.first().cloned();
                app.browser.selected = opts.select.clone();
            }
            if opts.compare {
                app.group_view.mode = group_view::ViewMode::Compare;
                app.settings.tab = Tab::Runs;
            }
            if let Some(run) = opts.replay {
                app.replay.open(run);
                app.settings.tab = Tab::Replay;
            }
            log::info!("runs directory {}", app.settings.runs_dir.display());
            app.start_gpu_probe(RlApp::waker(&cc.egui_ctx));
            app.start_cpu_meter(RlApp::waker(&cc.egui_ctx));
            let software = cc.wgpu_render_state.as_ref().is_some_and(|s| s.adapter.get_info().device_type == eframe::wgpu::DeviceType::Cpu);
            let pace = pace::start(software);
            log::info!(
                "background frames paced at {} ms to start with{}",
                pace.as_millis(),
                if software { " (software renderer)" } else { "" }
            );
            if opts.start {
                let mut config = app.settings.config.clone();
                config.experiment.runs_dir = app.settings.runs_dir.clone();
                app.start_when_shown = Some(config);
                app.settings.tab = Tab::Train;
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
