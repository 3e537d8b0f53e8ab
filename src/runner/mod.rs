//! Runs an experiment end to end: resolves the device, creates the run
//! directory, trains with a callback that evaluates (EvalCallback semantics:
//! `best_model.zip` whenever the mean eval return improves), logs metrics,
//! reports progress through events and obeys a stop flag (Ctrl-C, Stop button).

pub mod eval;
pub mod replay;

pub use eval::{evaluate_batched, evaluate_episodes, evaluate_policy, mean_std, EvalResult};
pub use replay::{record_episodes, record_video, EpisodeRecord, VideoStats};

use crate::algos::{self, device, Agent, Callback, Control, Metrics};
use crate::config::{Config, ConfigError};
use crate::envs::{make_env, Env, VecEnv};
use crate::runs::model_file::{ModelMetadata, NetworkInfo, FORMAT_VERSION};
use crate::runs::sysinfo::EnvironmentInfo;
use crate::runs::{unix_now_secs, Logger, RunDir, RunInfo, RunStatus, SavedModel};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seeds of evaluation envs are offset so they never replay training starts.
pub const EVAL_SEED_OFFSET: u64 = 1_000_000;

#[derive(Debug)]
pub enum RunError {
    /// Bad configuration: exit code 2 in the CLI.
    Config(ConfigError),
    /// The requested device is not available.
    Device(String),
    Io(std::io::Error),
    /// Training itself failed (the run directory records it as failed).
    Training(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Device(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "{e}"),
            RunError::Training(e) => write!(f, "training failed: {e}"),
        }
    }
}
impl std::error::Error for RunError {}
impl From<ConfigError> for RunError {
    fn from(e: ConfigError) -> Self {
        RunError::Config(e)
    }
}
impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::Io(e)
    }
}

/// What the runner reports while it works (to the CLI's progress bar or the GUI).
#[derive(Clone, Debug)]
pub enum RunEvent {
    Started { run_dir: PathBuf, device: String, note: Option<String> },
    Progress { timesteps: u64, total_timesteps: u64, steps_per_sec: f64, mean_reward: Option<f64> },
    Metrics { timesteps: u64, wall_secs: f64, metrics: Vec<(String, f64)> },
    Evaluated { timesteps: u64, wall_secs: f64, mean_reward: f64, std_reward: f64, new_best: bool },
    /// The first evaluation episode of each evaluation, with frames (only when
    /// `RunOptions::live_episodes` is set): the GUI's live view of the agent.
    EvalEpisode { timesteps: u64, episode: Box<EpisodeRecord> },
    Finished { status: RunStatus, run_dir: PathBuf },
    /// Something to tell the user (a fallback, a warning).
    Note { message: String },
}

/// Options beyond the config: how to report and how to be stopped.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Saved in config.yaml so the run can be reproduced.
    pub command_line: Option<String>,
    /// Set it to stop training gracefully (status "stopped", models kept).
    pub stop: Arc<AtomicBool>,
    pub events: Option<Sender<RunEvent>>,
    /// Called after each event is sent (the GUI's `request_repaint`).
    pub waker: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Record one evaluation episode per evaluation and send it as `RunEvent::EvalEpisode`.
    pub live_episodes: bool,
}

/// One periodic evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRecord {
    pub timesteps: u64,
    pub wall_secs: f64,
    pub mean_reward: f64,
    pub std_reward: f64,
}

#[derive(Clone, Debug)]
pub struct RunSummary {
    pub run_dir: RunDir,
    pub status: RunStatus,
    pub timesteps: u64,
    pub wall_secs: f64,
    /// Wall seconds spent in training alone (evaluations and saving excluded).
    pub train_secs: f64,
    pub evaluations: Vec<EvalRecord>,
    pub best_mean_reward: Option<f64>,
    pub device: String,
}

impl RunSummary {
    /// First evaluation reaching `threshold`.
    pub fn first_reaching(&self, threshold: f64) -> Option<&EvalRecord> {
        self.evaluations.iter().find(|e| e.mean_reward >= threshold)
    }
}

