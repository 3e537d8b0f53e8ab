//! Runs an experiment end to end: resolves the device, creates the run
//! directory, trains with a callback that evaluates (EvalCallback semantics:
//! `best_model.zip` whenever the mean eval return improves), logs metrics,
//! reports progress through events and obeys a stop flag (Ctrl-C, Stop button).

pub mod batch;
pub mod callbacks;
pub mod checkpoint;
pub mod device_choice;
pub mod eval;
mod events;
pub mod external;
pub mod group;
pub mod monitor;
pub mod replay;
pub mod request;
mod resume;

pub use eval::{EvalResult, evaluate_batched, evaluate_episodes, evaluate_policy, mean_std};
pub use events::{EventSender, RunEvent, RunOptions};
pub use replay::{EpisodeRecord, VideoStats, record_episodes, record_video};
pub(crate) use resume::begin_resume;
pub use resume::{fork_experiment, fork_experiment_with, fork_name, resume_experiment};

use crate::algos::{self, device};
use crate::config::{Config, ConfigError};
use crate::envs::{Env, VecEnv};
use crate::runs::logger;
use crate::runs::sysinfo::EnvironmentInfo;
use crate::runs::{Logger, RunDir, RunInfo, RunLock, RunStatus, SavedModel, unix_now_secs};
use callbacks::{
    CallbackList, EvalCallback, MetricsCallback, NanGuardCallback, ProgressCallback, RunCallback, RunContext, StopCallback, next_multiple,
};
pub use checkpoint::{Checkpoint, CheckpointCallback};
use std::fmt;
use std::sync::atomic::Ordering;
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
    /// A checkpoint to resume or fork from is damaged or does not fit.
    Checkpoint(String),
    /// The user asked for something that is not there: a path that is not a
    /// run, a step with no checkpoint, a completed run to resume (exit code 2).
    Input(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Device(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "{e}"),
            RunError::Training(e) => write!(f, "training failed: {e}"),
            RunError::Checkpoint(e) | RunError::Input(e) => write!(f, "{e}"),
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

/// A run's evaluations and their schedule: what its callbacks update and a
/// checkpoint holds, one value in both (a fork starts a fresh one).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalState {
    pub evaluations: Vec<EvalRecord>,
    pub best_mean_reward: Option<f64>,
    /// The step the next periodic evaluation is due at.
    pub next_eval_at: u64,
    pub last_eval_at: Option<u64>,
}

/// One periodic evaluation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    // This thread as worker 0 of a pool of the run's threads (first: the
    // guard below then knows which pool this thread is in).
    crate::threads::own_share_of_budget(1);
    // Denormals flushed on this thread and the rayon pool for the whole run, restored after.
    let _fp = crate::fpmode::FlushDenormals::enter();
    let begun = begin_new(config, &options)?;
    train(begun, options)
}

/// A new run's directory, config.yaml, envs and agent.
pub(crate) fn begin_new(config: &Config, options: &RunOptions) -> Result<Begun, RunError> {
    config.validate()?;
    let prepared = Prepared::new(config, None)?;
    let (run, lock) = create_run_dir(config, options.command_line.as_deref(), "training")?;
    let info = new_run_info(&run, config, &prepared.device);
    Ok(Begun { config: config.clone(), prepared, run, lock, info, restored: None })
}

fn send_notes(options: &RunOptions, notes: Vec<String>) {
    for message in notes {
        options.send(RunEvent::Note { message });
    }
}

/// A new run's directory, locked, with its config.yaml; a failure on the way
/// (a full disk, permissions) leaves nothing behind and names the file.
fn create_run_dir(config: &Config, command_line: Option<&str>, purpose: &str) -> Result<(RunDir, RunLock), RunError> {
    let run = RunDir::create_unique(&config.experiment.runs_dir, &config.experiment.name)?;
    let made = run.lock(purpose).and_then(|lock| write_config_file(&run, config, command_line).map(|()| lock));
    match made {
        Ok(lock) => Ok((run, lock)),
        Err(e) => Err(RunError::Io(run.discard_new(e))),
    }
}

