//! Proximal Policy Optimization (clipped surrogate), after SB3's `PPO` and
//! CleanRL's `ppo.py`: separate actor and critic MLPs, GAE, advantage
//! normalisation per minibatch, value loss, entropy bonus, global-norm gradient
//! clipping, linear schedules. Rollouts run on the plain device (no autodiff
//! graph); only the minibatch updates build one.
//!
//! The code is written for S agents at once ([`Batch`]): every tensor has a
//! leading agent axis, one forward pass acts for all agents, one backward pass
//! updates all of them; each agent keeps its own envs, generator, rollout and
//! episode statistics. Agents may differ in the scalars (learning rate, clip
//! range, gamma, GAE lambda, loss coefficients, gradient clip), never in shapes.

mod dist;

use super::batch::{Algorithm, Batch, Restored, Slot};
use super::buffers::RolloutBuffer;
use super::nets::{Init, init_weights};
use super::stacked::{PerAgent, StackedMlp, clip_grad_norm_per_agent, stack3};
use super::{AlgoState, EpisodeWindow, Member, Metrics, PolicyHead, read_vec};
use crate::config::{AlgorithmConfig, PpoParams};
use crate::envs::{ActionSpace, Actions};
use crate::rng::Rng;
use burn::prelude::*;
use dist::{Dist, Sampler};
use serde::{Deserialize, Serialize};

/// The batch's PPO config, action distribution and update count.
pub struct Ppo {
    pub params: PpoParams,
    dist: Dist,
    n_updates: u64,
}

/// PPO's training state between two env steps, as a checkpoint holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PpoState {
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
    buffer: RolloutBuffer,
    last_obs: Vec<f32>,
    starts: Vec<bool>,
    /// gSDE's exploration matrices, `n_envs x latent x dim` (empty without gSDE).
    noise: Vec<f64>,
}

/// The networks, in checkpoint order (a Gaussian policy's `log_std` third).
const ACTOR: usize = 0;
const CRITIC: usize = 1;
const LOG_STD: usize = 2;

