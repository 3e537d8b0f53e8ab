//! Checkpoints of a run, and what resume and fork start from.
//!
//! A checkpoint is taken inside `on_step`, once the step is fully recorded:
//! the agent's and envs' complete state ([`TrainingState`]) plus what the
//! runner needs to carry on (evaluation history and schedule, best model,
//! clocks, the metrics.csv length). Resuming from it continues bit for bit
//! as if the run had never stopped (CPU; the tests check it).

use super::callbacks::{DIVERGED_HINT, RunCallback, RunContext, next_multiple};
use crate::algos::{AgentView, Control, TrainingState};
use crate::config::Config;
use crate::runs::checkpoint_file::{prune_checkpoints, read_checkpoint, write_checkpoint};
use crate::runs::row_log::RowDigest;
use crate::runs::{RunDir, unix_now_secs};
use serde::{Deserialize, Serialize};
use std::time::Instant;

pub const CHECKPOINT_FORMAT_VERSION: u32 = 1;

/// What a checkpoint file holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format_version: u32,
    pub crate_version: String,
    pub timesteps: u64,
    /// The run's resolved config as JSON (exact floats), the base of a resume or fork.
    pub config_json: String,
    pub saved_at_unix_secs: u64,
    /// The run's wall seconds so far, and of those the ones not spent training.
    pub wall_secs: f64,
    pub eval_secs: f64,
    /// metrics.csv's length at this step: a resume truncates the file to it,
    /// so no row is ever duplicated.
    pub metrics_csv_len: u64,
    /// monitor.csv's length at this step, if written.
    #[serde(default)]
    pub monitor_csv_len: Option<u64>,
    /// The rows of metrics.csv and monitor.csv at this step: a resume keeps
    /// exactly these rows, found by content (absent in older checkpoints,
    /// which are cut by length where the file is unedited).
    #[serde(default)]
    pub metrics_rows: Option<RowDigest>,
    #[serde(default)]
    pub monitor_rows: Option<RowDigest>,
    /// The run's evaluations and schedule (its fields sit at the top level, as before).
    #[serde(flatten)]
    pub eval: super::EvalState,
    pub last_mean_reward: Option<f64>,
    /// best_model.zip as it was at this step (a stop's final evaluation may
    /// replace the file; a resume puts this one back).
    pub best_model_zip: Option<Vec<u8>>,
    pub training: TrainingState,
}

impl Checkpoint {
    pub fn config(&self) -> Result<Config, String> {
        let config: Config = serde_json::from_str(&self.config_json).map_err(|e| format!("the checkpoint's config does not parse: {e}"))?;
        config.validate().map_err(|e| format!("the checkpoint's config is invalid: {e}"))?;
        Ok(config)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        rmp_serde::to_vec_named(self).map_err(|e| format!("encoding the checkpoint: {e}"))
    }

    /// Reads and checks a checkpoint file (framing, checksum, format version).
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let payload = read_checkpoint(path)?;
        let ckpt: Checkpoint = rmp_serde::from_slice(&payload).map_err(|e| format!("{} does not decode: {e}", path.display()))?;
        if ckpt.format_version != CHECKPOINT_FORMAT_VERSION {
            return Err(format!(
                "{} is checkpoint format {}, this build reads format {CHECKPOINT_FORMAT_VERSION} (written by rl-research {})",
                path.display(),
                ckpt.format_version,
                ckpt.crate_version
            ));
        }
        if ckpt.training.agent.networks.is_empty() || !ckpt.wall_secs.is_finite() || ckpt.wall_secs < 0.0 || !ckpt.eval_secs.is_finite() {
            return Err(format!("{} holds an incomplete checkpoint", path.display()));
        }
        Ok(ckpt)
    }
}

