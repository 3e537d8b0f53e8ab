//! What an env section makes: the registry entry, one env, several sharing a
//! worker, the training envs, and the checks that need no Python started.

use super::{ConfigError, EnvConfig, check};
use crate::envs::EnvSpec;

impl EnvConfig {
    /// The registry entry of `id` (an error lists the valid ids). A `gym:` id
    /// is probed the first time (a Python worker starts): call it off the GUI thread.
    pub fn spec(&self) -> Result<std::sync::Arc<EnvSpec>, ConfigError> {
        match self.gym_source() {
            Some(source) => crate::envs::gym::probe(&source).map(|(s, _)| s).map_err(ConfigError),
            None => crate::envs::registry::lookup(&self.id).map(|f| f.spec).map_err(ConfigError),
        }
    }

    /// The registry entry where it is known without starting anything (a
    /// `gym:` id not probed yet: None).
    pub fn known_spec(&self) -> Result<Option<std::sync::Arc<EnvSpec>>, ConfigError> {
        match self.gym_source() {
            Some(source) => crate::envs::gym::known_spec(&source).transpose().map_err(ConfigError),
            None => self.spec().map(Some),
        }
    }

    /// Where a `gym:` id's envs come from (None for the registry's own envs).
    pub fn gym_source(&self) -> Option<crate::envs::gym::GymSource> {
        let id = crate::envs::gym::gym_id(&self.id)?;
        Some(crate::envs::gym::GymSource {
            id: id.to_string(),
            python: self.python.clone(),
            kwargs: self.gym_kwargs.clone(),
            imports: self.gym_imports.clone(),
            max_episode_steps: self.max_episode_steps,
            timeout_secs: self.worker_timeout_secs,
        })
    }

    /// The env part of a config's checks: id, env count, parameters, time limit
    /// (what an env made on its own, as the Python package makes one, needs).
    /// Never starts Python: a `gym:` env's spaces are checked once probed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(self.n_envs > 0, "env.n_envs", "must be at least 1")?;
        check(self.n_envs <= 4096, "env.n_envs", format!("must be at most 4096, got {}", self.n_envs))?;
        if let Some(m) = self.max_episode_steps {
            check(m > 0, "env.max_episode_steps", "must be at least 1 (or null for the env's default)")?;
        }
        check(self.workers != Some(0), "env.workers", "must be at least 1 (or null for one per CPU core)")?;
        check(
            self.worker_timeout_secs.is_finite() && (0.1..=86_400.0).contains(&self.worker_timeout_secs),
            "env.worker_timeout_secs",
            format!("must be between 0.1 and 86400 seconds, got {}", self.worker_timeout_secs),
        )?;
        if let Some(p) = &self.python {
            check(!p.trim().is_empty(), "env.python", "is empty: give an interpreter (python3, /path/to/venv/bin/python) or null")?;
        }
        match crate::envs::gym::gym_id(&self.id) {
            Some(id) => {
                check(
                    !id.trim().is_empty() && !id.chars().any(char::is_whitespace),
                    "env.id",
                    format!("'{}' names no Gymnasium env: write gym:<id>, e.g. gym:Acrobot-v1 or gym:my_package/MyEnv-v0", self.id),
                )?;
                if let Some(m) = self.gym_imports.iter().find(|m| m.trim().is_empty() || m.chars().any(char::is_whitespace)) {
                    return Err(ConfigError(format!("env.gym_imports: '{m}' is not a module name (e.g. my_package.envs)")));
                }
                if let Some(spec) = self.known_spec()? {
                    spec.resolve_params(&self.params).map_err(ConfigError)?;
                }
            }
            None => {
                let spec = self.spec()?;
                spec.resolve_params(&self.params).map_err(ConfigError)?;
                let gym_only = if !self.gym_kwargs.is_empty() {
                    Some("env.gym_kwargs")
                } else {
                    (!self.gym_imports.is_empty()).then_some("env.gym_imports")
                };
                if let Some(key) = gym_only {
                    return Err(ConfigError(format!(
                        "{key}: only a gym: env takes it ({} is built in: set its parameters under env.params, see `rl-research keys {}`); clear it, or use env.id=gym:{}",
                        self.id,
                        self.id,
                        spec.gymnasium_id.as_deref().unwrap_or(&self.id)
                    )));
                }
            }
        }
        Ok(())
    }

    /// One env as configured: registry entry, parameters, time limit.
    pub fn make(&self) -> Result<Box<dyn crate::envs::Env>, ConfigError> {
        self.spec()?.make(&self.params, self.max_episode_steps).map_err(ConfigError)
    }

    /// `k` envs as configured (a `gym:` env's share one worker process).
    pub fn make_many(&self, k: usize) -> Result<Vec<Box<dyn crate::envs::Env>>, ConfigError> {
        match self.gym_source() {
            Some(source) => {
                self.spec()?;
                let envs = crate::envs::gym::GymEnv::spawn_many(&source, k).map_err(ConfigError)?;
                Ok(envs.into_iter().map(|e| Box::new(e) as Box<dyn crate::envs::Env>).collect())
            }
            None => (0..k).map(|_| self.make()).collect(),
        }
    }

    /// The training envs: `n_envs` of them, a `gym:` env's in `workers` processes.
    pub fn make_vec(&self) -> Result<crate::envs::VecEnv, ConfigError> {
        match self.gym_source() {
            Some(source) => {
                self.spec()?;
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let pool =
                    crate::envs::gym::pool::GymPool::spawn(&source, self.n_envs, self.workers.unwrap_or(cores)).map_err(ConfigError)?;
                Ok(crate::envs::VecEnv::from_pool(Box::new(pool)))
            }
            None => Ok(crate::envs::VecEnv::new(self.make_many(self.n_envs)?)),
        }
    }
}