impl Ppo {
    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn agent(params: PpoParams, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<Ppo> {
        let mut init_rng = Rng::derive(seed, 1);
        let init = |out_gain| {
            if params.ortho_init { Init::Orthogonal { hidden_gain: 2f64.sqrt(), output_gain: out_gain } } else { Init::TorchDefault }
        };
        let sizes = |out: usize| [vec![obs_dim], params.net_arch.clone(), vec![out]].concat();
        let actor = init_weights(&sizes(space.policy_outputs()), params.activation, init(0.01), &mut init_rng);
        let critic = init_weights(&sizes(1), params.activation, init(1.0), &mut init_rng);
        let dist = Dist::of(space, &params, obs_dim);
        let nets: Vec<_> = [Some(actor), Some(critic), dist.log_std_weights(params.log_std_init)].into_iter().flatten().collect();
        let algo = Ppo { params: params.clone(), dist, n_updates: 0 };
        Batch::new(algo, params, &nets, (), Rng::derive(seed, 2), obs_dim, space, device)
    }
}

impl Algorithm for Ppo {
    const NAME: &'static str = "ppo";
    fn trained(&self) -> &'static [&'static str] {
        self.dist.trained()
    }
    const FIXED: &'static [&'static str] = &[];
    type Params = PpoParams;
    type Own = ();
    type Resume = Rollout;

    fn config(&self) -> AlgorithmConfig {
        AlgorithmConfig::Ppo(self.params.clone())
    }
    fn head(&self) -> PolicyHead {
        match self.dist {
            Dist::Categorical { .. } => PolicyHead::Logits,
            Dist::Gaussian { .. } | Dist::Sde { .. } => PolicyHead::GaussianMean,
        }
    }
    fn adam_eps(&self) -> f64 {
        self.params.adam_eps
    }
    fn position(&self, slot: &Slot<Self>) -> Vec<u64> {
        vec![self.n_updates, slot.num_timesteps, slot.resume.as_ref().map_or(u64::MAX, |r| r.buffer.pos as u64)]
    }

    fn restore(&mut self, state: &AlgoState, obs_dim: usize, space: &ActionSpace) -> Result<Restored<Self>, String> {
        let AlgoState::Ppo(s) = state else { return Err("the checkpoint is a DQN run's; this run is PPO".into()) };
        let r = &s.rollout;
        let n = r.n_steps * r.n_envs;
        let actions_ok = match space {
            ActionSpace::Discrete { n: n_actions, .. } => {
                r.action_dim == 0 && r.actions.len() == n && r.actions.iter().all(|&a| a < *n_actions)
            }
            ActionSpace::Box { low, .. } => {
                r.action_dim == low.len() && r.actions.is_empty() && r.continuous_actions.len() == n * low.len()
            }
        };
        let noise_len = match self.dist {
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
        if r.n_steps != self.params.n_steps || r.obs_dim != obs_dim || r.pos > r.n_steps || lens_ok.contains(&false) {
            return Err(format!(
                "the checkpoint's rollout ({} steps x {} envs, at step {}) does not fit algorithm.params.n_steps={}, {obs_dim} observation values, the action space {} and use_sde={}",
                r.n_steps,
                r.n_envs,
                r.pos,
                self.params.n_steps,
                space.describe(),
                self.params.use_sde
            ));
        }
        if s.last_obs.len() != r.n_envs * obs_dim || s.last_episode_starts.len() != r.n_envs {
            return Err("the checkpoint's last observations do not match its rollout's env count".into());
        }
        self.n_updates = s.n_updates;
        let resume =
            Rollout { buffer: r.clone(), last_obs: s.last_obs.clone(), starts: s.last_episode_starts.clone(), noise: s.sde_noise.clone() };
        Ok(Restored { rng: s.rng.clone(), num_timesteps: s.num_timesteps, episodes: s.episodes.clone(), own: (), resume })
    }

    fn learn(batch: &mut Batch<Self>, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        batch.learn_ppo(members, total_timesteps)
    }
}

/// Agent `k`'s PPO state now, for a checkpoint.
fn state_of(b: &Batch<Ppo>, k: usize, r: &Rollout) -> AlgoState {
    let a = &b.agents[k];
    AlgoState::Ppo(PpoState {
        num_timesteps: a.num_timesteps,
        n_updates: b.algo.n_updates,
        rng: a.rng.clone(),
        episodes: a.episodes.clone(),
        rollout: r.buffer.clone(),
        last_obs: r.last_obs.clone(),
        last_episode_starts: r.starts.clone(),
        sde_noise: r.noise.clone(),
    })
}