/// Runs one experiment with default options.
pub fn run_experiment(config: &Config) -> Result<RunSummary, RunError> {
    run_experiment_with(config, RunOptions::default())
}

pub fn run_experiment_with(config: &Config, options: RunOptions) -> Result<RunSummary, RunError> {
    config.validate()?;
    // Denormals flushed on this thread and the rayon pool for the whole run, restored after.
    let _fp = crate::fpmode::FlushDenormals::enter();
    let resolved = device::resolve(config.experiment.device).map_err(RunError::Device)?;
    let env_cfg = &config.env;
    let envs: Vec<Box<dyn Env>> = (0..env_cfg.n_envs).map(|_| make_env(env_cfg)).collect::<Result<_, _>>()?;
    let mut venv = VecEnv::new(envs);
    let eval_envs: Vec<Box<dyn Env>> =
        (0..config.experiment.n_eval_episodes).map(|_| make_env(env_cfg)).collect::<Result<_, _>>()?;
    let obs_space = venv.observation_space().ok_or_else(|| RunError::Training("no envs".into()))?;

    let run = RunDir::create_unique(&config.experiment.runs_dir, &config.experiment.name)?;
    let mut header = format!("# rl-research {} resolved config\n", env!("CARGO_PKG_VERSION"));
    let mut yaml = config.to_yaml();
    if let Some(cmd) = &options.command_line {
        header.push_str("# reproduce with: rl-research run --config <this file>\n");
        let quoted = serde_json::to_string(cmd).unwrap_or_default();
        yaml.push_str(&format!("command_line: {quoted}\n"));
    }
    crate::runs::write_atomic(&run.config_yaml(), format!("{header}{yaml}").as_bytes())?;

    let info = RunInfo {
        status: RunStatus::Running,
        name: run.name(),
        algorithm: config.algorithm.name().into(),
        env_id: env_cfg.id.clone(),
        seed: config.experiment.seed,
        started_at_unix_secs: unix_now_secs(),
        finished_at_unix_secs: None,
        wall_secs: None,
        train_secs: None,
        total_timesteps: config.experiment.total_timesteps,
        timesteps_done: 0,
        best_eval_mean_reward: None,
        error: None,
        warnings: Vec::new(),
        environment: EnvironmentInfo::collect(&resolved.description, config.experiment.seed),
        pid: Some(std::process::id()),
        host: crate::runs::host_name(),
    };
    let logger = Logger::create(&run, info)?;
    let mut cb = RunnerCallback {
        config,
        options: &options,
        logger,
        eval_envs,
        obs_low: obs_space.low.clone(),
        obs_high: obs_space.high.clone(),
        n_actions: venv.n_actions,
        next_eval_at: config.experiment.eval_freq,
        last_eval_at: None,
        best_mean: None,
        evaluations: Vec::new(),
        started: Instant::now(),
        eval_secs: 0.0,
        last_progress: Instant::now() - Duration::from_secs(1),
        last_update_at: (Instant::now(), 0),
        last_mean_reward: None,
        error: None,
        stop_file: run.stop_file(),
        last_stop_check: Instant::now(),
        last_info_write: Instant::now(),
    };
    let note = [resolved.note.clone(), crate::config::env_note(env_cfg)].into_iter().flatten().collect::<Vec<_>>().join("\n");
    cb.send(RunEvent::Started { run_dir: run.root.clone(), device: resolved.description.clone(), note: (!note.is_empty()).then_some(note) });

    let (obs_dim, n_actions, seed, total) =
        (venv.obs_dim, venv.n_actions, config.experiment.seed, config.experiment.total_timesteps);
    let mut agent = algos::make_agent(&config.algorithm, obs_dim, n_actions, seed, &resolved.device);
    let trained = agent.learn(&mut venv, total, seed, &mut cb);
    let result = cb.finish_training(agent.as_ref(), trained);
    let (status, timesteps) = result;
    let wall_secs = cb.started.elapsed().as_secs_f64();
    let train_secs = wall_secs - cb.eval_secs;
    let error = cb.error.clone();
    let evaluations = std::mem::take(&mut cb.evaluations);
    let best = cb.best_mean;
    let mut logger = cb.logger;
    if status != RunStatus::Failed && config.experiment.video_episodes > 0 {
        if let Some(tx) = &options.events {
            let _ = tx.send(RunEvent::Note { message: format!("recording {} evaluation episode(s) to {}", config.experiment.video_episodes, run.evaluation_video().display()) });
        }
        if let Err(e) = write_run_video(&run, config.experiment.video_episodes, None, &mut |_, _| {}) {
            let msg = format!("videos/evaluation.mp4 was not written: {e}");
            if let Some(tx) = &options.events {
                let _ = tx.send(RunEvent::Note { message: format!("warning: {msg}") });
            }
            logger.info_mut().warnings.push(msg);
        }
    }
    logger.info_mut().timesteps_done = timesteps;
    logger.info_mut().train_secs = Some(train_secs);
    logger.info_mut().best_eval_mean_reward = best;
    logger.finish(status, error.clone())?;
    if let Some(tx) = &options.events {
        let _ = tx.send(RunEvent::Finished { status, run_dir: run.root.clone() });
        if let Some(w) = &options.waker {
            w();
        }
    }
    if let (RunStatus::Failed, Some(e)) = (status, error) {
        return Err(RunError::Training(format!("{e} (run directory {} records it)", run.root.display())));
    }
    Ok(RunSummary { run_dir: run, status, timesteps, wall_secs, train_secs, evaluations, best_mean_reward: best, device: resolved.description })
}

