//! The config editor: a form generated from the typed config, validated with
//! the same rules as the CLI.

use crate::config::algorithms::Field;
use crate::config::{Activation, AlgorithmConfig, Config, DeviceChoice, Schedule};
use crate::envs::params::{ParamKind, ParamValue};
use egui::{ComboBox, DragValue, Grid, RichText, Ui};

/// What the user asked for this frame.
#[derive(Default)]
pub struct EditorOutput {
    pub run: bool,
    /// "Run Sweep…" was clicked.
    pub sweep: bool,
    pub copied_command: Option<String>,
    /// A file was opened or saved (or failed to be): say so in the status bar.
    pub message: Option<String>,
}

/// Saves a config as RON or YAML, chosen by the file's extension.
pub fn save_config(config: &Config, path: &std::path::Path) -> Result<(), String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let text = match ext.as_str() {
        "ron" => config.to_ron(),
        "yaml" | "yml" => config.to_yaml(),
        _ => return Err(format!("{}: use a .ron, .yaml or .yml file name", path.display())),
    };
    crate::runs::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

/// A preset from `configs/`.
pub struct Preset {
    pub name: String,
    pub config: Config,
}

/// Built-in presets, replaced or extended by `./configs/*.ron` when present.
pub fn load_presets() -> Vec<Preset> {
    let mut out: Vec<Preset> = crate::config::BUILTIN_PRESETS
        .iter()
        .filter_map(|(name, _)| Some(Preset { name: name.to_string(), config: crate::config::builtin_preset(name).ok()? }))
        .collect();
    if let Ok(dir) = std::fs::read_dir("configs") {
        let mut paths: Vec<_> =
            dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "ron")).collect();
        paths.sort();
        for p in paths {
            if let Ok(config) = Config::load(&p) {
                let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                out.retain(|q| q.name != name);
                out.push(Preset { name, config });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Draws labelled fields, marking the one the validation error names and
/// taking every tooltip from the key's doc comment.
pub(super) struct Form<'a> {
    algo: &'a str,
    /// The key of the current validation error, if any.
    bad: Option<&'a str>,
    error: Option<&'a str>,
}

impl Form<'_> {
    pub(super) fn label(&self, ui: &mut Ui, key: &str) -> egui::Response {
        let name = key.rsplit('.').next().unwrap_or(key);
        let doc = crate::config::docs::key_doc(self.algo, key).unwrap_or_default();
        let tip = format!("{key}\n{doc}");
        if self.bad == Some(key) {
            let r = ui.label(RichText::new(format!("{name} (!)")).color(ui.visuals().error_fg_color).strong());
            r.on_hover_text(format!("{tip}\n\n{}", self.error.unwrap_or("")))
        } else {
            ui.label(name).on_hover_text(tip)
        }
    }

    pub(super) fn tip(&self, key: &str) -> String {
        crate::config::docs::key_doc(self.algo, key).unwrap_or_default().into_owned()
    }

    fn num<T: egui::emath::Numeric>(
        &self,
        ui: &mut Ui,
        key: &str,
        v: &mut T,
        range: std::ops::RangeInclusive<T>,
        speed: f64,
        suffix: &str,
    ) {
        let l = self.label(ui, key);
        ui.add(DragValue::new(v).range(range).speed(speed).suffix(suffix)).on_hover_text(self.tip(key)).labelled_by(l.id);
        ui.end_row();
    }

    /// A value edited as text (`text` keeps what is typed, even when invalid):
    /// `value` changes only when the text parses; otherwise the reason shows below.
    fn parsed<T>(
        &self,
        ui: &mut Ui,
        key: &str,
        value: &mut T,
        text: &mut String,
        format: impl Fn(&T) -> String,
        parse: impl Fn(&str) -> Result<T, String>,
        help: &str,
    ) {
        let l = self.label(ui, key);
        if text.is_empty() {
            *text = format(value);
        }
        let r = ui
            .add(egui::TextEdit::singleline(text).desired_width(120.0))
            .on_hover_text(format!("{}\n{help}", self.tip(key)))
            .labelled_by(l.id);
        match parse(text) {
            Ok(v) => {
                if r.changed() {
                    *value = v;
                }
            }
            Err(e) => {
                ui.end_row();
                ui.label("");
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        }
        ui.end_row();
    }

    fn schedule(&self, ui: &mut Ui, key: &str, s: &mut Schedule, text: &mut String) {
        self.parsed(ui, key, s, text, |s| s.to_string(), Schedule::parse, "A number (constant) or lin_<number> (linear decay to 0).");
    }

    /// A real number: dragged at a pace that follows its size, shown in full (1e-5 stays 0.00001).
    fn real(&self, ui: &mut Ui, key: &str, v: &mut f64, range: std::ops::RangeInclusive<f64>) {
        let l = self.label(ui, key);
        let speed = if v.abs() > 0.0 { v.abs() / 100.0 } else { 0.001 };
        let drag = DragValue::new(v).range(range).speed(speed).custom_formatter(|x, _| format!("{x}"));
        ui.add(drag).on_hover_text(self.tip(key)).labelled_by(l.id);
        ui.end_row();
    }

    fn arch(&self, ui: &mut Ui, key: &str, arch: &mut Vec<usize>, text: &mut String) {
        let format = |a: &Vec<usize>| a.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(",");
        let parse = |t: &str| {
            t.split(',')
                .map(|w| w.trim().parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "widths must be whole numbers separated by commas".to_string())
        };
        self.parsed(ui, key, arch, text, format, parse, "Comma-separated widths, e.g. 64,64.");
    }
}

/// The env's own parameters, from its registry entry: a checkbox per flag, a
/// drag value per number (its range the one validation checks).
fn env_params_ui(ui: &mut Ui, f: &Form<'_>, env: &mut crate::config::EnvConfig) {
    let Some(found) = crate::envs::registry::find(&env.id) else { return };
    for p in &found.spec.params {
        let shown = |k: &str| match env.params.get(k) {
            Some(v) => matches!(v, ParamValue::Bool(true)),
            None => found.spec.param(k).is_some_and(|d| d.default_value() == ParamValue::Bool(true)),
        };
        if p.only_with.as_deref().is_some_and(|k| !shown(k)) {
            continue;
        }
        let key = format!("env.params.{}", p.key);
        let current = env.params.get(&p.key).cloned().unwrap_or_else(|| p.default_value());
        match &p.kind {
            ParamKind::Bool { .. } => {
                let mut on = matches!(current, ParamValue::Bool(true));
                let l = f.label(ui, &key);
                if ui.checkbox(&mut on, "").on_hover_text(f.tip(&key)).labelled_by(l.id).changed() {
                    env.params.set(&p.key, ParamValue::Bool(on));
                }
                ui.end_row();
            }
            ParamKind::Float { unit, .. } => {
                let mut x = match current {
                    ParamValue::Float(x) => x,
                    ParamValue::Int(i) => i as f64,
                    _ => f64::NAN,
                };
                let before = x;
                let range = p.editor_range().unwrap_or(f64::MIN..=f64::MAX);
                let speed = ((range.end() - range.start()).abs() / 200.0).clamp(0.001, 1.0);
                f.num(ui, &key, &mut x, range, speed, unit);
                if x != before {
                    env.params.set(&p.key, ParamValue::Float(x));
                }
            }
        }
    }
}

/// The algorithm's hyperparameters, a row per key of its descriptor: each
/// key's widget and range come from its field, the one validation checks.
fn algorithm_params_ui(ui: &mut Ui, f: &Form<'_>, algorithm: &mut AlgorithmConfig, texts: &mut std::collections::BTreeMap<String, String>) {
    let spec = algorithm.spec();
    let Ok(mut value) = serde_json::to_value(&*algorithm) else { return };
    let Some(params) = value.get_mut("params").and_then(|p| p.as_object_mut()) else { return };
    let mut changed = false;
    for key in spec.keys {
        let Some(v) = params.get_mut(key.name) else { continue };
        let full = format!("algorithm.params.{}", key.name);
        let text = texts.entry(full.clone()).or_default();
        changed |= field_ui(ui, f, &full, key.field, v, text);
    }
    // A value the params cannot hold (none the widgets make) leaves the config as it was.
    if let (true, Ok(a)) = (changed, serde_json::from_value::<AlgorithmConfig>(value)) {
        *algorithm = a;
    }
}

/// One hyperparameter's row; whether it changed `v`.
fn field_ui(ui: &mut Ui, f: &Form<'_>, key: &str, field: Field, v: &mut serde_json::Value, text: &mut String) -> bool {
    let before = v.clone();
    match field {
        Field::Schedule => {
            let Ok(mut s) = serde_json::from_value::<Schedule>(v.clone()) else { return false };
            f.schedule(ui, key, &mut s, text);
            *v = serde_json::to_value(s).unwrap_or(before.clone());
        }
        Field::Count { min, unit } => {
            let mut x = v.as_i64().unwrap_or(min);
            let speed = (x.unsigned_abs() as f64 / 200.0).max(1.0);
            f.num(ui, key, &mut x, min..=i64::MAX, speed, unit);
            *v = x.into();
        }
        Field::Real { lo, lo_open, hi } => {
            let mut x = v.as_f64().unwrap_or(lo);
            // An open bound: the smallest value the editor offers lies just above it.
            let low = if lo_open { lo + 1e-9 } else { lo };
            f.real(ui, key, &mut x, low..=hi.unwrap_or(f64::MAX));
            *v = x.into();
        }
        Field::Flag => {
            let mut on = v.as_bool().unwrap_or(false);
            let l = f.label(ui, key);
            ui.checkbox(&mut on, "").on_hover_text(f.tip(key)).labelled_by(l.id);
            ui.end_row();
            *v = on.into();
        }
        Field::Widths => {
            let Ok(mut widths) = serde_json::from_value::<Vec<usize>>(v.clone()) else { return false };
            f.arch(ui, key, &mut widths, text);
            *v = widths.into();
        }
        Field::EntCoef => {
            let Ok(mut c) = serde_json::from_value::<crate::config::EntCoef>(v.clone()) else { return false };
            let hint = "auto (learned from 1.0), auto_<initial> (e.g. auto_0.1), or a fixed positive number.";
            f.parsed(ui, key, &mut c, text, |c| c.to_string(), crate::config::EntCoef::parse, hint);
            *v = serde_json::to_value(c).unwrap_or(before.clone());
        }
        Field::Choice(options) => {
            let l = f.label(ui, key);
            let current = v.as_str().unwrap_or_default().to_string();
            ComboBox::from_id_salt(key)
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for &name in options {
                        if ui.selectable_label(v.as_str() == Some(name), name).clicked() {
                            *v = name.into();
                        }
                    }
                })
                .response
                .on_hover_text(f.tip(key))
                .labelled_by(l.id);
            ui.end_row();
        }
        Field::Activation => {
            let l = f.label(ui, key);
            let current = v.as_str().unwrap_or_default().to_string();
            ComboBox::from_id_salt(key)
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for a in Activation::ALL {
                        let name = a.as_str();
                        if ui.selectable_label(v.as_str() == Some(name), name).clicked() {
                            *v = name.into();
                        }
                    }
                })
                .response
                .on_hover_text(f.tip(key))
                .labelled_by(l.id);
            ui.end_row();
        }
    }
    *v != before
}

