//! A vectorized env with SB3 `DummyVecEnv` + `Monitor` semantics: envs that
//! finish are reset at once, and the observation that ended the episode is kept
//! in `final_obs`, so a truncated episode can still be bootstrapped from it.

use super::normalize::{Normalizer, ObsNorm};
use super::{Action, ActionSpace, Actions, BoxSpace, Env, EnvSnapshot, StepOutcome};
use rayon::prelude::*;

/// A finished episode, as SB3's Monitor records it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeStats {
    pub episode_return: f64,
    pub length: u32,
    pub truncated: bool,
}

/// A vectorized env's exact state (its envs' and the Monitor's), for checkpoints.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VecEnvSnapshot {
    /// The envs' own observations (before any normalization).
    pub obs: Vec<f32>,
    pub ep_returns: Vec<f64>,
    pub ep_lengths: Vec<u32>,
    pub envs: Vec<EnvSnapshot>,
    /// The normalizer's statistics, where the run normalizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalizer: Option<Normalizer>,
}

/// Envs stepped together somewhere else (Python worker processes): every
/// call steps or resets all of them, and any may fail.
pub trait EnvPool: Send {
    fn id(&self) -> &str;
    fn num_envs(&self) -> usize;
    fn observation_space(&self) -> BoxSpace;
    fn action_space(&self) -> ActionSpace;
    /// Resets env `i` with `seed + i` and writes every observation.
    fn reset_all(&mut self, seed: u64, obs: &mut [f32]) -> Result<(), String>;
    /// Steps every env; one that finishes writes its last observation into
    /// `final_obs` and its next episode's first into `obs`.
    fn step_all(&mut self, actions: Actions<'_>, obs: &mut [f32], final_obs: &mut [f32], out: &mut [StepOutcome]) -> Result<(), String>;
}

/// Where the envs live.
enum Envs {
    Local(Vec<Box<dyn Env>>),
    Pool { pool: Box<dyn EnvPool>, outcomes: Vec<StepOutcome> },
}

pub struct VecEnv {
    envs: Envs,
    n: usize,
    /// Set when a restore started new episodes instead of continuing the
    /// checkpointed ones (a pool's envs cannot be saved).
    restarted: bool,
    pub obs_dim: usize,
    pub action_space: ActionSpace,
    /// Current observations, `n_envs * obs_dim`, already reset where an episode
    /// ended (normalized where the env normalizes).
    pub obs: Vec<f32>,
    /// The envs' own observations where `obs` is normalized (else empty).
    raw_obs: Vec<f32>,
    /// Per env, from the last `step` (scaled where the env normalizes rewards;
    /// episode returns are always the env's own rewards).
    pub rewards: Vec<f64>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
    /// The last observation of an episode that ended on the last `step` (stale elsewhere).
    pub final_obs: Vec<f32>,
    ep_returns: Vec<f64>,
    ep_lengths: Vec<u32>,
    /// Episodes finished since the caller last drained this.
    pub finished: Vec<EpisodeStats>,
    /// Step envs on rayon's threads (physics envs); results are merged in env
    /// order, so runs stay deterministic.
    parallel: bool,
    /// SB3's VecNormalize, while training with `env.normalize_*`.
    normalizer: Option<Normalizer>,
}

impl VecEnv {
    pub fn new(envs: Vec<Box<dyn Env>>) -> Self {
        let n = envs.len();
        let obs_dim = envs.first().map(|e| e.observation_space().dim()).unwrap_or(0);
        let action_space = envs.first().map(|e| e.action_space()).unwrap_or(ActionSpace::Discrete { n: 0, names: Vec::new() });
        let parallel = n > 1 && envs.first().is_some_and(|e| e.prefers_threads());
        Self::with(Envs::Local(envs), n, obs_dim, action_space, parallel)
    }

    /// Envs stepped by a pool (Python workers).
    pub fn from_pool(pool: Box<dyn EnvPool>) -> Self {
        let (n, obs_dim, action_space) = (pool.num_envs(), pool.observation_space().dim(), pool.action_space());
        let outcomes = vec![StepOutcome { reward: 0.0, terminated: false, truncated: false }; n];
        Self::with(Envs::Pool { pool, outcomes }, n, obs_dim, action_space, false)
    }

    fn with(envs: Envs, n: usize, obs_dim: usize, action_space: ActionSpace, parallel: bool) -> Self {
        Self {
            envs,
            n,
            restarted: false,
            obs_dim,
            action_space,
            obs: vec![0.0; n * obs_dim],
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            final_obs: vec![0.0; n * obs_dim],
            ep_returns: vec![0.0; n],
            ep_lengths: vec![0; n],
            finished: Vec::new(),
            parallel,
            raw_obs: Vec::new(),
            normalizer: None,
        }
    }

    /// Normalizes observations and/or rewards from now on, as SB3's VecNormalize
    /// (rewards by the std of the `gamma`-discounted return).
    pub fn normalize(&mut self, obs: bool, reward: bool, gamma: f64) {
        self.normalizer = (obs || reward).then(|| Normalizer::new(obs, reward, gamma, self.obs_dim, self.n));
        self.raw_obs = if obs { self.obs.clone() } else { Vec::new() };
    }