fn write_config_file(run: &RunDir, config: &Config, command_line: Option<&str>) -> std::io::Result<()> {
    let mut header = format!("# rl-research {} resolved config\n", env!("CARGO_PKG_VERSION"));
    let mut yaml = config.to_yaml();
    if let Some(cmd) = command_line {
        header.push_str("# reproduce with: rl-research run --config <this file>\n");
        let quoted = serde_json::to_string(cmd).unwrap_or_default();
        yaml.push_str(&format!("command_line: {quoted}\n"));
    }
    crate::runs::write_atomic(&run.config_yaml(), format!("{header}{yaml}").as_bytes())
}

/// The environment details of a run on `device` (run_info.json's `environment`).
fn environment(device: &device::ResolvedDevice, seed: u64) -> EnvironmentInfo {
    let mut env = EnvironmentInfo::collect(&device.description, seed);
    if let Some(a) = &device.adapter {
        env.adapter = Some(a.name.clone());
        env.adapter_backend = Some(a.backend.clone());
        env.driver = Some(a.driver.clone()).filter(|d| !d.is_empty());
    }
    env
}

fn new_run_info(run: &RunDir, config: &Config, device: &device::ResolvedDevice) -> RunInfo {
    RunInfo {
        status: RunStatus::Running,
        name: run.name(),
        algorithm: config.algorithm.name().into(),
        env_id: config.env.id.clone(),
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
        environment: environment(device, config.experiment.seed),
        pid: Some(std::process::id()),
        host: crate::runs::host_name(),
        start_ticks: crate::runs::lock::process_start_ticks(std::process::id()),
        forked_from: None,
        resumed: Vec::new(),
        tags: config.experiment.tags.clone(),
        notes: config.experiment.notes.clone(),
        cleaned: Vec::new(),
    }
}

/// Whether `ckpt` restores into its config's agent and envs (on the CPU),
/// without touching any run directory: what `--resume` would find wrong.
pub fn check_restorable(ckpt: &Checkpoint) -> Result<(), String> {
    let mut config = ckpt.config()?;
    config.experiment.device = crate::config::DeviceChoice::Cpu;
    Prepared::new(&config, Some(ckpt)).map(|_| ()).map_err(|e| e.to_string())
}

/// The device, envs and agent of a run, restored from a checkpoint if given.
struct Prepared {
    device: device::ResolvedDevice,
    venv: VecEnv,
    eval_envs: Vec<Box<dyn Env>>,
    agent: Box<dyn algos::Agent>,
    obs_low: Vec<f32>,
    obs_high: Vec<f32>,
}

impl Prepared {
    fn new(config: &Config, ckpt: Option<&Checkpoint>) -> Result<Self, RunError> {
        // A run on its own is a batch of one; a batched run's device was chosen for its batch.
        let choice = device_choice::for_batch(config, 1, device_choice::Layout::ALONE, device_choice::Layout::ALONE);
        let mut device = device::resolve(choice.device).map_err(RunError::Device)?;
        if choice.note.is_some() {
            device.note = choice.note;
        }
        let env_cfg = &config.env;
        if env_cfg.gym_source().is_some() {
            // A gym: env's spaces are known once probed: the checks that need them run now.
            env_cfg.spec()?;
            config.validate()?;
        }
        let mut venv = env_cfg.make_vec()?;
        venv.normalize(env_cfg.normalize_obs, env_cfg.normalize_reward, config.algorithm.gamma());
        let eval_envs: Vec<Box<dyn Env>> = env_cfg.make_many(config.experiment.n_eval_episodes)?;
        let space = venv.observation_space().ok_or_else(|| RunError::Training("no envs".into()))?;
        let mut agent = algos::make_agent(&config.algorithm, venv.obs_dim, &venv.action_space, config.experiment.seed, &device.device)
            .map_err(RunError::Training)?;
        if let Some(c) = ckpt {
            let fail = |e: String| RunError::Checkpoint(format!("the checkpoint at step {} cannot be restored: {e}", c.timesteps));
            agent.restore(&c.training.agent).map_err(fail)?;
            venv.restore(&c.training.venv).map_err(fail)?;
        }
        Ok(Self { device, venv, eval_envs, agent, obs_low: space.low, obs_high: space.high })
    }
}

/// What a resumed or forked run continues from.
struct Restored {
    ckpt: Checkpoint,
    /// A fork keeps the step, clocks and state but starts its own evaluation
    /// history, best model and metrics.csv.
    fork: bool,
}

/// A run ready to train (new, resumed or forked): what [`Session::start`] takes.
pub(crate) struct Begun {
    pub(crate) config: Config,
    prepared: Prepared,
    run: RunDir,
    lock: RunLock,
    info: RunInfo,
    restored: Option<Restored>,
}