impl Batch<Ppo> {
    /// Collect `n_steps` per env, compute GAE, update for `n_epochs`; repeat.
    fn learn_ppo(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        let (n_envs, resumed) = self.begin(members)?;
        let mut rollouts = Vec::with_capacity(members.len());
        for (r, m) in resumed.into_iter().zip(members.iter_mut()) {
            rollouts.push(match r {
                Some(r) if r.buffer.n_envs == n_envs => r,
                Some(r) => return Err(format!("the checkpoint's rollout is for {} envs, the run has {n_envs}", r.buffer.n_envs)),
                None => {
                    m.venv.reset(m.seed);
                    let buffer = RolloutBuffer::for_space(self.algo.params.n_steps, n_envs, self.obs_dim, &self.action_space);
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
                            rewards[i] += self.agents[k].params.gamma * v[k * n_envs + i];
                        }
                    }
                    let (actions, values, log_probs) = &sampled[k];
                    let r = &mut rollouts[k];
                    if let Dist::Categorical { .. } = self.algo.dist {
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
                    active[k] = self.after_step(k, venv, &mut **callback, &|b, _| Ok(state_of(b, k, rollout)))?;
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
                let p = &self.agents[k].params;
                let r = &mut rollouts[k];
                r.buffer.compute_returns_and_advantage(&last_values[k * n_envs..(k + 1) * n_envs], &r.starts, p.gamma, p.gae_lambda);
            }

            // 2. Optimise the clipped surrogate on minibatches for n_epochs.
            let progress_remaining = 1.0 - self.agents[lead].num_timesteps as f64 / total_timesteps as f64;
            let metrics = self.train(&rollouts, progress_remaining)?;
            for k in 0..s {
                rollouts[k].buffer.reset();
                if active[k] {
                    members[k].callback.on_update(&metrics[k]);
                }
            }
        }
    }

    fn dist(&self) -> Dist {
        self.algo.dist
    }

    /// Agent `k`'s log_std values (empty for a categorical policy): host copies, read back once per update.
    fn log_std_host(&self, k: usize) -> Result<Vec<f32>, String> {
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
            let (pos, freq) = (rollouts[k].buffer.pos as i64, self.agents[k].params.sde_sample_freq);
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
    fn values(&self, obs: Vec<f32>, n: usize) -> Result<Vec<f64>, String> {
        let x = stack3(obs, self.agents.len(), n, self.obs_dim, &self.device);
        Ok(read_vec(self.nets.acting[CRITIC].forward(x))?.into_iter().map(f64::from).collect())
    }

    /// One update of every agent on its own rollout; each agent's metrics.
    fn train(&mut self, rollouts: &[Rollout], progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        let p = self.algo.params.clone();
        let each = |f: &dyn Fn(&PpoParams) -> f64| PerAgent::of(self.agents.iter().map(|a| f(&a.params)));
        let lr = each(&|a| a.learning_rate.value(progress_remaining));
        let clip = each(&|a| a.clip_range.value(progress_remaining));
        let (ent_coef, vf_coef, max_grad_norm) = (each(&|a| a.ent_coef), each(&|a| a.vf_coef), each(&|a| a.max_grad_norm));
        let s = self.agents.len();
        let (n, d, b) = (rollouts[0].buffer.len(), self.obs_dim, p.batch_size);
        let mut indices: Vec<Vec<usize>> = vec![(0..n).collect(); s];
        let mut stats: Vec<Tensor<2>> = Vec::new();
        let (mut mb_obs, mut mb_act, mut mb_logp, mut mb_adv, mut mb_ret) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (dist, w) = (self.dist(), self.dist().dim());
        let mut adv = Vec::new();
        let mut last_loss = Tensor::<2>::zeros([s, 1], &self.device);

        for _epoch in 0..p.n_epochs {
            for (agent, idx) in self.agents.iter_mut().zip(indices.iter_mut()) {
                agent.rng.shuffle(idx);
            }
            for start in (0..n).step_by(b) {
                let m = b.min(n - start);
                mb_obs.clear();
                mb_act.clear();
                mb_logp.clear();
                mb_adv.clear();
                mb_ret.clear();
                for (rollout, idx) in rollouts.iter().zip(&indices) {
                    let buffer = &rollout.buffer;
                    adv.clear();
                    for &k in &idx[start..start + m] {
                        mb_obs.extend_from_slice(&buffer.obs[k * d..(k + 1) * d]);
                        match buffer.action(k) {
                            crate::envs::Action::Discrete(a) => mb_act.push(a as f32),
                            crate::envs::Action::Continuous(v) => mb_act.extend_from_slice(v),
                        }
                        mb_logp.push(buffer.log_probs[k] as f32);
                        adv.push(buffer.advantages[k]);
                        mb_ret.push(buffer.returns[k] as f32);
                    }
                    if p.normalize_advantage && m > 1 {
                        normalize(&mut adv);
                    }
                    mb_adv.extend(adv.iter().map(|&a| a as f32));
                }
                let dev = &self.ad_device;
                let obs = stack3(mb_obs.clone(), s, m, d, dev);
                let actions = Tensor::<3>::from_data(TensorData::new(mb_act.clone(), [s, m, w]), dev);
                let old_log_prob = Tensor::<2>::from_data(TensorData::new(mb_logp.clone(), [s, m]), dev);
                let advantages = Tensor::<2>::from_data(TensorData::new(mb_adv.clone(), [s, m]), dev);
                let returns = Tensor::<2>::from_data(TensorData::new(mb_ret.clone(), [s, m]), dev);

                let (log_prob, entropy) = dist.log_prob_entropy(&self.nets.trained, obs.clone(), actions);
                let values = self.nets.trained[CRITIC].forward(obs).reshape([s, m]);

                // Per agent [S, 1]: each agent's losses are means over its own minibatch.
                let log_ratio = log_prob - old_log_prob;
                let ratio = log_ratio.clone().exp();
                let surrogate = advantages.clone() * ratio.clone();
                let clipped = advantages * clip.clamp_around_one(ratio.clone());
                let policy_loss = surrogate.min_pair(clipped).mean_dim(1).neg();
                let value_loss = (returns - values).square().mean_dim(1);
                let entropy_loss = entropy.mean_dim(1).neg();
                let loss = policy_loss.clone() + ent_coef.mul(entropy_loss.clone()) + vf_coef.mul(value_loss.clone());

                let mut grads = self.nets.grads(loss.clone());
                let trained: Vec<&StackedMlp> = self.nets.trained.iter().collect();
                clip_grad_norm_per_agent(&mut grads, &trained, &max_grad_norm);
                self.nets.step(&lr, grads);

                // Diagnostics stay on the device and are read once per update.
                let ratio = ratio.inner();
                let log_ratio = log_ratio.inner();
                let clip_fraction = clip.outside_around_one(ratio.clone()).mean_dim(1);
                let approx_kl = (ratio.sub_scalar(1.0) - log_ratio).mean_dim(1);
                last_loss = loss.inner();
                stats.push(Tensor::cat(vec![policy_loss.inner(), value_loss.inner(), entropy_loss.inner(), approx_kl, clip_fraction], 1));
            }
        }
        self.algo.n_updates += p.n_epochs as u64;
        self.nets.updated();

        // [G, S, 5] -> per agent means over the minibatches.
        let stats = read_vec(Tensor::stack::<3>(stats, 0).mean_dim(0))?;
        let last_loss = read_vec(last_loss)?;
        let mut out = Vec::with_capacity(s);
        for (k, (agent, rollout)) in self.agents.iter().zip(rollouts).enumerate() {
            let st = &stats[k * 5..(k + 1) * 5];
            let mut m = Metrics::default();
            m.push("time/total_timesteps", agent.num_timesteps as f64);
            agent.episodes.push_into(&mut m);
            m.push("train/learning_rate", lr.get(k));
            m.push("train/clip_range", clip.get(k));
            m.push("train/policy_gradient_loss", st[0] as f64);
            m.push("train/value_loss", st[1] as f64);
            m.push("train/entropy_loss", st[2] as f64);
            m.push("train/approx_kl", st[3] as f64);
            m.push("train/clip_fraction", st[4] as f64);
            m.push("train/loss", last_loss.get(k).copied().unwrap_or(f32::NAN) as f64);
            m.push("train/explained_variance", explained_variance(&rollout.buffer.values, &rollout.buffer.returns));
            m.push("train/n_updates", self.algo.n_updates as f64);
            if let Ok(log_std) = self.log_std_host(k).map(|v| v.iter().map(|&l| (l as f64).exp()).collect::<Vec<_>>()) {
                if !log_std.is_empty() {
                    m.push("train/std", log_std.iter().sum::<f64>() / log_std.len() as f64);
                }
            }
            out.push(m);
        }
        Ok(out)
    }
}

/// (x - mean) / (std + 1e-8) with torch's unbiased std.
fn normalize(xs: &mut [f64]) {
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
