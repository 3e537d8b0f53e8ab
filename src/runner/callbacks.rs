//! The runner's callbacks, SB3-style: small pieces combined in a list, each
//! with one concern (stopping, evaluation + best model, progress events,
//! metrics logging). They share a [`RunContext`]: the run's logger, options,
//! clock, evaluation history and first error. A new concern (a TensorBoard
//! writer) is one more [`RunCallback`] in the list.
//!
//! A stop (flag or stop file) lets every callback finish the current step,
//! so its evaluation (if due) and its checkpoint happen, then training ends.

use super::{EVAL_SEED_OFFSET, EvalRecord, RunEvent, RunOptions, evaluate_batched, replay};
use crate::algos::{AgentView, Callback, Control, Metrics};
use crate::config::Config;
use crate::envs::Env;
use crate::runs::model_file::{ModelMetadata, NetworkInfo};
use crate::runs::{Logger, SavedModel, unix_now_secs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What every callback of one run shares.
pub struct RunContext<'a> {
    pub config: &'a Config,
    pub options: &'a RunOptions,
    pub logger: Logger,
    /// Observation bounds and action space, written into every saved model.
    pub obs_low: Vec<f32>,
    pub obs_high: Vec<f32>,
    pub action_space: crate::envs::ActionSpace,
    pub started: Instant,
    /// Wall seconds spent evaluating and saving best models (not training).
    pub eval_secs: f64,
    /// Evaluations so far and the schedule (shared, so a checkpoint captures it).
    pub eval: super::EvalState,
    /// Latest `rollout/ep_rew_mean`, for progress reports.
    pub last_mean_reward: Option<f64>,
    /// The first error; once set, training stops and the run is marked failed.
    pub error: Option<String>,
    /// A stop was asked for: this step's callbacks still run, then training ends.
    pub stopping: bool,
    /// The rows monitor.csv holds (when it is written), for the checkpoint.
    pub monitor_rows: Option<crate::runs::row_log::RowDigest>,
}

impl RunContext<'_> {
    /// Sends an event to the CLI/GUI and wakes it.
    pub fn send(&self, event: RunEvent) {
        self.options.send(event);
    }

    pub fn wall_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The agent as a model file, with the run's metadata. Non-finite weights
    /// are refused, so a diverged network never overwrites a good model file.
    pub fn saved_model(&self, agent: &dyn AgentView, eval: Option<(f64, f64)>) -> Result<SavedModel, String> {
        let networks = agent.networks()?;
        for (name, w) in &networks {
            if w.layers.iter().any(|l| l.weight.iter().chain(&l.bias).any(|v| !v.is_finite())) {
                return Err(format!(
                    "the weights of network '{name}' are NaN or infinite at step {}: training diverged, so no model was written over the saved ones; {}",
                    agent.num_timesteps(),
                    DIVERGED_HINT
                ));
            }
        }
        let policy_network = networks.first().map(|(n, _)| n.clone()).unwrap_or_default();
        let obs_normalization = agent.policy().obs_norm;
        let metadata = ModelMetadata {
            format_version: ModelMetadata::format_for(&self.action_space, obs_normalization.is_some(), agent.policy_head()),
            obs_normalization,
            crate_version: env!("CARGO_PKG_VERSION").into(),
            algorithm: self.config.algorithm.name().into(),
            env_id: self.config.env.id.clone(),
            obs_dim: self.obs_low.len(),
            obs_low: self.obs_low.clone(),
            obs_high: self.obs_high.clone(),
            n_actions: self.action_space.policy_outputs(),
            action_space: (self.action_space.kind() == crate::envs::ActionKind::Box).then(|| self.action_space.clone()),
            policy_network,
            policy_head: agent.policy_head(),
            networks: networks
                .iter()
                .map(|(n, w)| NetworkInfo { name: n.clone(), sizes: w.sizes.clone(), activation: w.activation })
                .collect(),
            timesteps: agent.num_timesteps(),
            eval_mean_reward: eval.map(|e| e.0),
            eval_std_reward: eval.map(|e| e.1),
            saved_at_unix_secs: unix_now_secs(),
            config: self.config.clone(),
        };
        Ok(SavedModel { metadata, networks })
    }
}

/// One concern of a run, called by the training loop through [`CallbackList`].
pub trait RunCallback {
    /// After every vectorized env step; `Stop` ends training after this step.
    fn on_step(&mut self, _ctx: &mut RunContext, _agent: &dyn AgentView, _num_timesteps: u64) -> Control {
        Control::Continue
    }
    /// After every gradient update phase, with its metrics.
    fn on_update(&mut self, _ctx: &mut RunContext, _metrics: &Metrics) {}
    /// Once training has returned (completed, stopped or failed).
    fn on_training_end(&mut self, _ctx: &mut RunContext, _agent: &dyn AgentView) {}
}