/// A run while it trains: its envs and callbacks (logs, evaluation,
/// checkpoints, progress), fed by whichever batch trains its agent.
pub(crate) struct Session<'a> {
    config: &'a Config,
    options: &'a RunOptions,
    resolved: device::ResolvedDevice,
    venv: VecEnv,
    cb: CallbackList<'a>,
    run: RunDir,
    /// Held until the run is finished, video included: one writer per run directory.
    _lock: RunLock,
}

/// Trains one run as a batch of one agent.
fn train(begun: Begun, options: RunOptions) -> Result<RunSummary, RunError> {
    let config = begun.config.clone();
    let (mut session, mut agent) = Session::start(&config, &options, begun)?;
    let trained = agent.learn(&mut [session.member()], config.experiment.total_timesteps);
    session.finish(agent.view(0).as_ref(), trained)
}

impl<'a> Session<'a> {
    /// Opens the run's logs and sinks, builds its callbacks and says it started.
    pub(crate) fn start(
        config: &'a Config,
        options: &'a RunOptions,
        begun: Begun,
    ) -> Result<(Session<'a>, Box<dyn algos::Agent>), RunError> {
        let Begun { prepared, run, lock, info, restored, .. } = begun;
        let Prepared { device: resolved, venv, eval_envs, agent, obs_low, obs_high } = prepared;
        let wall0 = restored.as_ref().map(|r| r.ckpt.wall_secs).unwrap_or(0.0);
        let t0 = restored.as_ref().map(|r| r.ckpt.timesteps).unwrap_or(0);
        // A new run (or fork) that cannot open its logs leaves nothing behind;
        // a resumed one keeps its directory as it was.
        let fresh = restored.as_ref().is_none_or(|r| r.fork);
        let logger = Logger::create(&run, info).map_err(|e| RunError::Io(if fresh { run.discard_new(e) } else { e }));
        let mut logger = logger?.with_wall_offset(wall0);
        // A tracking file that cannot be created fails the run before training,
        // recorded in run_info.json (metrics.csv, the record, is already open).
        if config.logging.tensorboard {
            let header = monitor::tensorboard_header(config, &logger.info_mut().environment, t0);
            match crate::runs::tfevents::EventWriter::create(&run.logs_dir(), &header) {
                Ok(writer) => logger.add_sink(Box::new(writer)),
                Err(e) => return Err(fail_before_training(logger, callbacks::log_failed(e), fresh)),
            }
        }
        let monitor_csv = if config.logging.monitor_csv {
            let t_start = crate::runs::unix_now_f64() - wall0;
            match monitor::MonitorCallback::create(&run.monitor_csv(), &config.env.id, t_start) {
                Ok(m) => Some(m),
                Err(e) => return Err(fail_before_training(logger, callbacks::log_failed(e), fresh)),
            }
        } else {
            None
        };
        let mut ctx = RunContext {
            config,
            options,
            logger,
            obs_low,
            obs_high,
            action_space: venv.action_space.clone(),
            started: logger::instant_secs_ago(wall0),
            eval_secs: 0.0,
            eval: EvalState { next_eval_at: next_multiple(t0, config.experiment.eval_freq), ..EvalState::default() },
            last_mean_reward: None,
            error: None,
            stopping: false,
            monitor_rows: monitor_csv.as_ref().map(|m| m.rows()),
        };
        if let Some(Restored { ckpt, fork }) = &restored {
            ctx.eval_secs = ckpt.eval_secs;
            ctx.last_mean_reward = ckpt.last_mean_reward;
            if !fork {
                ctx.eval = ckpt.eval.clone();
            }
            if let Some(message) = ckpt.training.agent.algo.restore_note() {
                ctx.send(RunEvent::Note { message });
            }
            if ckpt.training.venv.envs.iter().any(|e| e.uses_legacy_rng()) {
                let message = "note: this checkpoint was written before the envs drew Gymnasium's starts (NumPy's PCG64): training continues exactly with the generator it was written with, while evaluation episodes from here on start from Gymnasium's seeded states, so later evaluations differ from what the earlier version would have measured".to_string();
                ctx.send(RunEvent::Note { message });
            }
        }
        // Order matters: stop first (it marks the step as the last), then evaluate,
        // write monitor rows, checkpoint (including that evaluation and this step's monitor rows), report progress.
        let mut callbacks: Vec<Box<dyn RunCallback>> = vec![
            Box::new(StopCallback { stop: options.stop.clone(), stop_file: run.stop_file(), last_check: Instant::now() }),
            Box::new(EvalCallback { eval_envs }),
        ];
        if let Some(m) = monitor_csv {
            callbacks.push(Box::new(m));
        }
        if config.logging.system_metrics_secs > 0.0 {
            let every = Duration::from_secs_f64(config.logging.system_metrics_secs);
            let mut sampler = crate::runs::sysinfo::SystemSampler::default();
            sampler.sample(); // the CPU baseline
            let gpu_memory: Option<Box<dyn Fn() -> Option<(u64, u64)> + Send>> = resolved.is_gpu.then(|| {
                let device = resolved.clone();
                Box::new(move || device.memory_bytes()) as Box<dyn Fn() -> Option<(u64, u64)> + Send>
            });
            callbacks.push(Box::new(monitor::SystemMetricsCallback { every, next: Instant::now() + every, sampler, gpu_memory }));
        }
        callbacks.extend([
            Box::new(CheckpointCallback::new(config, t0)) as Box<dyn RunCallback>,
            Box::new(ProgressCallback { last_sent: Instant::now() - Duration::from_secs(1) }),
            Box::new(MetricsCallback { last_update_at: (Instant::now(), t0), last_info_write: Instant::now() }),
            Box::new(NanGuardCallback),
        ]);
        let cb = CallbackList { ctx, callbacks };
        let note = [resolved.note.clone(), crate::config::env_note(&config.env)].into_iter().flatten().collect::<Vec<_>>().join("\n");
        cb.ctx.send(RunEvent::Started {
            run_dir: run.root.clone(),
            device: resolved.description.clone(),
            note: (!note.is_empty()).then_some(note),
        });
        Ok((Session { config, options, resolved, venv, cb, run, _lock: lock }, agent))
    }

