//! The on-policy layer PPO and A2C share, after SB3's `OnPolicyAlgorithm`:
//! the actor, critic (and a Gaussian policy's `log_std`) networks, collecting
//! `n_steps` per env with the current policies (actions sampled from the
//! policy's distribution, clipped into a Box space's bounds only for the env,
//! truncated episodes bootstrapped from V(final obs)), GAE, gSDE's noise, the
//! checkpoint state and its checks. An algorithm brings its update (`train`)
//! and its hyperparameters; this loop calls it once per rollout.
//!
//! Written for S agents at once ([`Batch`]): one forward pass acts for all
//! agents, each keeps its own envs, generator, rollout and episode statistics.

pub mod dist;
pub mod ppo_loss;

use super::batch::{Algorithm, Batch, Restored, Slot};
use super::buffers::RolloutBuffer;
use super::nets::{Init, MlpWeights, init_weights};
use super::stacked::stack3;
use super::{AlgoState, EpisodeWindow, Member, Metrics, PolicyHead, read_vec};
use crate::config::Activation;
use crate::envs::{ActionSpace, Actions};
use crate::rng::Rng;
use burn::prelude::*;
use dist::{Dist, Sampler};
use serde::{Deserialize, Serialize};

/// An on-policy algorithm's training state between two env steps, as a checkpoint holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnPolicyState {
    pub num_timesteps: u64,
    pub n_updates: u64,
    pub rng: Rng,
    pub episodes: EpisodeWindow,
    /// The rollout collected so far (`pos` steps of `n_steps`).
    pub rollout: RolloutBuffer,
    pub last_obs: Vec<f32>,
    pub last_episode_starts: Vec<bool>,
    /// gSDE's exploration matrices, one per env (empty without gSDE).
    #[serde(default)]
    pub sde_noise: Vec<f64>,
}

/// Where `learn` continues: the rollout, the last observations and episode starts.
pub struct Rollout {
    pub buffer: RolloutBuffer,
    pub last_obs: Vec<f32>,
    pub starts: Vec<bool>,
    /// gSDE's exploration matrices, `n_envs x latent x dim` (empty without gSDE).
    pub noise: Vec<f64>,
}

/// The networks, in checkpoint order (a Gaussian policy's `log_std` third).
pub const ACTOR: usize = 0;
pub const CRITIC: usize = 1;
pub const LOG_STD: usize = 2;

/// What the shared loop keeps of the batch: its distribution, rollout length and update count.
pub struct Core {
    pub dist: Dist,
    pub n_steps: usize,
    pub n_updates: u64,
}

/// The per-agent scalars of a rollout.
pub struct RolloutParams {
    pub gamma: f64,
    pub gae_lambda: f64,
    pub sde_sample_freq: i64,
}

/// What fixes an on-policy agent's computation: its rollout length and networks.
pub struct Shape<'a> {
    pub n_steps: usize,
    pub net_arch: &'a [usize],
    pub activation: Activation,
    pub ortho_init: bool,
    pub log_std_init: f64,
    pub use_sde: bool,
}

/// What an on-policy algorithm gives the shared loop.
pub trait OnPolicy: Algorithm<Own = (), Resume = Rollout> {
    /// The batch's algorithm for these params, around the loop's `core`.
    fn new(params: Self::Params, core: Core) -> Self;
    fn shape(params: &Self::Params) -> Shape<'_>;
    fn core(&self) -> &Core;
    fn core_mut(&mut self) -> &mut Core;
    fn rollout(params: &Self::Params) -> RolloutParams;
    /// Its checkpoint state as an [`AlgoState`] variant, and back.
    fn wrap(state: OnPolicyState) -> AlgoState;
    fn unwrap(state: &AlgoState) -> Option<&OnPolicyState>;
    /// One update of every agent on its own rollout; each agent's metrics.
    fn train(batch: &mut Batch<Self>, rollouts: &[Rollout], progress_remaining: f64) -> Result<Vec<Metrics>, String>;
}