struct RunnerCallback<'a> {
    config: &'a Config,
    options: &'a RunOptions,
    logger: Logger,
    eval_envs: Vec<Box<dyn Env>>,
    obs_low: Vec<f32>,
    obs_high: Vec<f32>,
    n_actions: usize,
    next_eval_at: u64,
    last_eval_at: Option<u64>,
    best_mean: Option<f64>,
    evaluations: Vec<EvalRecord>,
    started: Instant,
    eval_secs: f64,
    last_progress: Instant,
    last_update_at: (Instant, u64),
    last_mean_reward: Option<f64>,
    error: Option<String>,
    stop_file: PathBuf,
    last_stop_check: Instant,
    /// run_info.json's progress is refreshed every few seconds, so the runs
    /// browser of another process sees this run advance.
    last_info_write: Instant,
}

impl RunnerCallback<'_> {
    fn send(&self, event: RunEvent) {
        if let Some(tx) = &self.options.events {
            let _ = tx.send(event);
            if let Some(w) = &self.options.waker {
                w();
            }
        }
    }

    fn saved_model(&self, agent: &dyn Agent, eval: Option<(f64, f64)>) -> Result<SavedModel, String> {
        let networks = agent.networks()?;
        let policy_network = networks.first().map(|(n, _)| n.clone()).unwrap_or_default();
        let metadata = ModelMetadata {
            format_version: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").into(),
            algorithm: self.config.algorithm.name().into(),
            env_id: self.config.env.id.clone(),
            obs_dim: self.obs_low.len(),
            obs_low: self.obs_low.clone(),
            obs_high: self.obs_high.clone(),
            n_actions: self.n_actions,
            policy_network,
            policy_head: agent.policy_head(),
            networks: networks.iter().map(|(n, w)| NetworkInfo { name: n.clone(), sizes: w.sizes.clone(), activation: w.activation }).collect(),
            timesteps: agent.num_timesteps(),
            eval_mean_reward: eval.map(|e| e.0),
            eval_std_reward: eval.map(|e| e.1),
            saved_at_unix_secs: unix_now_secs(),
            config: self.config.clone(),
        };
        Ok(SavedModel { metadata, networks })
    }

    fn evaluate(&mut self, agent: &dyn Agent, timesteps: u64) -> Result<(), String> {
        let t0 = Instant::now();
        let policy = agent.policy();
        let result = evaluate_batched(&policy, &mut self.eval_envs, self.config.experiment.seed.wrapping_add(EVAL_SEED_OFFSET))?;
        let (mean, std) = result.mean_std();
        let new_best = self.best_mean.is_none_or(|b| mean > b);
        self.logger
            .log_metrics(timesteps, &[("eval/mean_reward", mean), ("eval/std_reward", std), ("eval/mean_ep_length", result.mean_length())])
            .map_err(|e| e.to_string())?;
        if new_best {
            self.best_mean = Some(mean);
            let model = self.saved_model(agent, Some((mean, std)))?;
            self.logger.save_model("best_model", &model).map_err(|e| format!("saving best_model.zip: {e}"))?;
            self.logger.info_mut().best_eval_mean_reward = Some(mean);
        }
        self.logger.info_mut().timesteps_done = timesteps;
        self.logger.update_info().map_err(|e| e.to_string())?;
        self.last_eval_at = Some(timesteps);
        self.evaluations.push(EvalRecord { timesteps, wall_secs: self.started.elapsed().as_secs_f64(), mean_reward: mean, std_reward: std });
        let wall_secs = self.started.elapsed().as_secs_f64();
        self.send(RunEvent::Evaluated { timesteps, wall_secs, mean_reward: mean, std_reward: std, new_best });
        if self.options.live_episodes && self.options.events.is_some() {
            if let Some(env) = self.eval_envs.first_mut() {
                // One greedy episode with frames; a failure here only costs the live view.
                if let Ok(mut eps) = replay::record_episodes(&policy, env.as_mut(), 1, self.config.experiment.seed.wrapping_add(EVAL_SEED_OFFSET)) {
                    if let Some(episode) = eps.pop() {
                        self.send(RunEvent::EvalEpisode { timesteps, episode: Box::new(episode) });
                    }
                }
            }
        }
        self.eval_secs += t0.elapsed().as_secs_f64();
        Ok(())
    }

    /// Final evaluation (so best_model.zip always exists), final model, status.
    fn finish_training(&mut self, agent: &dyn Agent, result: Result<(), String>) -> (RunStatus, u64) {
        let t = agent.num_timesteps();
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
        let stopped = self.options.stop.load(Ordering::SeqCst);
        if self.error.is_none() && self.last_eval_at != Some(t) && t > 0 {
            if let Err(e) = self.evaluate(agent, t) {
                self.error = Some(e);
            }
        }
        if self.error.is_none() {
            match self.saved_model(agent, self.evaluations.last().map(|e| (e.mean_reward, e.std_reward))) {
                Ok(m) => {
                    if let Err(e) = self.logger.save_model("final_model", &m) {
                        self.error = Some(format!("saving final_model.zip: {e}"));
                    }
                }
                Err(e) => self.error = Some(e),
            }
        }
        let status = if self.error.is_some() {
            RunStatus::Failed
        } else if stopped {
            RunStatus::Stopped
        } else {
            RunStatus::Completed
        };
        (status, t)
    }
}