/// The callbacks of a run in order, with their shared context.
pub struct CallbackList<'a> {
    pub ctx: RunContext<'a>,
    pub callbacks: Vec<Box<dyn RunCallback + 'a>>,
}

impl CallbackList<'_> {
    pub fn on_training_end(&mut self, agent: &dyn AgentView) {
        for cb in &mut self.callbacks {
            cb.on_training_end(&mut self.ctx, agent);
        }
    }
}

impl Callback for CallbackList<'_> {
    fn on_step(&mut self, agent: &dyn AgentView, num_timesteps: u64) -> Control {
        if self.ctx.error.is_some() {
            return Control::Stop;
        }
        for cb in &mut self.callbacks {
            if cb.on_step(&mut self.ctx, agent, num_timesteps) == Control::Stop {
                return Control::Stop;
            }
        }
        if self.ctx.stopping { Control::Stop } else { Control::Continue }
    }

    fn on_update(&mut self, metrics: &Metrics) {
        for cb in &mut self.callbacks {
            cb.on_update(&mut self.ctx, metrics);
        }
    }
}

/// The run's error when writing `path` failed (a full disk, most often).
pub(crate) fn write_failed(path: &std::path::Path, e: impl std::fmt::Display) -> String {
    format!("writing {}: {e}; {DISK_HINT}", path.display())
}

/// A failed `log_metrics` (its error names metrics.csv or the event file).
pub(crate) fn log_failed(e: impl std::fmt::Display) -> String {
    format!("{e}; {DISK_HINT}")
}

const DISK_HINT: &str = "free disk space, or set experiment.runs_dir to a writable disk";

/// What to try when training diverges.
pub(crate) const DIVERGED_HINT: &str = "lower algorithm.params.learning_rate (or max_grad_norm) and run again";

/// Fails the run as soon as an update's loss (or any other training metric)
/// is NaN or infinite, naming the metric and the step; the last good
/// best_model.zip stays as it is. (`train/explained_variance` is NaN by
/// definition when the returns are constant, so it is not checked.)
pub struct NanGuardCallback;

impl RunCallback for NanGuardCallback {
    fn on_update(&mut self, ctx: &mut RunContext, metrics: &Metrics) {
        if ctx.error.is_some() {
            return;
        }
        let bad = metrics.0.iter().find(|(name, v)| name.starts_with("train/") && name != "train/explained_variance" && !v.is_finite());
        if let Some((name, v)) = bad {
            let t = metrics.get("time/total_timesteps").unwrap_or(f64::NAN);
            ctx.error = Some(format!("{name} became {v} at step {t}: training diverged; {DIVERGED_HINT}"));
        }
    }
}

/// Stops on the stop flag (Ctrl-C, SIGTERM, the Stop button) or once the run's
/// stop file appears (a sweep's pruner, a scheduler), checked every 250 ms.
/// First in the list: it marks the step as the last, the others finish it.
pub struct StopCallback {
    pub stop: Arc<AtomicBool>,
    pub stop_file: PathBuf,
    pub last_check: Instant,
}

impl RunCallback for StopCallback {
    fn on_step(&mut self, ctx: &mut RunContext, _agent: &dyn AgentView, _t: u64) -> Control {
        if self.stop.load(Ordering::Relaxed) {
            ctx.stopping = true;
        } else if self.last_check.elapsed() >= Duration::from_millis(250) {
            self.last_check = Instant::now();
            if self.stop_file.exists() {
                self.stop.store(true, Ordering::SeqCst);
                ctx.stopping = true;
            }
        }
        Control::Continue
    }
}

/// SB3's EvalCallback: greedy evaluation every `eval_freq` env steps, saving
/// `best_model.zip` whenever the mean return improves; at the end a final
/// evaluation (so best_model.zip always exists) and `final_model.zip`.
pub struct EvalCallback {
    pub eval_envs: Vec<Box<dyn Env>>,
}