/// The config key a validation message is about ("algorithm.params.batch_size: ...").
pub fn error_key(message: &str) -> Option<String> {
    if let Some(i) = message.find("for key ") {
        return message[i + 8..].split([' ', ':', ',']).next().map(str::to_string);
    }
    let first = message.split([':', ' ']).next()?;
    (first.contains('.') && first.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')).then(|| first.to_string())
}

/// Text buffers for fields edited as text (schedules, lists), reset when the config is replaced.
#[derive(Default)]
pub struct EditorBuffers {
    /// Per config key, what is typed into its text field.
    texts: std::collections::BTreeMap<String, String>,
    /// Config file path for Open/Save (typed, or filled by the native dialog).
    pub config_path: String,
    /// A gym: env's Check button and kwargs text.
    pub gym: super::editor_gym::GymCheck,
    /// The tag being typed, and the tags used in the runs directory.
    pub tags: super::editor_notes::TagInput,
}

impl EditorBuffers {
    pub fn reset(&mut self) {
        let path = std::mem::take(&mut self.config_path);
        let known = std::mem::take(&mut self.tags.known);
        *self = Self { config_path: path, tags: super::editor_notes::TagInput { known, ..Default::default() }, ..Self::default() };
    }
}

/// The whole form; returns what was clicked. `gpu` names the detected adapter.
pub fn editor_ui(ui: &mut Ui, config: &mut Config, buf: &mut EditorBuffers, presets: &[Preset], gpu: &str) -> EditorOutput {
    let mut out = EditorOutput::default();
    ui.horizontal(|ui| {
        ui.heading("Experiment");
        ComboBox::from_label("Preset").selected_text("choose…").show_ui(ui, |ui| {
            if presets.is_empty() {
                ui.label("no presets: put .ron configs in ./configs");
            }
            for p in presets {
                if ui.selectable_label(false, &p.name).clicked() {
                    let runs_dir = config.experiment.runs_dir.clone();
                    *config = p.config.clone();
                    config.experiment.runs_dir = runs_dir;
                    buf.reset();
                    out.message = Some(format!("loaded preset {}", p.name));
                }
            }
        });
    });
    file_row_ui(ui, config, buf, &mut out);
    // Validate first so the offending field is marked while it is drawn.
    let validation = config.validate();
    let error = validation.as_ref().err().map(|e| e.0.clone());
    let bad = error.as_deref().and_then(error_key);
    let algo = config.algorithm.name().to_string();
    let f = Form { algo: &algo, bad: bad.as_deref(), error: error.as_deref() };
    egui::ScrollArea::vertical().id_salt("editor_scroll").max_height((ui.available_height() - 90.0).max(120.0)).show(ui, |ui| {
        Grid::new("experiment_grid").num_columns(2).striped(true).show(ui, |ui| {
            let e = &mut config.experiment;
            let l = f.label(ui, "experiment.name");
            ui.text_edit_singleline(&mut e.name).on_hover_text(f.tip("experiment.name")).labelled_by(l.id);
            ui.end_row();
            super::editor_notes::tags_row_ui(ui, &f, &mut e.tags, &mut buf.tags);
            super::editor_notes::notes_row_ui(ui, &f, &mut e.notes);
            f.num(ui, "experiment.seed", &mut e.seed, 0..=u64::MAX, 1.0, "");
            f.num(ui, "experiment.total_timesteps", &mut e.total_timesteps, 1..=1_000_000_000, 1000.0, " steps");
            f.num(ui, "experiment.eval_freq", &mut e.eval_freq, 0..=100_000_000, 100.0, " steps");
            f.num(ui, "experiment.n_eval_episodes", &mut e.n_eval_episodes, 1..=1000, 1.0, "");
            f.num(ui, "experiment.video_episodes", &mut e.video_episodes, 0..=100, 1.0, "");
            let l = f.label(ui, "experiment.device");
            let device_text = |d: DeviceChoice| match d {
                DeviceChoice::Cpu => format!("cpu ({} threads)", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
                DeviceChoice::Gpu => format!("gpu: {gpu}"),
                DeviceChoice::Auto => "auto (GPU where measured faster)".to_string(),
            };
            ComboBox::from_id_salt("device")
                .selected_text(device_text(e.device))
                .width(220.0)
                .show_ui(ui, |ui| {
                    for d in [DeviceChoice::Cpu, DeviceChoice::Gpu, DeviceChoice::Auto] {
                        ui.selectable_value(&mut e.device, d, device_text(d));
                    }
                })
                .response
                .on_hover_text(f.tip("experiment.device"))
                .labelled_by(l.id);
            ui.end_row();
            f.num(ui, "experiment.keep_checkpoints", &mut e.keep_checkpoints, 1..=1000, 1.0, "");
            let l = f.label(ui, "logging.tensorboard");
            ui.checkbox(&mut config.logging.tensorboard, "").on_hover_text(f.tip("logging.tensorboard")).labelled_by(l.id);
            ui.end_row();
        });
        ui.separator();
        ui.heading("Environment");
        Grid::new("env_grid").num_columns(2).striped(true).show(ui, |ui| {
            let l = f.label(ui, "env.id");
            let is_gym = crate::envs::gym::gym_id(&config.env.id).is_some();
            ComboBox::from_id_salt("env_id")
                .selected_text(if is_gym { "Gymnasium environment…".to_string() } else { config.env.id.clone() })
                .show_ui(ui, |ui| {
                    // gym: entries are probed ones: the row below edits them.
                    for spec in crate::envs::registry::specs().into_iter().filter(|s| crate::envs::gym::gym_id(&s.id).is_none()) {
                        for id in std::iter::once(&spec.id).chain(spec.aliases.iter().map(|a| &a.id)) {
                            ui.selectable_value(&mut config.env.id, id.clone(), id.as_str()).on_hover_text(&spec.summary);
                        }
                    }
                    let gym = ui
                        .selectable_label(is_gym, "Gymnasium environment…")
                        .on_hover_text("Any Gymnasium id, stepped in Python worker processes (env.python's Gymnasium).");
                    if gym.clicked() && !is_gym {
                        config.env.id = super::editor_gym::first_gym_id();
                        config.env.params = Default::default();
                    }
                })
                .response
                .on_hover_text(f.tip("env.id"))
                .labelled_by(l.id);
            ui.end_row();
            if is_gym {
                let ctx = ui.ctx().clone();
                let waker: super::pending::Waker = std::sync::Arc::new(move || ctx.request_repaint());
                super::editor_gym::gym_env_ui(ui, &f, &mut config.env, &mut buf.gym, waker);
            }
            f.num(ui, "env.n_envs", &mut config.env.n_envs, 1..=4096, 1.0, "");
            env_params_ui(ui, &f, &mut config.env);
            for (key, on) in
                [("env.normalize_obs", &mut config.env.normalize_obs), ("env.normalize_reward", &mut config.env.normalize_reward)]
            {
                let l = f.label(ui, key);
                ui.checkbox(on, "").on_hover_text(f.tip(key)).labelled_by(l.id);
                ui.end_row();
            }
        });
        ui.separator();
        ui.heading("Algorithm");
        Grid::new("algo_grid").num_columns(2).striped(true).show(ui, |ui| {
            let l =
                ui.label("algorithm").on_hover_text("algorithm.name\nswitching resets the hyperparameters to that algorithm's defaults.");
            let mut name = config.algorithm.name().to_string();
            ComboBox::from_id_salt("algo")
                .selected_text(name.clone())
                .show_ui(ui, |ui| {
                    for a in crate::config::algorithms::ALGORITHMS {
                        ui.selectable_value(&mut name, a.name.to_string(), a.name).on_hover_text(a.summary);
                    }
                })
                .response
                .labelled_by(l.id);
            if name != config.algorithm.name() {
                if let Ok(a) = AlgorithmConfig::defaults_for(&name) {
                    config.algorithm = a;
                    buf.reset();
                }
            }
            ui.end_row();
            algorithm_params_ui(ui, &f, &mut config.algorithm, &mut buf.texts);
        });
    });
    ui.separator();
    if let Some(e) = &error {
        ui.label(RichText::new(format!("Invalid config: {e}")).color(ui.visuals().error_fg_color));
    }
    ui.horizontal_wrapped(|ui| {
        seeds_ui(ui, config);
        let n_seeds = config.group_seeds().ok().flatten().map(|s| s.len());
        let label = match n_seeds {
            Some(n) => format!("Run {n} seeds"),
            None => "Run".into(),
        };
        let run = ui.add_enabled(validation.is_ok(), egui::Button::new(RichText::new(label).strong()).min_size(egui::vec2(64.0, 0.0)));
        let run = match &error {
            Some(e) => run.on_disabled_hover_text(format!("Fix the config first: {e}")),
            None => run.on_hover_text("Train this config on a background thread (several runs may train at once)"),
        };
        out.run = run.clicked();
        out.sweep = ui.button("Run Sweep…").on_hover_text("Grid or random search over this config").clicked();
        if ui.button("Copy as command").on_hover_text("Copy the equivalent `rl-research run` command line").clicked() {
            let cmd = command_line(config);
            ui.ctx().copy_text(cmd.clone());
            out.copied_command = Some(cmd);
        }
    });
    out
}

/// The config file row: path field, native dialog, Open and Save.
/// The "Seeds" field beside Run: 1 trains one run; N > 1 a seed group of N
/// seeds counting up from experiment.seed (experiment.n_seeds). A list loaded
/// from a file (experiment.seeds) is shown and can be replaced by a count.
fn seeds_ui(ui: &mut Ui, config: &mut Config) {
    let e = &mut config.experiment;
    let l = ui.label("Seeds");
    if let Some(list) = &e.seeds {
        let text = list.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",");
        ui.label(RichText::new(format!("[{text}]")).monospace()).on_hover_text("experiment.seeds from the loaded config");
        if ui.small_button("x").on_hover_text("Use a count from experiment.seed instead").clicked() {
            e.n_seeds = Some(list.len()).filter(|&n| n > 1);
            e.seeds = None;
        }
        return;
    }
    let mut n = e.n_seeds.unwrap_or(1);
    let tip = "Seeds to train: 1 is a single run; more make a seed group (runs/<name>/seed_<k>/, seeds counting up from experiment.seed; experiment.batch_seeds says whether they train as one batched computation) with IQM, mean and 95% bootstrap confidence intervals over the seeds";
    if ui.add(DragValue::new(&mut n).range(1..=100)).on_hover_text(tip).labelled_by(l.id).changed() {
        e.n_seeds = (n > 1).then_some(n);
    }
}

fn file_row_ui(ui: &mut Ui, config: &mut Config, buf: &mut EditorBuffers, out: &mut EditorOutput) {
    ui.horizontal(|ui| {
        let l = ui.label("file");
        ui.add(egui::TextEdit::singleline(&mut buf.config_path).desired_width(150.0).hint_text("configs/x.ron"))
            .labelled_by(l.id)
            .on_hover_text("A .ron or .yaml config file: type a path, or use Browse (native dialog; needs xdg-desktop-portal)");
        if ui.button("Browse…").on_hover_text("Pick a config file with the native dialog").clicked() {
            let picked = rfd::FileDialog::new().add_filter("config", &["ron", "yaml", "yml"]).set_directory("configs").pick_file();
            match picked {
                Some(p) => buf.config_path = p.display().to_string(),
                None => out.message = Some("no file chosen (if no dialog appeared, type the path in the file field)".into()),
            }
        }
        let path = std::path::PathBuf::from(buf.config_path.trim());
        let has_path = !buf.config_path.trim().is_empty();
        if ui.add_enabled(has_path, egui::Button::new("Open")).on_hover_text("Load this file into the form").clicked() {
            match Config::load(&path) {
                Ok(c) => {
                    *config = c;
                    buf.reset();
                    out.message = Some(format!("opened {}", path.display()));
                }
                Err(e) => out.message = Some(e.to_string()),
            }
        }
        if ui.add_enabled(has_path, egui::Button::new("Save")).on_hover_text("Write the form to this file (.ron or .yaml)").clicked() {
            out.message = Some(match save_config(config, &path) {
                Ok(()) => format!("saved {}", path.display()),
                Err(e) => e,
            });
        }
    });
}

/// `rl-research run` with every key that differs from the defaults.
pub fn command_line(config: &Config) -> String {
    let mut base = Config::default();
    if config.algorithm.name() != base.algorithm.name() {
        base.algorithm = AlgorithmConfig::defaults_for(config.algorithm.name()).unwrap_or_default();
    }
    let (a, b) = (serde_json::to_value(config).unwrap_or_default(), serde_json::to_value(&base).unwrap_or_default());
    let mut parts = vec!["rl-research run".to_string()];
    if config.algorithm.name() != Config::default().algorithm.name() {
        parts.push(format!("algorithm.name={}", config.algorithm.name()));
    }
    fn walk(a: &serde_json::Value, b: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(ma), serde_json::Value::Object(mb)) => {
                for (k, va) in ma {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(va, mb.get(k).unwrap_or(&serde_json::Value::Null), &p, out);
                }
            }
            _ if a != b => {
                let v = match a {
                    // Hydra's grammar reads a comma as a sweep and brackets as a list: such text is quoted.
                    serde_json::Value::String(s) if s.chars().any(|c| ",[]{}()='\"\\\n".contains(c)) => {
                        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                    }
                    serde_json::Value::String(s) => s.clone(),
                    // [baseline,lr-study]: the override grammar's list, as a user types it.
                    serde_json::Value::Array(items) if items.iter().all(|i| i.is_string()) => {
                        format!("[{}]", items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(","))
                    }
                    other => other.to_string().replace(' ', ""),
                };
                let v = if v.chars().any(|c| c.is_whitespace() || "'\"$;&|`\\()<>*?#~".contains(c)) {
                    format!("'{}'", v.replace('\'', "'\\''"))
                } else {
                    v
                };
                out.push(format!("{prefix}={v}"));
            }
            _ => {}
        }
    }
    walk(&a, &b, "", &mut parts);
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_parse_and_validate() {
        for (name, _) in crate::config::BUILTIN_PRESETS {
            let c = crate::config::builtin_preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn validation_messages_name_their_key() {
        assert_eq!(error_key("algorithm.params.batch_size: must be between 1 and ...").as_deref(), Some("algorithm.params.batch_size"));
        assert_eq!(error_key("unknown env id 'X' for key env.id: valid ids are ...").as_deref(), Some("env.id"));
        assert_eq!(error_key("experiment.name 'a/b' is not allowed").as_deref(), Some("experiment.name"));
        assert_eq!(error_key("something else"), None);
    }
}