/// Writes `checkpoints/step_<n>.ckpt` every `every` steps (0: never
/// periodically), on the step a stop was asked for, and at the last step;
/// keeps the newest `keep`. Runs after the evaluation of the same step, so
/// the checkpoint includes it. The state is taken on the training thread;
/// encoding, writing and fsync happen on a writer thread (one at a time),
/// whose error fails the run at the next step or at the end.
pub struct CheckpointCallback {
    pub every: u64,
    pub next_at: u64,
    pub keep: usize,
    pub with_replay_buffer: bool,
    pub last_written: Option<u64>,
    writer: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl CheckpointCallback {
    /// Periodic checkpoints due after step `t` (a fresh run has `t` = 0).
    pub fn new(config: &Config, t: u64) -> Self {
        let e = &config.experiment;
        let every = e.checkpoint_freq.unwrap_or(e.eval_freq);
        Self {
            every,
            next_at: next_multiple(t, every),
            keep: e.keep_checkpoints,
            with_replay_buffer: e.checkpoint_replay_buffer,
            last_written: Some(t).filter(|&t| t > 0),
            writer: None,
        }
    }

    /// Waits for the checkpoint being written, if any; its error, if it failed.
    fn finish_write(&mut self) -> Result<(), String> {
        match self.writer.take() {
            Some(h) => h.join().map_err(|_| "the checkpoint writer thread crashed".to_string())?,
            None => Ok(()),
        }
    }

    fn write(&mut self, ctx: &mut RunContext, agent: &dyn AgentView, t: u64) -> Result<(), String> {
        self.finish_write()?;
        let run = ctx.logger.run_dir().clone();
        let best_model_zip = match std::fs::read(run.best_model()) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("reading {} for the checkpoint: {e}", run.best_model().display())),
        };
        let training = agent.checkpoint(self.with_replay_buffer)?;
        for n in &training.agent.networks {
            if n.weights.layers.iter().any(|l| l.weight.iter().chain(&l.bias).any(|v| !v.is_finite())) {
                return Err(format!(
                    "the weights of network '{}' are NaN or infinite at step {t}: training diverged, so no checkpoint was written over the saved ones; {DIVERGED_HINT}",
                    n.name
                ));
            }
        }
        let metrics_csv_len = ctx.logger.metrics_len().map_err(|e| format!("checkpoint at step {t}: {e}"))?;
        let ckpt = Checkpoint {
            format_version: CHECKPOINT_FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").into(),
            timesteps: t,
            config_json: serde_json::to_string(ctx.config).map_err(|e| format!("encoding the config: {e}"))?,
            saved_at_unix_secs: unix_now_secs(),
            wall_secs: ctx.wall_secs(),
            eval_secs: ctx.eval_secs,
            metrics_csv_len,
            monitor_csv_len: std::fs::metadata(run.monitor_csv()).ok().map(|m| m.len()),
            metrics_rows: Some(ctx.logger.metrics_rows()),
            monitor_rows: ctx.monitor_rows,
            eval: ctx.eval.clone(),
            last_mean_reward: ctx.last_mean_reward,
            best_model_zip,
            training,
        };
        let keep = self.keep;
        let write = move || -> Result<(), String> {
            write_checkpoint(&run.checkpoint_path(t), &ckpt.to_bytes()?).map_err(|e| {
                format!("{e}; the previous checkpoints are intact (free disk space, or set experiment.runs_dir to a writable disk)")
            })?;
            prune_checkpoints(&run, keep).map_err(|e| format!("removing old checkpoints in {}: {e}", run.checkpoints_dir().display()))
        };
        let handle = std::thread::Builder::new().name("checkpoint-writer".into()).spawn(write);
        self.writer = Some(handle.map_err(|e| format!("cannot start the checkpoint writer thread: {e}"))?);
        Ok(())
    }
}

impl RunCallback for CheckpointCallback {
    fn on_step(&mut self, ctx: &mut RunContext, agent: &dyn AgentView, t: u64) -> Control {
        if ctx.error.is_some() {
            return Control::Stop;
        }
        if self.writer.as_ref().is_some_and(|h| h.is_finished()) {
            if let Err(e) = self.finish_write() {
                ctx.error = Some(e);
                return Control::Stop;
            }
        }
        let periodic = self.every > 0 && t >= self.next_at;
        if periodic {
            self.next_at = next_multiple(t, self.every);
        }
        // The first step at or past the budget (a PPO rollout may run past it).
        let total = ctx.config.experiment.total_timesteps;
        let last = t >= total && self.last_written.is_none_or(|w| w < total);
        if (periodic || ctx.stopping || last) && self.last_written != Some(t) {
            let t0 = Instant::now();
            if let Err(e) = self.write(ctx, agent, t) {
                ctx.error = Some(e);
                return Control::Stop;
            }
            self.last_written = Some(t);
            ctx.eval_secs += t0.elapsed().as_secs_f64();
        }
        Control::Continue
    }

    /// The last checkpoint is complete on disk before the run records its end.
    fn on_training_end(&mut self, ctx: &mut RunContext, _agent: &dyn AgentView) {
        if let Err(e) = self.finish_write() {
            ctx.error.get_or_insert(e);
        }
    }
}