impl Callback for RunnerCallback<'_> {
    fn on_step(&mut self, agent: &dyn Agent, num_timesteps: u64) -> Control {
        if self.error.is_some() || self.options.stop.load(Ordering::Relaxed) {
            return Control::Stop;
        }
        if self.last_stop_check.elapsed() >= Duration::from_millis(250) {
            self.last_stop_check = Instant::now();
            if self.stop_file.exists() {
                self.options.stop.store(true, Ordering::SeqCst);
                return Control::Stop;
            }
        }
        let eval_freq = self.config.experiment.eval_freq;
        if eval_freq > 0 && num_timesteps >= self.next_eval_at {
            self.next_eval_at = (num_timesteps / eval_freq + 1) * eval_freq;
            if let Err(e) = self.evaluate(agent, num_timesteps) {
                self.error = Some(e);
                return Control::Stop;
            }
        }
        if self.options.events.is_some() && self.last_progress.elapsed() >= Duration::from_millis(100) {
            self.last_progress = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            self.send(RunEvent::Progress {
                timesteps: num_timesteps,
                total_timesteps: self.config.experiment.total_timesteps,
                steps_per_sec: num_timesteps as f64 / secs,
                mean_reward: self.last_mean_reward,
            });
        }
        Control::Continue
    }

    fn on_update(&mut self, metrics: &Metrics) {
        let t = metrics.get("time/total_timesteps").unwrap_or(0.0) as u64;
        let (t_prev_instant, t_prev) = self.last_update_at;
        let dt = t_prev_instant.elapsed().as_secs_f64().max(1e-9);
        let fps = (t.saturating_sub(t_prev)) as f64 / dt;
        self.last_update_at = (Instant::now(), t);
        if let Some(r) = metrics.get("rollout/ep_rew_mean") {
            self.last_mean_reward = Some(r);
        }
        if self.last_info_write.elapsed() >= Duration::from_secs(2) {
            self.last_info_write = Instant::now();
            self.logger.info_mut().timesteps_done = t;
            self.logger.info_mut().wall_secs = Some(self.started.elapsed().as_secs_f64());
            // Best effort: a failed progress write is retried at the next update.
            let _ = self.logger.update_info();
        }
        let mut rows = metrics.0.clone();
        rows.push(("time/fps".into(), fps.round()));
        if let Err(e) = self.logger.log_metrics(t, &rows) {
            self.error = Some(format!("writing {}: {e}", self.logger.run_dir().metrics_csv().display()));
        }
        self.send(RunEvent::Metrics { timesteps: t, wall_secs: self.started.elapsed().as_secs_f64(), metrics: rows });
    }
}