    /// This run as a member of the batch that trains it.
    pub(crate) fn member(&mut self) -> algos::Member<'_> {
        algos::Member { venv: &mut self.venv, seed: self.config.experiment.seed, callback: &mut self.cb }
    }

    /// After training returned: final evaluation and model, video, run_info.json, `Finished`.
    pub(crate) fn finish(self, agent: &dyn algos::AgentView, trained: Result<(), String>) -> Result<RunSummary, RunError> {
        let Session { config, options, resolved, mut cb, run, _lock, .. } = self;
        if let Err(e) = trained {
            cb.ctx.error.get_or_insert(e);
        }
        let stopped = options.stop.load(Ordering::SeqCst);
        cb.on_training_end(agent);
        let ctx = cb.ctx;
        let status = if ctx.error.is_some() {
            RunStatus::Failed
        } else if stopped {
            RunStatus::Stopped
        } else {
            RunStatus::Completed
        };
        let timesteps = agent.num_timesteps();
        let wall_secs = ctx.wall_secs();
        let train_secs = wall_secs - ctx.eval_secs;
        let error = ctx.error.clone();
        let evaluations = ctx.eval.evaluations;
        let best = ctx.eval.best_mean_reward;
        let mut logger = ctx.logger;
        if status != RunStatus::Failed && config.experiment.video_episodes > 0 {
            options.send(RunEvent::Note {
                message: format!(
                    "recording {} evaluation episode(s) to {}",
                    config.experiment.video_episodes,
                    run.evaluation_video().display()
                ),
            });
            if let Err(e) = record_run_video(&run, config.experiment.video_episodes, None, &mut |_, _| {}) {
                let msg = format!("videos/evaluation.mp4 was not written: {e}");
                options.send(RunEvent::Note { message: format!("warning: {msg}") });
                logger.info_mut().warnings.push(msg);
            }
        }
        logger.info_mut().timesteps_done = timesteps;
        logger.info_mut().train_secs = Some(train_secs);
        logger.info_mut().best_eval_mean_reward = best;
        logger.finish(status, error.clone())?;
        options.send(RunEvent::Finished { status, run_dir: run.root.clone() });
        if let (RunStatus::Failed, Some(e)) = (status, error) {
            return Err(RunError::Training(format!("{e} (run directory {} records it)", run.root.display())));
        }
        Ok(RunSummary {
            run_dir: run,
            status,
            timesteps,
            wall_secs,
            train_secs,
            evaluations,
            best_mean_reward: best,
            device: resolved.description,
        })
    }
}