impl EvalCallback {
    fn evaluate(&mut self, ctx: &mut RunContext, agent: &dyn AgentView, timesteps: u64) -> Result<(), String> {
        let t0 = Instant::now();
        let policy = agent.policy();
        let seed = ctx.config.experiment.seed.wrapping_add(EVAL_SEED_OFFSET);
        let result = evaluate_batched(&policy, &mut self.eval_envs, seed)?;
        let (mean, std) = result.mean_std();
        let new_best = ctx.eval.best_mean_reward.is_none_or(|b| mean > b);
        ctx.logger
            .log_metrics(
                timesteps,
                &[
                    ("eval/mean_reward", mean),
                    ("eval/std_reward", std),
                    ("eval/mean_ep_length", result.mean_length()),
                    ("eval/best_mean_reward", ctx.eval.best_mean_reward.map_or(mean, |b| b.max(mean))),
                ],
            )
            .map_err(log_failed)?;
        if new_best {
            ctx.eval.best_mean_reward = Some(mean);
            let model = ctx.saved_model(agent, Some((mean, std)))?;
            ctx.logger.save_model("best_model", &model).map_err(|e| format!("saving best_model.zip: {e}"))?;
            ctx.logger.info_mut().best_eval_mean_reward = Some(mean);
        }
        ctx.logger.info_mut().timesteps_done = timesteps;
        ctx.logger.update_info().map_err(|e| e.to_string())?;
        ctx.eval.last_eval_at = Some(timesteps);
        let wall_secs = ctx.wall_secs();
        ctx.eval.evaluations.push(EvalRecord { timesteps, wall_secs, mean_reward: mean, std_reward: std });
        ctx.send(RunEvent::Evaluated { timesteps, wall_secs, mean_reward: mean, std_reward: std, new_best });
        if ctx.options.live_episodes && ctx.options.events.is_some() {
            if let Some(env) = self.eval_envs.first_mut() {
                // One greedy episode with frames; a failure here only costs the live view.
                if let Ok(mut eps) = replay::record_episodes(&policy, env.as_mut(), 1, seed) {
                    if let Some(episode) = eps.pop() {
                        ctx.send(RunEvent::EvalEpisode { timesteps, episode: Box::new(episode) });
                    }
                }
            }
        }
        ctx.eval_secs += t0.elapsed().as_secs_f64();
        Ok(())
    }
}

impl RunCallback for EvalCallback {
    fn on_step(&mut self, ctx: &mut RunContext, agent: &dyn AgentView, num_timesteps: u64) -> Control {
        let eval_freq = ctx.config.experiment.eval_freq;
        if eval_freq > 0 && num_timesteps >= ctx.eval.next_eval_at {
            ctx.eval.next_eval_at = next_multiple(num_timesteps, eval_freq);
            if let Err(e) = self.evaluate(ctx, agent, num_timesteps) {
                ctx.error = Some(e);
                return Control::Stop;
            }
        }
        Control::Continue
    }

    fn on_training_end(&mut self, ctx: &mut RunContext, agent: &dyn AgentView) {
        let t = agent.num_timesteps();
        if ctx.error.is_none() && ctx.eval.last_eval_at != Some(t) && t > 0 {
            if let Err(e) = self.evaluate(ctx, agent, t) {
                ctx.error = Some(e);
            }
        }
        if ctx.error.is_none() {
            let last = ctx.eval.evaluations.last().map(|e| (e.mean_reward, e.std_reward));
            match ctx.saved_model(agent, last) {
                Ok(m) => {
                    if let Err(e) = ctx.logger.save_model("final_model", &m) {
                        ctx.error = Some(format!("saving final_model.zip: {e}"));
                    }
                }
                Err(e) => ctx.error = Some(e),
            }
        }
    }
}

/// The first multiple of `every` after `t`: when the next periodic event is due.
pub fn next_multiple(t: u64, every: u64) -> u64 {
    (t / every.max(1)).saturating_add(1).saturating_mul(every.max(1))
}

/// `RunEvent::Progress` at most every 100 ms (the CLI's bar, the GUI's line).
pub struct ProgressCallback {
    pub last_sent: Instant,
}

impl RunCallback for ProgressCallback {
    fn on_step(&mut self, ctx: &mut RunContext, _agent: &dyn AgentView, num_timesteps: u64) -> Control {
        if ctx.options.events.is_some() && self.last_sent.elapsed() >= Duration::from_millis(100) {
            self.last_sent = Instant::now();
            let secs = ctx.wall_secs().max(1e-9);
            ctx.send(RunEvent::Progress {
                timesteps: num_timesteps,
                total_timesteps: ctx.config.experiment.total_timesteps,
                steps_per_sec: num_timesteps as f64 / secs,
                mean_reward: ctx.last_mean_reward,
            });
        }
        Control::Continue
    }
}

/// Each update's metrics (plus `time/fps`) into metrics.csv and as
/// `RunEvent::Metrics`; run_info.json's progress refreshed every 2 s, so the
/// runs browser of another process sees the run advance.
pub struct MetricsCallback {
    pub last_update_at: (Instant, u64),
    pub last_info_write: Instant,
}