/// Cuts metrics.csv and monitor.csv back to the rows `ckpt` recorded, found
/// by content; both are checked before either is changed. Returns notes for
/// the user (an edited file kept beside the run's own, a missing one).
/// A file whose rows no longer match is wrong input; a failed write is not.
pub fn cut_logs(run: &RunDir, ckpt: &Checkpoint) -> Result<Vec<String>, super::RunError> {
    use super::RunError;
    use crate::runs::row_log::{plan_cut, plan_length_cut};
    let step = ckpt.timesteps;
    let logs = [
        (run.metrics_csv(), &crate::runs::logger::METRICS_FORMAT, ckpt.metrics_rows, Some(ckpt.metrics_csv_len)),
        (run.monitor_csv(), &super::monitor::MONITOR_FORMAT, ckpt.monitor_rows, ckpt.monitor_csv_len),
    ];
    let mut plans = Vec::new();
    let mut notes = Vec::new();
    for (path, format, rows, len) in logs {
        if !path.exists() {
            if rows.is_some() || len.is_some_and(|l| l > 0) {
                notes.push(format!("note: {} is missing: a new one starts at step {step}, without the rows before it", path.display()));
            }
            continue;
        }
        let plan = match (rows, len) {
            (Some(rows), _) => plan_cut(&path, format, &rows, step),
            (None, Some(len)) => plan_length_cut(&path, len),
            (None, None) => continue,
        };
        plans.push((path, rows, plan.map_err(RunError::Input)?));
    }
    for (path, rows, plan) in plans {
        let report = plan.apply().map_err(|e| RunError::Io(std::io::Error::other(e)))?;
        if let Some(copy) = report.kept_copy {
            let n = rows.map_or(0, |r| r.rows);
            notes.push(format!(
                "note: {} was edited since the checkpoint: its {n} rows up to step {step} are kept, written back as the run writes them; your version is kept as {}",
                path.display(),
                copy.display()
            ));
        }
    }
    Ok(notes)
}

/// Config keys outside `algorithm.params` a fork may not change, and why
/// (the algorithm's own come from its descriptor's shape keys).
const FIXED_IN_FORK: &[(&str, &str)] = &[
    ("env.", "the envs continue from the checkpoint's state"),
    ("algorithm.name", "the checkpoint holds this algorithm's state"),
    ("experiment.seed", "the generators continue from the checkpoint; start a new run for another seed"),
];

/// Why a fork may not change `key`, if it may not.
fn fixed_in_fork(config: &Config, key: &str) -> Option<&'static str> {
    if let Some(param) = key.strip_prefix("algorithm.params.") {
        return match config.algorithm.spec().role(param) {
            Some(crate::config::algorithms::KeyRole::Shape(why)) => Some(why),
            _ => None,
        };
    }
    FIXED_IN_FORK.iter().find(|(k, _)| if k.ends_with('.') { key.starts_with(k) } else { key == *k }).map(|(_, why)| *why)
}

/// Refuses a fork's config when it changes a key that cannot change mid-run,
/// naming the key.
pub fn check_fork_config(parent: &Config, fork: &Config) -> Result<(), String> {
    let (a, b) = (serde_json::to_value(parent).unwrap_or_default(), serde_json::to_value(fork).unwrap_or_default());
    if parent.algorithm.name() != fork.algorithm.name() {
        return Err(format!(
            "algorithm.name cannot change in a fork ({} -> {}): the checkpoint holds this algorithm's state",
            parent.algorithm.name(),
            fork.algorithm.name()
        ));
    }
    // Both configs' keys: an env parameter set in one may be unset in the other.
    let mut keys = crate::config::overrides::all_keys(parent);
    keys.extend(crate::config::overrides::all_keys(fork));
    keys.sort();
    keys.dedup();
    for key in keys {
        let Some(why) = fixed_in_fork(fork, &key) else { continue };
        let get = |v: &serde_json::Value| key.split('.').try_fold(v, |t, k| t.get(k)).cloned();
        let (old, new) = (get(&a), get(&b));
        if old != new {
            let show = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_else(|| "unset".into());
            return Err(format!("{key} cannot change in a fork ({} -> {}): {why}", show(old), show(new)));
        }
    }
    Ok(())
}

/// Reads the newest checkpoint of `run` that loads, saying which were skipped and why.
pub fn latest_checkpoint(run: &RunDir, notes: &mut Vec<String>) -> Result<Checkpoint, String> {
    let all = run.checkpoints();
    if all.is_empty() {
        return Err(run.find_checkpoint(None).err().unwrap_or_default());
    }
    let mut errors = Vec::new();
    for c in all.iter().rev() {
        match Checkpoint::load(&c.path) {
            Ok(ckpt) => {
                if !errors.is_empty() {
                    notes.push(format!("skipped damaged checkpoints: {}", errors.join("; ")));
                }
                return Ok(ckpt);
            }
            Err(e) => errors.push(e),
        }
    }
    Err(format!("no checkpoint of {} could be read: {}", run.root.display(), errors.join("; ")))
}
