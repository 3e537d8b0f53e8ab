//! The config editor: a form generated from the typed config, validated with
//! the same rules as the CLI.

use crate::config::{AlgorithmConfig, Config, DeviceChoice, Schedule, ENV_IDS};
use egui::{ComboBox, DragValue, Grid, RichText, Ui};

/// What the user asked for this frame.
#[derive(Default)]
pub struct EditorOutput {
    pub run: bool,
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
    crate::runs::write_atomic(path, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A preset from `configs/`.
pub struct Preset {
    pub name: String,
    pub config: Config,
}

pub fn load_presets() -> Vec<Preset> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("configs") else { return out };
    let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "ron")).collect();
    paths.sort();
    for p in paths {
        if let Ok(config) = Config::load(&p) {
            out.push(Preset { name: p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), config });
        }
    }
    out
}

fn num<T: egui::emath::Numeric>(ui: &mut Ui, label: &str, tip: &str, v: &mut T, range: std::ops::RangeInclusive<T>, speed: f64) {
    let l = ui.label(label).on_hover_text(tip);
    ui.add(DragValue::new(v).range(range).speed(speed)).on_hover_text(tip).labelled_by(l.id);
    ui.end_row();
}

fn schedule(ui: &mut Ui, label: &str, tip: &str, s: &mut Schedule, text: &mut String) {
    let l = ui.label(label).on_hover_text(tip);
    if text.is_empty() {
        *text = s.to_string();
    }
    let r = ui
        .add(egui::TextEdit::singleline(text).desired_width(120.0))
        .on_hover_text(format!("{tip}\nA number (constant) or lin_<number> (linear decay to 0)."))
        .labelled_by(l.id);
    match Schedule::parse(text) {
        Ok(v) => {
            if r.changed() {
                *s = v;
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

fn arch(ui: &mut Ui, arch: &mut Vec<usize>, text: &mut String) {
    let l = ui.label("net_arch").on_hover_text("Hidden layer widths, comma-separated (e.g. 64,64).");
    if text.is_empty() {
        *text = arch.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(",");
    }
    if ui.text_edit_singleline(text).labelled_by(l.id).changed() {
        if let Ok(v) = text.split(',').map(|w| w.trim().parse::<usize>()).collect::<Result<Vec<_>, _>>() {
            *arch = v;
        }
    }
    ui.end_row();
}

/// Text buffers for fields edited as text (schedules, lists), reset when the config is replaced.
#[derive(Default)]
pub struct EditorBuffers {
    lr: String,
    clip: String,
    arch: String,
    /// Config file path for Open/Save (typed, or filled by the native dialog).
    pub config_path: String,
}

impl EditorBuffers {
    pub fn reset(&mut self) {
        let path = std::mem::take(&mut self.config_path);
        *self = Self { config_path: path, ..Self::default() };
    }
}

/// The whole form; returns what was clicked.
pub fn editor_ui(ui: &mut Ui, config: &mut Config, buf: &mut EditorBuffers, presets: &[Preset], running: usize) -> EditorOutput {
    let mut out = EditorOutput::default();
    ui.horizontal(|ui| {
        ui.heading("Experiment");
        ComboBox::from_label("Preset").selected_text("choose…").show_ui(ui, |ui| {
            for p in presets {
                if ui.selectable_label(false, &p.name).clicked() {
                    let runs_dir = config.experiment.runs_dir.clone();
                    *config = p.config.clone();
                    config.experiment.runs_dir = runs_dir;
                    buf.reset();
                }
            }
        });
    });
    ui.horizontal(|ui| {
        let l = ui.label("file");
        ui.add(egui::TextEdit::singleline(&mut buf.config_path).desired_width(150.0).hint_text("configs/x.ron"))
            .labelled_by(l.id)
            .on_hover_text("A .ron or .yaml config file: type a path, or use Browse (native dialog; needs xdg-desktop-portal)");
        if ui.button("Browse…").clicked() {
            let picked = rfd::FileDialog::new().add_filter("config", &["ron", "yaml", "yml"]).set_directory("configs").pick_file();
            match picked {
                Some(p) => buf.config_path = p.display().to_string(),
                None => out.message = Some("no file chosen (if no dialog appeared, type the path)".into()),
            }
        }
        let path = std::path::PathBuf::from(buf.config_path.trim());
        let has_path = !buf.config_path.trim().is_empty();
        if ui.add_enabled(has_path, egui::Button::new("Open")).clicked() {
            match Config::load(&path) {
                Ok(c) => {
                    *config = c;
                    buf.reset();
                    out.message = Some(format!("opened {}", path.display()));
                }
                Err(e) => out.message = Some(e.to_string()),
            }
        }
        if ui.add_enabled(has_path, egui::Button::new("Save")).clicked() {
            out.message = Some(match save_config(config, &path) {
                Ok(()) => format!("saved {}", path.display()),
                Err(e) => e,
            });
        }
    });
    egui::ScrollArea::vertical().id_salt("editor_scroll").max_height(ui.available_height() - 70.0).show(ui, |ui| {
        Grid::new("experiment_grid").num_columns(2).striped(true).show(ui, |ui| {
            let e = &mut config.experiment;
            let l = ui.label("name").on_hover_text("Run directory name under runs_dir; a suffix is added if it exists.");
            ui.text_edit_singleline(&mut e.name).labelled_by(l.id);
            ui.end_row();
            num(ui, "seed", "Seeds envs, weight init, exploration and minibatches.", &mut e.seed, 0..=u64::MAX, 1.0);
            num(ui, "total_timesteps", "Environment steps over all envs.", &mut e.total_timesteps, 1..=1_000_000_000, 1000.0);
            num(ui, "eval_freq", "Evaluate every this many env steps (0: only at the end).", &mut e.eval_freq, 0..=100_000_000, 100.0);
            num(ui, "n_eval_episodes", "Deterministic episodes per evaluation.", &mut e.n_eval_episodes, 1..=1000, 1.0);
            num(ui, "video_episodes", "Episodes of the best model recorded to videos/evaluation.mp4 at the end (0: none).", &mut e.video_episodes, 0..=100, 1.0);
            let l = ui.label("device").on_hover_text("cpu: burn flex; gpu: burn wgpu; auto: GPU if a real one answers.");
            ComboBox::from_id_salt("device").selected_text(e.device.to_string()).show_ui(ui, |ui| {
                for d in [DeviceChoice::Cpu, DeviceChoice::Gpu, DeviceChoice::Auto] {
                    ui.selectable_value(&mut e.device, d, d.to_string());
                }
            }).response.labelled_by(l.id);
            ui.end_row();
        });
        ui.separator();
        ui.heading("Environment");
        Grid::new("env_grid").num_columns(2).striped(true).show(ui, |ui| {
            let l = ui.label("id").on_hover_text("Gymnasium environment id.");
            ComboBox::from_id_salt("env_id").selected_text(config.env.id.clone()).show_ui(ui, |ui| {
                for id in ENV_IDS {
                    ui.selectable_value(&mut config.env.id, id.to_string(), *id);
                }
            }).response.labelled_by(l.id);
            ui.end_row();
            num(ui, "n_envs", "Parallel envs in the vectorized env.", &mut config.env.n_envs, 1..=4096, 1.0);
            if config.env.id.starts_with("LunarLander") {
                let p = &mut config.env.params;
                num(ui, "gravity", "m/s², strictly between -12 and 0.", &mut p.gravity, -11.99..=-0.01, 0.1);
                ui.label("enable_wind").on_hover_text("Gymnasium's wind and turbulence while airborne.");
                ui.checkbox(&mut p.enable_wind, "wind");
                ui.end_row();
                num(ui, "wind_power", "Maximum wind force (recommended 0..20).", &mut p.wind_power, 0.0..=100.0, 0.1);
                num(ui, "turbulence_power", "Maximum turbulence torque (recommended 0..2).", &mut p.turbulence_power, 0.0..=10.0, 0.05);
            }
        });
        ui.separator();
        ui.heading("Algorithm");
        Grid::new("algo_grid").num_columns(2).striped(true).show(ui, |ui| {
            let l = ui.label("algorithm").on_hover_text("ppo or dqn; switching resets the hyperparameters to that algorithm's defaults.");
            let mut name = config.algorithm.name().to_string();
            ComboBox::from_id_salt("algo").selected_text(name.clone()).show_ui(ui, |ui| {
                for n in crate::config::ALGORITHM_NAMES {
                    ui.selectable_value(&mut name, n.to_string(), *n);
                }
            }).response.labelled_by(l.id);
            if name != config.algorithm.name() {
                if let Ok(a) = AlgorithmConfig::defaults_for(&name) {
                    config.algorithm = a;
                    buf.reset();
                }
            }
            ui.end_row();
            match &mut config.algorithm {
                AlgorithmConfig::Ppo(p) => {
                    schedule(ui, "learning_rate", "Adam step size.", &mut p.learning_rate, &mut buf.lr);
                    num(ui, "n_steps", "Steps per env per rollout.", &mut p.n_steps, 1..=100_000, 1.0);
                    num(ui, "batch_size", "Minibatch size (≤ n_steps × n_envs).", &mut p.batch_size, 1..=1_000_000, 1.0);
                    num(ui, "n_epochs", "Passes over each rollout.", &mut p.n_epochs, 1..=1000, 1.0);
                    num(ui, "gamma", "Discount factor.", &mut p.gamma, 0.0..=1.0, 0.001);
                    num(ui, "gae_lambda", "GAE lambda.", &mut p.gae_lambda, 0.0..=1.0, 0.01);
                    schedule(ui, "clip_range", "Surrogate clipping.", &mut p.clip_range, &mut buf.clip);
                    num(ui, "ent_coef", "Entropy bonus coefficient.", &mut p.ent_coef, 0.0..=1.0, 0.001);
                    num(ui, "vf_coef", "Value loss coefficient.", &mut p.vf_coef, 0.0..=10.0, 0.01);
                    num(ui, "max_grad_norm", "Global gradient-norm clip.", &mut p.max_grad_norm, 0.001..=100.0, 0.01);
                    arch(ui, &mut p.net_arch, &mut buf.arch);
                }
                AlgorithmConfig::Dqn(d) => {
                    schedule(ui, "learning_rate", "Adam step size.", &mut d.learning_rate, &mut buf.lr);
                    num(ui, "buffer_size", "Replay capacity in transitions.", &mut d.buffer_size, 1..=10_000_000, 100.0);
                    num(ui, "learning_starts", "Random-action steps before learning.", &mut d.learning_starts, 0..=10_000_000, 100.0);
                    num(ui, "batch_size", "Minibatch size.", &mut d.batch_size, 1..=100_000, 1.0);
                    num(ui, "gamma", "Discount factor.", &mut d.gamma, 0.0..=1.0, 0.001);
                    num(ui, "target_update_interval", "Env steps between target-network copies.", &mut d.target_update_interval, 1..=10_000_000, 1.0);
                    num(ui, "train_freq", "Env steps between training phases.", &mut d.train_freq, 1..=100_000, 1.0);
                    num(ui, "gradient_steps", "Gradient steps per phase (-1: as many as env steps).", &mut d.gradient_steps, -1..=100_000, 1.0);
                    num(ui, "exploration_fraction", "Fraction of training over which epsilon decays.", &mut d.exploration_fraction, 0.001..=1.0, 0.01);
                    num(ui, "exploration_final_eps", "Final epsilon.", &mut d.exploration_final_eps, 0.0..=1.0, 0.01);
                    arch(ui, &mut d.net_arch, &mut buf.arch);
                }
            }
        });
    });
    ui.separator();
    let validation = config.validate();
    if let Err(e) = &validation {
        ui.label(RichText::new(format!("Invalid config: {e}")).color(ui.visuals().error_fg_color));
    }
    ui.horizontal(|ui| {
        let run = ui.add_enabled(validation.is_ok(), egui::Button::new(RichText::new("Run").strong()));
        let run = match &validation {
            Err(e) => run.on_disabled_hover_text(format!("Fix the config first: {e}")),
            Ok(()) => run.on_hover_text("Train this config on a background thread"),
        };
        out.run = run.clicked();
        if ui.button("Copy as command").on_hover_text("Copy the equivalent rl-research run command line").clicked() {
            let cmd = command_line(config);
            ui.ctx().copy_text(cmd.clone());
            out.copied_command = Some(cmd);
        }
        if running > 0 {
            ui.label(format!("{running} training(s) running"));
        }
    });
    out
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
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string().replace(' ', ""),
                };
                let v = if v.chars().any(|c| c.is_whitespace() || "'\"$;&|".contains(c)) { format!("'{}'", v.replace('\'', "")) } else { v };
                out.push(format!("{prefix}={v}"));
            }
            _ => {}
        }
    }
    walk(&a, &b, "", &mut parts);
    parts.join(" ")
}