/// The GPU adapter `experiment.device=gpu` would use, e.g. "NVIDIA H100 80GB HBM3",
/// with " [software]" for a CPU rasterizer; or why there is none. Slow (opens the
/// adapter): call it off the UI thread.
pub fn detect_gpu() -> Result<String, String> {
    let (_, name, physical) = device::probe_gpu()?;
    Ok(device::adapter_label(&name, physical))
}

/// Loads a saved model's policy on the CPU.
pub fn load_policy(model: &SavedModel) -> Result<algos::Policy, String> {
    let name = &model.metadata.policy_network;
    let weights = model.network(name).ok_or_else(|| format!("model has no network '{name}'"))?;
    let head = model.metadata.policy_head;
    let policy = algos::Policy::from_weights(weights, head, &device::cpu().device)?;
    match model.network("critic") {
        Some(c) if head == algos::PolicyHead::Logits => policy.with_critic(c),
        _ => Ok(policy),
    }
}

/// Records `n_episodes` of a run's best model (final model if no best) into
/// `out` (default `videos/evaluation.mp4`) and `logs/eval_episodes.jsonl`.
pub fn write_run_video(run: &RunDir, n_episodes: usize, out: Option<&std::path::Path>, progress: &mut dyn FnMut(u64, u64)) -> Result<replay::VideoStats, String> {
    if n_episodes == 0 {
        return Err("--episodes must be at least 1".into());
    }
    let model_path = run.preferred_model().ok_or_else(|| {
        format!("{} has no models/best_model.zip or final_model.zip: train it first (rl-research run)", run.root.display())
    })?;
    let model = SavedModel::load(&model_path).map_err(|e| e.to_string())?;
    let policy = load_policy(&model)?;
    let config = &model.metadata.config;
    let mut env = make_env(&config.env).map_err(|e| e.to_string())?;
    let seed = config.experiment.seed.wrapping_add(EVAL_SEED_OFFSET);
    let episodes = replay::record_episodes(&policy, env.as_mut(), n_episodes, seed)?;
    let out = out.map(|p| p.to_path_buf()).unwrap_or_else(|| run.evaluation_video());
    let stats = replay::write_episodes_video(&episodes, &out, replay::RENDER_FPS, progress)?;
    replay::save_episodes(&run.eval_episodes(), &episodes).map_err(|e| format!("writing {}: {e}", run.eval_episodes().display()))?;
    Ok(stats)
}

/// `m:ss` or `h:mm:ss` for progress displays (CLI and GUI).
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "--:--".into();
    }
    let s = secs.round() as u64;
    if s >= 3600 { format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) } else { format!("{}:{:02}", s / 60, s % 60) }
}