/// Records a run that could not start training as failed, with `message`.
/// A new run that cannot even record that is removed (`fresh`), so a failed
/// start-up leaves either nothing or a run that lists as failed.
fn fail_before_training(logger: Logger, message: String, fresh: bool) -> RunError {
    let run = logger.run_dir().clone();
    match logger.finish(RunStatus::Failed, Some(message.clone())) {
        Ok(_) => RunError::Training(format!("{message} (run directory {} records it)", run.root.display())),
        Err(e) if fresh => RunError::Training(format!("{message}; run_info.json could not record it either: {}", run.discard_new(e))),
        Err(e) => RunError::Training(format!("{message}; run_info.json could not record it either: {e}")),
    }
}

/// The GPU adapter `experiment.device=gpu` would use, e.g. "NVIDIA H100 80GB HBM3",
/// with " [software]" for a CPU rasterizer; or why there is none. Lists the adapters
/// without opening one (no compute device, no threads left behind); slow the first
/// time (the driver loads): call it off the UI thread.
pub fn detect_gpu() -> Result<String, String> {
    let (name, physical) = device::default_adapter()?;
    Ok(device::adapter_label(&name, physical))
}

/// Stops the default GPU's compute server threads once no training uses it: burn keeps
/// them, polling, for the life of the process. Blocks until they end (call it off the UI
/// thread); a later GPU training starts new ones.
pub fn release_gpu() {
    device::release(&burn::tensor::Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
}

/// Loads a saved model's policy on the CPU.
pub fn load_policy(model: &SavedModel) -> Result<algos::Policy, String> {
    let name = &model.metadata.policy_network;
    let weights = model.network(name).ok_or_else(|| format!("model has no network '{name}'"))?;
    let head = model.metadata.policy_head;
    let mut policy = algos::Policy::from_weights(weights, head, &device::cpu().device)?
        .with_action_space(&model.metadata.action_space())
        .with_obs_norm(model.metadata.obs_normalization.clone());
    if let Some(log_std) = model.network("log_std").filter(|_| head != algos::PolicyHead::QValues) {
        policy = policy.with_log_std(log_std);
    }
    if head == algos::PolicyHead::TanhSquashed {
        // A gSDE actor (with its log_std network) clips its mean before the tanh, as SB3's SAC.
        let clip = model.network("log_std").map(|_| algos::sac::SDE_MEAN_CLIP as f32);
        let q_nets: Vec<&algos::nets::MlpWeights> = ["qf0", "qf1"].iter().filter_map(|n| model.network(n)).collect();
        policy = policy.with_mean_clip(clip).with_q_nets(&q_nets)?;
    }
    match model.network("critic") {
        Some(c) if head != algos::PolicyHead::QValues => policy.with_critic(c),
        _ => Ok(policy),
    }
}

/// Records `n_episodes` of a run's best model (final model if no best) into
/// `out` (default `videos/evaluation.mp4`) and `logs/eval_episodes.jsonl`.
/// Refused while another process writes into the run (it is still training).
pub fn write_run_video(
    run: &RunDir,
    n_episodes: usize,
    out: Option<&std::path::Path>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<replay::VideoStats, String> {
    let _lock = run.lock("video export").map_err(|e| e.to_string())?;
    record_run_video(run, n_episodes, out, progress)
}

/// [`write_run_video`] for a caller that holds the run's lock.
fn record_run_video(
    run: &RunDir,
    n_episodes: usize,
    out: Option<&std::path::Path>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<replay::VideoStats, String> {
    if n_episodes == 0 {
        return Err("--episodes must be at least 1".into());
    }
    let (model, model_path, note) = run.load_preferred_model()?;
    let policy = load_policy(&model).map_err(|e| format!("{}: {e}", model_path.display()))?;
    let config = &model.metadata.config;
    let mut env = config.env.make().map_err(|e| e.to_string())?;
    let seed = config.experiment.seed.wrapping_add(EVAL_SEED_OFFSET);
    let episodes = replay::record_episodes(&policy, env.as_mut(), n_episodes, seed)?;
    let out = out.map(|p| p.to_path_buf()).unwrap_or_else(|| run.evaluation_video());
    let mut stats = replay::write_episodes_video(&episodes, &out, replay::episodes_fps(&episodes), progress)?;
    stats.notes.extend(note);
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