/// One agent of an on-policy algorithm, initialised from `seed` exactly as it is inside any batch.
pub fn agent<A: OnPolicy>(params: A::Params, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<A> {
    let shape = A::shape(&params);
    let n_steps = shape.n_steps;
    let (nets, dist) = initial_networks(&shape, obs_dim, space, seed);
    let algo = A::new(params.clone(), Core { dist, n_steps, n_updates: 0 });
    Batch::new(algo, params, &nets, (), Rng::derive(seed, 2), obs_dim, space, device)
}

/// One agent's initial networks (actor, critic, and `log_std` for a Box space),
/// drawn from `seed` exactly as inside any batch, and its distribution.
fn initial_networks(shape: &Shape<'_>, obs_dim: usize, space: &ActionSpace, seed: u64) -> (Vec<MlpWeights>, Dist) {
    let mut init_rng = Rng::derive(seed, 1);
    let init = |out_gain| {
        if shape.ortho_init { Init::Orthogonal { hidden_gain: 2f64.sqrt(), output_gain: out_gain } } else { Init::TorchDefault }
    };
    let sizes = |out: usize| [vec![obs_dim], shape.net_arch.to_vec(), vec![out]].concat();
    let actor = init_weights(&sizes(space.policy_outputs()), shape.activation, init(0.01), &mut init_rng);
    let critic = init_weights(&sizes(1), shape.activation, init(1.0), &mut init_rng);
    let dist = Dist::of(space, shape.use_sde, shape.net_arch, obs_dim);
    let nets = [Some(actor), Some(critic), dist.log_std_weights(shape.log_std_init)].into_iter().flatten().collect();
    (nets, dist)
}

/// The policy head of a distribution.
pub fn head(dist: Dist) -> PolicyHead {
    match dist {
        Dist::Categorical { .. } => PolicyHead::Logits,
        Dist::Gaussian { .. } | Dist::Sde { .. } => PolicyHead::GaussianMean,
    }
}

/// Where an agent is in its loop (agents merge only when these agree).
pub fn position<A: OnPolicy>(algo: &A, slot: &Slot<A>) -> Vec<u64> {
    vec![algo.core().n_updates, slot.num_timesteps, slot.resume.as_ref().map_or(u64::MAX, |r| r.buffer.pos as u64)]
}

/// A checkpoint's state checked against the config (`use_sde` names the key in messages).
pub fn restore<A: OnPolicy>(algo: &mut A, state: &AlgoState, obs_dim: usize, space: &ActionSpace) -> Result<Restored<A>, String> {
    let Some(s) = A::unwrap(state) else { return Err(format!("the checkpoint is not a {} run's", A::NAME)) };
    let core = algo.core();
    let r = &s.rollout;
    let n = r.n_steps * r.n_envs;
    let actions_ok = match space {
        ActionSpace::Discrete { n: n_actions, .. } => {
            r.action_dim == 0 && r.actions.len() == n && r.actions.iter().all(|&a| a < *n_actions)
        }
        ActionSpace::Box { low, .. } => r.action_dim == low.len() && r.actions.is_empty() && r.continuous_actions.len() == n * low.len(),
    };
    let noise_len = match core.dist {
        Dist::Sde { dim, latent } => r.n_envs * dim * latent,
        _ => 0,
    };
    let lens_ok = [
        r.obs.len() == n * r.obs_dim,
        actions_ok,
        s.sde_noise.len() == noise_len,
        r.rewards.len() == n,
        r.episode_starts.len() == n,
        r.values.len() == n,
        r.log_probs.len() == n,
        r.advantages.len() == n,
        r.returns.len() == n,
    ];
    if r.n_steps != core.n_steps || r.obs_dim != obs_dim || r.pos > r.n_steps || lens_ok.contains(&false) {
        return Err(format!(
            "the checkpoint's rollout ({} steps x {} envs, at step {}) does not fit algorithm.params.n_steps={}, {obs_dim} observation values, the action space {} and use_sde={}",
            r.n_steps,
            r.n_envs,
            r.pos,
            core.n_steps,
            space.describe(),
            core.dist.is_sde()
        ));
    }
    if s.last_obs.len() != r.n_envs * obs_dim || s.last_episode_starts.len() != r.n_envs {
        return Err("the checkpoint's last observations do not match its rollout's env count".into());
    }
    algo.core_mut().n_updates = s.n_updates;
    let resume =
        Rollout { buffer: r.clone(), last_obs: s.last_obs.clone(), starts: s.last_episode_starts.clone(), noise: s.sde_noise.clone() };
    Ok(Restored { rng: s.rng.clone(), num_timesteps: s.num_timesteps, episodes: s.episodes.clone(), own: (), resume })
}

impl<A: OnPolicy> Batch<A> {
    /// Agent `k`'s state now, for a checkpoint.
    fn state_of(&self, k: usize, r: &Rollout) -> AlgoState {
        let a = &self.agents[k];
        A::wrap(OnPolicyState {
            num_timesteps: a.num_timesteps,
            n_updates: self.algo.core().n_updates,
            rng: a.rng.clone(),
            episodes: a.episodes.clone(),
            rollout: r.buffer.clone(),
            last_obs: r.last_obs.clone(),
            last_episode_starts: r.starts.clone(),
            sde_noise: r.noise.clone(),
        })
    }
}

impl<A: OnPolicy> Batch<A> {
    /// Collect `n_steps` per env, compute GAE, let the algorithm update; repeat.
    pub fn learn_on_policy(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        let (n_envs, resumed) = self.begin(members)?;
        let mut rollouts = Vec::with_capacity(members.len());
        for (r, m) in resumed.into_iter().zip(members.iter_mut()) {
            rollouts.push(match r {
                // Envs that could not be restored (Python workers) began new episodes.
                Some(r) if r.buffer.n_envs == n_envs && m.venv.restarted() => {
                    Rollout { last_obs: m.venv.obs.clone(), starts: vec![true; n_envs], ..r }
                }
                Some(r) if r.buffer.n_envs == n_envs => r,
                Some(r) => return Err(format!("the checkpoint's rollout is for {} envs, the run has {n_envs}", r.buffer.n_envs)),
                None => {
                    m.venv.reset(m.seed)?;
                    let buffer = RolloutBuffer::for_space(self.algo.core().n_steps, n_envs, self.obs_dim, &self.action_space);
                    Rollout { buffer, last_obs: m.venv.obs.clone(), starts: vec![true; n_envs], noise: Vec::new() }
                }
            });
        }
        let s = rollouts.len();
        let mut active = self.active();

        // A full rollout only comes from a checkpoint taken on its last step: train on it first.
        loop {
            let Some(lead) = active.iter().position(|&a| a) else { return Ok(()) };
            if !(self.agents[lead].num_timesteps < total_timesteps || rollouts[lead].buffer.full()) {
                return Ok(());
            }
            // 1. Collect n_steps x n_envs transitions per agent with the current policies.
            let width = self.dist().dim();
            let mut indices = Vec::new();
            let mut clipped = Vec::new();
            while !rollouts[lead].buffer.full() {
                self.draw_sde_noise(&mut rollouts, &active, n_envs)?;
                let sampled = self.sample_actions(&rollouts, n_envs)?;
                let mut any_truncated = false;
                for k in (0..s).filter(|&k| active[k]) {
                    let venv = &mut *members[k].venv;
                    // The buffer keeps the sampled action; the env gets it clipped into the bounds (SB3).
                    if let Dist::Categorical { .. } = self.dist() {
                        indices.clear();
                        indices.extend(sampled[k].0.iter().map(|&a| a as usize));
                        venv.step(Actions::Discrete(&indices))?;
                    } else {
                        clipped.clear();
                        clipped.extend_from_slice(&sampled[k].0);
                        for row in clipped.chunks_mut(width) {
                            self.action_space.clip_into(row);
                        }
                        venv.step(Actions::Continuous { dim: width, values: &clipped })?;
                    }
                    self.agents[k].num_timesteps += n_envs as u64;
                    self.agents[k].episodes.drain_from(venv);
                    any_truncated |= venv.truncated.iter().any(|&t| t);
                }
                // Truncated, not terminated: bootstrap with V(final obs), as SB3 does
                // (every env's final obs goes through the critic, so an agent's values
                // come from the same computation in any batch).
                let final_values = if any_truncated {
                    let obs: Vec<f32> = members.iter().flat_map(|m| m.venv.final_obs.iter().copied()).collect();
                    Some(self.values(obs, n_envs)?)
                } else {
                    None
                };
                for k in (0..s).filter(|&k| active[k]) {
                    let venv = &*members[k].venv;
                    let mut rewards = venv.rewards.clone();
                    if let Some(v) = &final_values {
                        for i in (0..n_envs).filter(|&i| venv.truncated[i]) {
                            rewards[i] += A::rollout(&self.agents[k].params).gamma * v[k * n_envs + i];
                        }
                    }
                    let (actions, values, log_probs) = &sampled[k];
                    let r = &mut rollouts[k];
                    if let Dist::Categorical { .. } = self.dist() {
                        indices.clear();
                        indices.extend(actions.iter().map(|&a| a as usize));
                        r.buffer.add(&r.last_obs, Actions::Discrete(&indices), &rewards, &r.starts, values, log_probs);
                    } else {
                        r.buffer.add(
                            &r.last_obs,
                            Actions::Continuous { dim: width, values: actions },
                            &rewards,
                            &r.starts,
                            values,
                            log_probs,
                        );
                    }
                    r.last_obs.copy_from_slice(&venv.obs);
                    for (i, start) in r.starts.iter_mut().enumerate() {
                        *start = venv.done(i);
                    }
                }
                for k in 0..s {
                    if !active[k] {
                        continue;
                    }
                    let Member { venv, callback, .. } = &mut members[k];
                    let rollout = &rollouts[k];
                    active[k] = self.after_step(k, venv, &mut **callback, &|b, _| Ok(b.state_of(k, rollout)))?;
                }
                if !active[lead] {
                    break;
                }
            }
            if !active[lead] {
                continue;
            }
            let obs: Vec<f32> = rollouts.iter().flat_map(|r| r.last_obs.iter().copied()).collect();
            let last_values = self.values(obs, n_envs)?;
            for k in (0..s).filter(|&k| active[k]) {
                let p = A::rollout(&self.agents[k].params);
                let r = &mut rollouts[k];
                r.buffer.compute_returns_and_advantage(&last_values[k * n_envs..(k + 1) * n_envs], &r.starts, p.gamma, p.gae_lambda);
            }

            // 2. The algorithm's update on every agent's rollout.
            let progress_remaining = 1.0 - self.agents[lead].num_timesteps as f64 / total_timesteps as f64;
            let metrics = A::train(self, &rollouts, progress_remaining)?;
            for k in 0..s {
                rollouts[k].buffer.reset();
                if active[k] {
                    members[k].callback.on_update(&metrics[k]);
                }
            }
        }
    }

    pub fn dist(&self) -> Dist {
        self.algo.core().dist
    }

    /// Agent `k`'s log_std values (empty for a categorical policy): host copies, read back once per update.
    pub fn log_std_host(&self, k: usize) -> Result<Vec<f32>, String> {
        if self.nets.acting.len() <= LOG_STD {
            return Ok(Vec::new());
        }
        Ok(self.nets.acting_member(LOG_STD, k)?.layers.first().map(|l| l.bias.clone()).unwrap_or_default())
    }

    /// gSDE: new exploration matrices for every env of the active agents at a
    /// rollout's start and every `sde_sample_freq` steps (SB3's `reset_noise`).
    fn draw_sde_noise(&mut self, rollouts: &mut [Rollout], active: &[bool], n_envs: usize) -> Result<(), String> {
        if !self.dist().is_sde() {
            return Ok(());
        }
        for k in (0..rollouts.len()).filter(|&k| active[k]) {
            let (pos, freq) = (rollouts[k].buffer.pos as i64, A::rollout(&self.agents[k].params).sde_sample_freq);
            if pos != 0 && !(freq > 0 && pos % freq == 0) {
                continue;
            }
            let log_std = self.log_std_host(k)?;
            let sampler = Sampler { dist: self.dist(), log_std: &log_std };
            let rng = &mut self.agents[k].rng;
            rollouts[k].noise = (0..n_envs).flat_map(|_| sampler.draw_noise(rng)).collect();
        }
        Ok(())
    }

    /// Samples every agent's actions from its policy: per agent the actions
    /// (indices as floats, or `dim` values each, unclipped), V(s) and
    /// log pi(a|s), for each agent's `n` last observations.
    fn sample_actions(&mut self, rollouts: &[Rollout], n: usize) -> Result<Vec<(Vec<f32>, Vec<f64>, Vec<f64>)>, String> {
        let s = rollouts.len();
        let dist = self.dist();
        let x = stack3(rollouts.iter().flat_map(|r| r.last_obs.iter().copied()).collect(), s, n, self.obs_dim, &self.device);
        // Actor outputs, values (and gSDE's features) on one read-back: [S, n, a + 1 (+ h)].
        let (actor, critic) = (&self.nets.acting[ACTOR], &self.nets.acting[CRITIC]);
        let (latent, out) = actor.forward_latent(x.clone());
        let h = if dist.is_sde() { latent.dims()[2] } else { 0 };
        let mut parts = vec![out, critic.forward(x)];
        if dist.is_sde() {
            parts.push(latent);
        }
        let out = read_vec(Tensor::cat(parts, 2))?;
        let a = self.action_space.policy_outputs();
        let row_len = a + 1 + h;
        let log_stds: Vec<Vec<f32>> = (0..s).map(|k| self.log_std_host(k)).collect::<Result<_, _>>()?;
        let mut sampled = Vec::with_capacity(s);
        for (k, (agent, rows)) in self.agents.iter_mut().zip(out.chunks(n * row_len)).enumerate() {
            let sampler = Sampler { dist, log_std: &log_stds[k] };
            let noise_len = rollouts[k].noise.len() / n.max(1);
            let (mut actions, mut values, mut log_probs) =
                (Vec::with_capacity(n * dist.dim()), Vec::with_capacity(n), Vec::with_capacity(n));
            for (i, row) in rows.chunks(row_len).enumerate() {
                let noise = rollouts[k].noise.get(i * noise_len..(i + 1) * noise_len).unwrap_or(&[]);
                let log_prob = sampler.sample(&row[..a], &row[a + 1..], noise, &mut agent.rng, &mut actions).map_err(|e| {
                    format!(
                        "{e} at step {}: training diverged; lower algorithm.params.learning_rate (or max_grad_norm) and run again",
                        agent.num_timesteps
                    )
                })?;
                log_probs.push(log_prob);
                values.push(row[a] as f64);
            }
            sampled.push((actions, values, log_probs));
        }
        Ok(sampled)
    }

    /// V(s) of every agent's `n` observations (`obs`: S x n x obs_dim), agent-major.
    pub fn values(&self, obs: Vec<f32>, n: usize) -> Result<Vec<f64>, String> {
        let x = stack3(obs, self.agents.len(), n, self.obs_dim, &self.device);
        Ok(read_vec(self.nets.acting[CRITIC].forward(x))?.into_iter().map(f64::from).collect())
    }
}

/// The metrics every on-policy update reports (SB3's names), after the algorithm's own.
pub fn push_common<A: OnPolicy>(b: &Batch<A>, k: usize, rollout: &Rollout, m: &mut Metrics) {
    m.push("train/explained_variance", explained_variance(&rollout.buffer.values, &rollout.buffer.returns));
    m.push("train/n_updates", b.algo.core().n_updates as f64);
    if let Ok(log_std) = b.log_std_host(k) {
        if !log_std.is_empty() {
            m.push("train/std", log_std.iter().map(|&l| (l as f64).exp()).sum::<f64>() / log_std.len() as f64);
        }
    }
}

/// (x - mean) / (std + 1e-8) with torch's unbiased std (SB3's advantage normalization).
pub fn normalize(xs: &mut [f64]) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let std = var.sqrt();
    for x in xs {
        *x = (*x - mean) / (std + 1e-8);
    }
}

/// 1 - Var[y - y_pred] / Var[y]; NaN when Var[y] is 0 (SB3's convention).
pub fn explained_variance(y_pred: &[f64], y: &[f64]) -> f64 {
    let var = |v: &mut dyn Iterator<Item = f64>, n: f64| {
        let xs: Vec<f64> = v.collect();
        let mean = xs.iter().sum::<f64>() / n;
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n
    };
    let n = y.len() as f64;
    let var_y = var(&mut y.iter().copied(), n);
    if var_y == 0.0 {
        return f64::NAN;
    }
    1.0 - var(&mut y.iter().zip(y_pred).map(|(a, b)| a - b), n) / var_y
}