    /// The observation statistics a policy trained on these envs must apply.
    pub fn obs_norm(&self) -> Option<ObsNorm> {
        self.normalizer.as_ref().and_then(|n| n.obs_norm())
    }

    /// Whether observations are normalized (then [`VecEnv::obs_norm`] is `Some`).
    pub fn normalizes_obs(&self) -> bool {
        self.normalizer.as_ref().is_some_and(|n| n.obs.is_some())
    }

    /// After the envs wrote `obs`: keep their own values and normalize (updating the statistics).
    fn observe(&mut self) {
        if let Some(n) = &mut self.normalizer {
            if n.obs.is_some() {
                self.raw_obs.copy_from_slice(&self.obs);
                n.observe(&mut self.obs, self.n);
            }
        }
    }

    pub fn num_envs(&self) -> usize {
        self.n
    }

    pub fn observation_space(&self) -> Option<BoxSpace> {
        match &self.envs {
            Envs::Local(envs) => envs.first().map(|e| e.observation_space()),
            Envs::Pool { pool, .. } => Some(pool.observation_space()),
        }
    }

    /// Whether the last restore started new episodes (the algorithm then
    /// continues from [`VecEnv::obs`], not its checkpointed observations).
    pub fn restarted(&self) -> bool {
        self.restarted
    }

    /// Resets every env; env `i` is seeded with `seed + i`, as SB3 does.
    pub fn reset(&mut self, seed: u64) -> Result<(), String> {
        let d = self.obs_dim;
        match &mut self.envs {
            Envs::Local(envs) => {
                for (i, env) in envs.iter_mut().enumerate() {
                    env.reset(Some(seed.wrapping_add(i as u64)), &mut self.obs[i * d..(i + 1) * d]);
                }
            }
            Envs::Pool { pool, .. } => pool.reset_all(seed, &mut self.obs)?,
        }
        self.ep_returns.fill(0.0);
        self.ep_lengths.fill(0);
        if let Some(n) = &mut self.normalizer {
            n.reset_returns();
        }
        self.observe();
        Ok(())
    }

    /// Steps every env with its action; actions of the wrong kind or count are
    /// an error (nothing is stepped).
    pub fn step(&mut self, actions: Actions<'_>) -> Result<(), String> {
        actions.check_shape(&self.action_space, self.n)?;
        let d = self.obs_dim;
        match &mut self.envs {
            Envs::Pool { pool, outcomes } => {
                pool.step_all(actions, &mut self.obs, &mut self.final_obs, outcomes)?;
                let outs = std::mem::take(outcomes);
                for (i, out) in outs.iter().enumerate() {
                    self.record(i, *out);
                }
                if let Envs::Pool { outcomes, .. } = &mut self.envs {
                    *outcomes = outs;
                }
            }
            Envs::Local(envs) if self.parallel => {
                let outs: Vec<StepOutcome> = envs
                    .par_iter_mut()
                    .zip(self.obs.par_chunks_mut(d))
                    .zip(self.final_obs.par_chunks_mut(d))
                    .enumerate()
                    .map(|(i, ((env, obs), fin))| step_one(env.as_mut(), actions.get(i), obs, fin))
                    .collect();
                for (i, out) in outs.into_iter().enumerate() {
                    self.record(i, out);
                }
            }
            Envs::Local(envs) => {
                let mut outs = Vec::with_capacity(envs.len());
                for (i, env) in envs.iter_mut().enumerate() {
                    let (obs, fin) = (&mut self.obs[i * d..(i + 1) * d], &mut self.final_obs[i * d..(i + 1) * d]);
                    outs.push(step_one(env.as_mut(), actions.get(i), obs, fin));
                }
                for (i, out) in outs.into_iter().enumerate() {
                    self.record(i, out);
                }
            }
        }
        if self.normalizer.is_some() {
            self.observe();
            let (terminated, truncated) = (&self.terminated, &self.truncated);
            if let Some(n) = &mut self.normalizer {
                n.rewards(&mut self.rewards, |i| terminated[i] || truncated[i]);
                // The observations that ended episodes, scaled like the rest.
                for i in (0..self.n).filter(|&i| terminated[i] || truncated[i]) {
                    n.normalize_obs(&mut self.final_obs[i * d..(i + 1) * d]);
                }
            }
        }
        Ok(())
    }

    /// Monitor bookkeeping for env `i` after its step.
    fn record(&mut self, i: usize, out: StepOutcome) {
        self.rewards[i] = out.reward;
        self.terminated[i] = out.terminated;
        self.truncated[i] = out.truncated && !out.terminated;
        self.ep_returns[i] += out.reward;
        self.ep_lengths[i] += 1;
        if out.terminated || out.truncated {
            self.finished.push(EpisodeStats {
                episode_return: self.ep_returns[i],
                length: self.ep_lengths[i],
                truncated: self.truncated[i],
            });
            self.ep_returns[i] = 0.0;
            self.ep_lengths[i] = 0;
        }
    }

