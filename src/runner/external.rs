//! Runs whose training loop is the caller's own (the Python package's
//! `ExperimentLogger` around a PyTorch or JAX loop): the standard run
//! directory, lock, config.yaml, run_info.json and TensorBoard file, with the
//! metrics and models the caller logs, so such runs show in the runs browser
//! like any other.

use super::{RunError, create_run_dir, environment, monitor, new_run_info};
use crate::config::Config;
use crate::runs::{Logger, RunDir, RunInfo, RunLock, RunStatus};

/// A run being written by someone else's training loop.
pub struct ExternalRun {
    pub logger: Logger,
    /// Held until the run is finished: one writer per run directory.
    _lock: RunLock,
}

impl ExternalRun {
    /// Creates `runs_dir/<experiment.name>` (or `_1`, …). `env_id` names the
    /// caller's env when it is not one of ours (run_info.json's `env_id`).
    /// The config is checked key by key, not validated as a run of ours would
    /// be (the caller's env id, say, is not in our list).
    /// `algorithm` labels the run in the runs browser ("custom" when the
    /// caller's config does not name one of ours).
    pub fn start(config: &Config, env_id: Option<&str>, algorithm: &str, command_line: Option<String>) -> Result<Self, RunError> {
        let (run, lock) = create_run_dir(config, command_line.as_deref(), "training (external loop)")?;
        let cpu = crate::algos::device::cpu();
        let mut info: RunInfo = new_run_info(&run, config, &cpu);
        info.environment = environment(&cpu, config.experiment.seed);
        info.environment.device = "the caller's own (external training loop)".into();
        if let Some(id) = env_id {
            info.env_id = id.to_string();
        }
        info.total_timesteps = 0;
        info.algorithm = algorithm.to_string();
        let mut logger = Logger::create(&run, info).map_err(|e| run.discard_new(e))?;
        if config.logging.tensorboard {
            let header = monitor::tensorboard_header(config, &logger.info_mut().environment, 0);
            let writer = crate::runs::tfevents::EventWriter::create(&run.logs_dir(), &header)?;
            logger.add_sink(Box::new(writer));
        }
        Ok(Self { logger, _lock: lock })
    }

    /// Logs `metrics` at `step`; an `eval/mean_reward` also updates the best
    /// evaluation the runs browser shows.
    pub fn log_metrics(&mut self, step: u64, metrics: &[(String, f64)]) -> std::io::Result<()> {
        self.logger.log_metrics(step, metrics)?;
        let info = self.logger.info_mut();
        info.timesteps_done = info.timesteps_done.max(step);
        if let Some((_, v)) = metrics.iter().find(|(k, v)| k == "eval/mean_reward" && v.is_finite()) {
            info.best_eval_mean_reward = Some(info.best_eval_mean_reward.map_or(*v, |b| b.max(*v)));
        }
        Ok(())
    }

    pub fn run_dir(&self) -> &RunDir {
        self.logger.run_dir()
    }

    /// Ends the run with `status` (completed, or failed with `error`).
    pub fn finish(mut self, status: RunStatus, timesteps: u64, error: Option<String>) -> Result<RunInfo, RunError> {
        self.logger.info_mut().timesteps_done = timesteps;
        self.logger.info_mut().total_timesteps = self.logger.info_mut().total_timesteps.max(timesteps);
        Ok(self.logger.finish(status, error)?)
    }
}