impl RunCallback for MetricsCallback {
    fn on_update(&mut self, ctx: &mut RunContext, metrics: &Metrics) {
        let t = metrics.get("time/total_timesteps").unwrap_or(0.0) as u64;
        let (t_prev_instant, t_prev) = self.last_update_at;
        let dt = t_prev_instant.elapsed().as_secs_f64().max(1e-9);
        let fps = (t.saturating_sub(t_prev)) as f64 / dt;
        self.last_update_at = (Instant::now(), t);
        if let Some(r) = metrics.get("rollout/ep_rew_mean") {
            ctx.last_mean_reward = Some(r);
        }
        if self.last_info_write.elapsed() >= Duration::from_secs(2) {
            self.last_info_write = Instant::now();
            let wall = ctx.wall_secs();
            ctx.logger.info_mut().timesteps_done = t;
            ctx.logger.info_mut().wall_secs = Some(wall);
            // Best effort: a failed progress write is retried at the next update.
            let _ = ctx.logger.update_info();
        }
        let mut rows = metrics.0.clone();
        rows.push(("time/fps".into(), fps.round()));
        if let Err(e) = ctx.logger.log_metrics(t, &rows) {
            ctx.error = Some(log_failed(e));
        }
        ctx.send(RunEvent::Metrics { timesteps: t, wall_secs: ctx.wall_secs(), metrics: rows });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::{RunDir, RunInfo, RunStatus};

    fn context<'a>(config: &'a Config, options: &'a RunOptions, run: &RunDir) -> RunContext<'a> {
        let info = RunInfo {
            status: RunStatus::Running,
            name: run.name(),
            algorithm: "ppo".into(),
            env_id: crate::envs::DEFAULT_ENV_ID.into(),
            seed: 0,
            started_at_unix_secs: 0,
            finished_at_unix_secs: None,
            wall_secs: None,
            train_secs: None,
            total_timesteps: 0,
            timesteps_done: 0,
            best_eval_mean_reward: None,
            error: None,
            warnings: Vec::new(),
            environment: crate::runs::sysinfo::EnvironmentInfo::collect("cpu", 0),
            pid: None,
            host: None,
            start_ticks: None,
            forked_from: None,
            resumed: Vec::new(),
            tags: Vec::new(),
            notes: String::new(),
            cleaned: Vec::new(),
        };
        let logger = Logger::create(run, info).unwrap();
        RunContext {
            config,
            options,
            logger,
            obs_low: vec![],
            obs_high: vec![],
            action_space: crate::envs::ActionSpace::discrete(2, &[]),
            started: Instant::now(),
            eval_secs: 0.0,
            eval: Default::default(),
            last_mean_reward: None,
            error: None,
            stopping: false,
            monitor_rows: None,
        }
    }

    /// Counts its calls, to see which callbacks the list reached.
    struct Count(Arc<std::sync::atomic::AtomicUsize>);
    impl RunCallback for Count {
        fn on_step(&mut self, _: &mut RunContext, _: &dyn AgentView, _: u64) -> Control {
            self.0.fetch_add(1, Ordering::SeqCst);
            Control::Continue
        }
    }

    #[test]
    fn stop_flag_and_stop_file_end_training_after_this_steps_callbacks_errors_before() {
        let dir = std::env::temp_dir().join(format!("rl-research-callbacks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = RunDir::create_unique(&dir, "run").unwrap();
        let (config, options) = (Config::default(), RunOptions::default());
        let batch =
            crate::algos::make_agent(&config.algorithm, 4, &crate::envs::ActionSpace::discrete(2, &[]), 0, &burn::tensor::Device::flex())
                .unwrap();
        let agent = batch.view(0);
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop =
            StopCallback { stop: options.stop.clone(), stop_file: run.stop_file(), last_check: Instant::now() - Duration::from_secs(1) };
        let mut list =
            CallbackList { ctx: context(&config, &options, &run), callbacks: vec![Box::new(stop), Box::new(Count(calls.clone()))] };

        assert_eq!(list.on_step(agent.as_ref(), 8), Control::Continue);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The stop file (a pruner in another process) stops the run and sets the flag;
        // the step's other callbacks (evaluation, checkpoint) still run.
        std::fs::write(run.stop_file(), "").unwrap();
        std::thread::sleep(Duration::from_millis(300)); // the file is looked for every 250 ms
        assert_eq!(list.on_step(agent.as_ref(), 16), Control::Stop);
        assert!(options.stop.load(Ordering::SeqCst));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the stopping step is finished by every callback");
        // An error recorded by any callback stops the run at once.
        options.stop.store(false, Ordering::SeqCst);
        list.ctx.stopping = false;
        std::fs::remove_file(run.stop_file()).unwrap();
        list.ctx.error = Some("disk full".into());
        assert_eq!(list.on_step(agent.as_ref(), 24), Control::Stop);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