    pub fn snapshot(&self) -> Result<VecEnvSnapshot, String> {
        let envs = match &self.envs {
            Envs::Local(envs) => envs
                .iter()
                .enumerate()
                .map(|(i, e)| match e.restorable() {
                    true => e.snapshot().map_err(|m| format!("env {i}: {m}")),
                    false => Ok(EnvSnapshot::Custom { env_id: e.id().to_string(), state: Vec::new() }),
                })
                .collect::<Result<_, _>>()?,
            // Nothing of a Python env can be kept: a restore starts new episodes.
            Envs::Pool { pool, .. } => vec![EnvSnapshot::Custom { env_id: pool.id().to_string(), state: Vec::new() }; self.n],
        };
        let obs = if self.raw_obs.is_empty() { &self.obs } else { &self.raw_obs };
        Ok(VecEnvSnapshot {
            obs: obs.clone(),
            ep_returns: self.ep_returns.clone(),
            ep_lengths: self.ep_lengths.clone(),
            envs,
            normalizer: self.normalizer.clone(),
        })
    }

    /// Restores every env; an env whose restored observation differs from the
    /// checkpointed one is an error (the episode did not replay identically).
    pub fn restore(&mut self, s: &VecEnvSnapshot) -> Result<(), String> {
        let (n, d) = (self.n, self.obs_dim);
        if s.envs.len() != n || s.obs.len() != n * d || s.ep_returns.len() != n || s.ep_lengths.len() != n {
            return Err(format!(
                "the checkpoint holds {} envs with {} observation values; this run has {n} envs of {d} values (env.n_envs cannot change)",
                s.envs.len(),
                s.obs.len()
            ));
        }
        match &mut self.envs {
            Envs::Local(envs) if envs.iter().any(|e| !e.restorable()) => {
                let seed = restart_seed(&s.obs);
                for (i, env) in envs.iter_mut().enumerate() {
                    env.reset(Some(seed.wrapping_add(i as u64)), &mut self.obs[i * d..(i + 1) * d]);
                    if let Some(fault) = env.fault() {
                        return Err(format!("env {i}: {fault}"));
                    }
                }
                self.restarted = true;
            }
            Envs::Local(envs) => {
                for (i, env) in envs.iter_mut().enumerate() {
                    let obs = &mut self.obs[i * d..(i + 1) * d];
                    env.restore(&s.envs[i], obs).map_err(|m| format!("env {i}: {m}"))?;
                    let want = &s.obs[i * d..(i + 1) * d];
                    if obs.iter().zip(want).any(|(a, b)| a.to_bits() != b.to_bits()) {
                        return Err(format!("env {i} did not replay to its checkpointed observation {want:?} (got {obs:?})"));
                    }
                }
            }
            Envs::Pool { pool, .. } => {
                // New episodes, seeded from the checkpoint (the same resume continues the same way).
                pool.reset_all(restart_seed(&s.obs), &mut self.obs)?;
                self.restarted = true;
            }
        }
        match (&mut self.normalizer, &s.normalizer) {
            (None, None) => {}
            (Some(mine), Some(theirs)) => {
                mine.check_against(theirs)?;
                // The config's gamma stays (a fork may change it); the statistics continue.
                *mine = Normalizer { gamma: mine.gamma, ..theirs.clone() };
                if mine.obs.is_some() {
                    self.raw_obs.copy_from_slice(&self.obs);
                    mine.normalize_obs(&mut self.obs);
                }
            }
            (mine, theirs) => {
                return Err(format!(
                    "the checkpoint was written {} normalization, the config asks {} (env.normalize_obs and env.normalize_reward cannot change in a resume or fork)",
                    if theirs.is_some() { "with" } else { "without" },
                    if mine.is_some() { "for it" } else { "for none" }
                ));
            }
        }
        if self.restarted {
            // The interrupted episodes are gone: the Monitor starts counting afresh.
            self.ep_returns.fill(0.0);
            self.ep_lengths.fill(0);
        } else {
            self.ep_returns.copy_from_slice(&s.ep_returns);
            self.ep_lengths.copy_from_slice(&s.ep_lengths);
        }
        self.finished.clear();
        Ok(())
    }

    #[inline]
    pub fn done(&self, i: usize) -> bool {
        self.terminated[i] || self.truncated[i]
    }
}

/// The seed a restore that starts new episodes resets with: drawn from the
/// checkpoint, so resuming the same checkpoint twice continues the same way.
fn restart_seed(obs: &[f32]) -> u64 {
    obs.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| (h ^ x.to_bits() as u64).wrapping_mul(0x100_0000_01b3))
}

/// Steps one env; at the end of an episode keeps the final observation and resets.
fn step_one(env: &mut dyn Env, action: Action<'_>, obs: &mut [f32], final_obs: &mut [f32]) -> StepOutcome {
    let out = env.step(action, obs);
    if out.terminated || out.truncated {
        final_obs.copy_from_slice(obs);
        env.reset(None, obs);
    }
    out
}
