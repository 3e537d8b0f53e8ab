//! Proximal Policy Optimization (clipped surrogate), after SB3's `PPO` and
//! CleanRL's `ppo.py`: separate actor and critic MLPs, GAE, advantage
//! normalisation per minibatch, value loss, entropy bonus, global-norm gradient
//! clipping, linear schedules. Rollouts run on the plain device (no autodiff
//! graph); only the minibatch updates build one.
//!
//! The loop trains S agents of one config at once (a seed group's seeds):
//! every network is a [`StackedMlp`] with a leading agent axis, one forward
//! pass acts for all agents, one backward pass updates all of them. Each
//! agent keeps its own envs, generator, rollout and episode statistics; a
//! plain run is S = 1. Agents may differ in the scalars (learning rate,
//! clip range, gamma, GAE lambda, loss coefficients, gradient clip: sweep
//! trials), never in shapes.

use super::adam::{AdamMoments, AdamOptimizer};
use super::buffers::RolloutBuffer;
use super::nets::{Init, MlpWeights, init_weights};
use super::stacked::{
    HostCopy, PerAgent, StackedMlp, acting_policy, clip_grad_norm_per_agent, member_moments, member_param_ids, stack_moments, stack3,
};
use super::{
    Agent, AgentState, AgentView, AlgoState, Control, EpisodeWindow, FrozenAgent, Member, Metrics, NetworkState, Policy, PolicyHead,
    TrainingState, check_network, read_vec,
};
use crate::config::PpoParams;
use crate::envs::{Actions, VecEnv};
use crate::rng::Rng;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

mod batch;
mod views;
use views::PpoAt;

#[derive(Module, Debug)]
pub struct ActorCritic {
    /// obs -> hidden -> action logits.
    pub actor: StackedMlp,
    /// obs -> hidden -> V(s).
    pub critic: StackedMlp,
}

impl ActorCritic {
    /// Logits and values of `[S, n, obs]` on one read-back: `[S, n, n_actions + 1]`.
    fn logits_and_values(&self, obs: Tensor<3>) -> Tensor<3> {
        Tensor::cat(vec![self.actor.forward(obs.clone()), self.critic.forward(obs)], 2)
    }
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
}

/// Where `learn` continues after a restore: rollout, last obs, episode starts.
type Resume = (RolloutBuffer, Vec<f32>, Vec<bool>);

/// What is each agent's own in a batch.
struct PpoAgent {
    /// Its own hyperparameters: only the scalars may differ from the batch's `params`.
    params: PpoParams,
    rng: Rng,
    num_timesteps: u64,
    episodes: EpisodeWindow,
    resume: Option<Resume>,
    /// Set when its callbacks said stop while others trained on.
    frozen: Option<FrozenAgent>,
}

/// One agent's networks and Adam state in checkpoint form.
struct MemberNets {
    actor: NetworkState,
    critic: NetworkState,
    optimizer: Vec<AdamMoments>,
}

pub struct Ppo {
    /// The batch's shapes and loop structure (agent 0's params).
    pub params: PpoParams,
    /// Trained on `device.autodiff()`.
    model: ActorCritic,
    /// A no-autodiff snapshot of `model` for acting, refreshed after each update.
    acting: ActorCritic,
    optimizer: AdamOptimizer,
    device: Device,
    ad_device: Device,
    obs_dim: usize,
    n_actions: usize,
    n_updates: u64,
    agents: Vec<PpoAgent>,
    /// Host copies of `acting`'s actor and critic.
    host: (HostCopy, HostCopy),
}

impl Ppo {
    /// Its `algorithm.name`.
    pub const NAME: &'static str = "ppo";

    /// The batch's params as an algorithm config (what batching compares).
    fn config(&self) -> crate::config::AlgorithmConfig {
        crate::config::AlgorithmConfig::Ppo(self.params.clone())
    }

    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn new(params: PpoParams, obs_dim: usize, n_actions: usize, seed: u64, device: &Device) -> Self {
        let mut init_rng = Rng::derive(seed, 1);
        let init = |out_gain| {
            if params.ortho_init { Init::Orthogonal { hidden_gain: 2f64.sqrt(), output_gain: out_gain } } else { Init::TorchDefault }
        };
        let sizes = |out: usize| [vec![obs_dim], params.net_arch.clone(), vec![out]].concat();
        let actor = init_weights(&sizes(n_actions), params.activation, init(0.01), &mut init_rng);
        let critic = init_weights(&sizes(1), params.activation, init(1.0), &mut init_rng);
        let agent = PpoAgent {
            params: params.clone(),
            rng: Rng::derive(seed, 2),
            num_timesteps: 0,
            episodes: EpisodeWindow::default(),
            resume: None,
            frozen: None,
        };
        let (model, optimizer) =
            Self::build(&[&actor], &[&critic], &[], params.adam_eps, device).unwrap_or_else(|e| unreachable!("fresh networks stack: {e}"));
        Self {
            acting: model.valid(),
            model,
            optimizer,
            device: device.clone(),
            ad_device: device.clone().autodiff(),
            obs_dim,
            n_actions,
            n_updates: 0,
            agents: vec![agent],
            params,
            host: Default::default(),
        }
    }

    /// The stacked networks and optimizer of agents with these weights and
    /// (checkpoint-form) Adam states.
    fn build(
        actors: &[&MlpWeights],
        critics: &[&MlpWeights],
        moments: &[(&[AdamMoments], &[u64], &[u64])],
        adam_eps: f64,
        device: &Device,
    ) -> Result<(ActorCritic, AdamOptimizer), String> {
        let ad = device.clone().autodiff();
        let model = ActorCritic { actor: StackedMlp::from_members(actors, &ad)?, critic: StackedMlp::from_members(critics, &ad)? };
        let mut optimizer = AdamOptimizer::new(adam_eps);
        if !moments.is_empty() {
            let actor_m: Vec<(&[AdamMoments], &[u64])> = moments.iter().map(|(m, a, _)| (*m, *a)).collect();
            let critic_m: Vec<(&[AdamMoments], &[u64])> = moments.iter().map(|(m, _, c)| (*m, *c)).collect();
            let stacked = [stack_moments(&actor_m, &model.actor.slots())?, stack_moments(&critic_m, &model.critic.slots())?].concat();
            let shapes: Vec<(u64, Vec<usize>)> = [model.actor.slots(), model.critic.slots()]
                .concat()
                .into_iter()
                .map(|(id, shape)| (id.val(), [vec![actors.len()], if shape.len() == 1 { vec![1, shape[0]] } else { shape }].concat()))
                .collect();
            optimizer.restore(&stacked, &shapes, device)?;
        }
        Ok((model, optimizer))
    }

    fn sizes(&self, out: usize) -> Vec<usize> {
        [vec![self.obs_dim], self.params.net_arch.clone(), vec![out]].concat()
    }

    /// Trains every agent until `total_timesteps` env steps or until its callbacks say stop.
    pub fn learn(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        let s = self.agents.len();
        if members.len() != s {
            return Err(format!("{} members for a batch of {s} agents", members.len()));
        }
        let n_envs = members[0].venv.num_envs();
        if members.iter().any(|m| m.venv.num_envs() != n_envs) {
            return Err("every agent of a batch needs the same number of envs".into());
        }
        let (mut buffers, mut last_obs, mut starts) = (Vec::with_capacity(s), Vec::with_capacity(s), Vec::with_capacity(s));
        for (agent, m) in self.agents.iter_mut().zip(members.iter_mut()) {
            let (b, o, e) = match agent.resume.take() {
                Some(r) if r.0.n_envs == n_envs => r,
                Some(r) => return Err(format!("the checkpoint's rollout is for {} envs, the run has {n_envs}", r.0.n_envs)),
                None => {
                    m.venv.reset(m.seed);
                    (RolloutBuffer::new(self.params.n_steps, n_envs, self.obs_dim), m.venv.obs.clone(), vec![true; n_envs])
                }
            };
            buffers.push(b);
            last_obs.push(o);
            starts.push(e);
        }
        let mut active: Vec<bool> = self.agents.iter().map(|a| a.frozen.is_none()).collect();

        // A full rollout only comes from a checkpoint taken on its last step: train on it first.
        loop {
            let Some(lead) = active.iter().position(|&a| a) else { return Ok(()) };
            if !(self.agents[lead].num_timesteps < total_timesteps || buffers[lead].full()) {
                return Ok(());
            }
            // 1. Collect n_steps x n_envs transitions per agent with the current policies.
            while !buffers[lead].full() {
                let sampled = self.sample_actions(&last_obs, n_envs)?;
                let mut any_truncated = false;
                for k in (0..s).filter(|&k| active[k]) {
                    let venv = &mut *members[k].venv;
                    venv.step(Actions::Discrete(&sampled[k].0))?;
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
                    buffers[k].add(&last_obs[k], Actions::Discrete(actions), &rewards, &starts[k], values, log_probs);
                    last_obs[k].copy_from_slice(&venv.obs);
                    for (i, start) in starts[k].iter_mut().enumerate() {
                        *start = venv.done(i);
                    }
                }
                for k in 0..s {
                    if !active[k] {
                        continue;
                    }
                    let Member { venv, callback, .. } = &mut members[k];
                    let view =
                        PpoAt { ppo: self, k, venv: &**venv, buffer: &buffers[k], last_obs: &last_obs[k], last_episode_starts: &starts[k] };
                    if callback.on_step(&view, self.agents[k].num_timesteps) == Control::Stop {
                        active[k] = false;
                        self.agents[k].frozen = Some(self.freeze(k)?);
                    }
                }
                if !active[lead] {
                    break;
                }
            }
            if !active[lead] {
                continue;
            }
            let obs: Vec<f32> = last_obs.iter().flatten().copied().collect();
            let last_values = self.values(obs, n_envs)?;
            for k in (0..s).filter(|&k| active[k]) {
                let p = &self.agents[k].params;
                buffers[k].compute_returns_and_advantage(&last_values[k * n_envs..(k + 1) * n_envs], &starts[k], p.gamma, p.gae_lambda);
            }

            // 2. Optimise the clipped surrogate on minibatches for n_epochs.
            let progress_remaining = 1.0 - self.agents[lead].num_timesteps as f64 / total_timesteps as f64;
            let metrics = self.train(&buffers, progress_remaining)?;
            for k in 0..s {
                buffers[k].reset();
                if active[k] {
                    members[k].callback.on_update(&metrics[k]);
                }
            }
        }
    }

    fn training_state(
        &self,
        k: usize,
        venv: &VecEnv,
        buffer: &RolloutBuffer,
        last_obs: &[f32],
        last_episode_starts: &[bool],
    ) -> Result<TrainingState, String> {
        let nets = self.member_nets(k)?;
        let a = &self.agents[k];
        let agent = AgentState {
            networks: vec![nets.actor, nets.critic],
            optimizer: nets.optimizer,
            algo: AlgoState::Ppo(PpoState {
                num_timesteps: a.num_timesteps,
                n_updates: self.n_updates,
                rng: a.rng.clone(),
                episodes: a.episodes.clone(),
                rollout: buffer.clone(),
                last_obs: last_obs.to_vec(),
                last_episode_starts: last_episode_starts.to_vec(),
            }),
        };
        Ok(TrainingState { agent, venv: venv.snapshot()? })
    }

    /// Loads a checkpoint into a one-agent batch, checking every shape against this run's config first.
    pub fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        if self.agents.len() != 1 {
            return Err("a checkpoint restores into a batch of one agent (merge batches after restoring)".into());
        }
        let AlgoState::Ppo(s) = &state.algo else { return Err("the checkpoint is a DQN run's; this run is PPO".into()) };
        let (actor, critic) = (state.network("actor")?, state.network("critic")?);
        check_network(actor, &self.sizes(self.n_actions), self.params.activation)?;
        check_network(critic, &self.sizes(1), self.params.activation)?;
        let r = &s.rollout;
        let n = r.n_steps * r.n_envs;
        let lens_ok = [
            r.obs.len() == n * r.obs_dim,
            r.actions.len() == n,
            r.rewards.len() == n,
            r.episode_starts.len() == n,
            r.values.len() == n,
            r.log_probs.len() == n,
            r.advantages.len() == n,
            r.returns.len() == n,
        ];
        if r.n_steps != self.params.n_steps
            || r.obs_dim != self.obs_dim
            || r.pos > r.n_steps
            || lens_ok.contains(&false)
            || r.actions.iter().any(|&a| a >= self.n_actions)
        {
            return Err(format!(
                "the checkpoint's rollout ({} steps x {} envs, at step {}) does not fit algorithm.params.n_steps={} and {} observation values",
                r.n_steps, r.n_envs, r.pos, self.params.n_steps, self.obs_dim
            ));
        }
        if s.last_obs.len() != r.n_envs * self.obs_dim || s.last_episode_starts.len() != r.n_envs {
            return Err("the checkpoint's last observations do not match its rollout's env count".into());
        }
        s.episodes.check()?;
        if actor.param_ids.len() != 2 * (actor.weights.sizes.len() - 1) || critic.param_ids.len() != 2 * (critic.weights.sizes.len() - 1) {
            return Err("the checkpoint's networks list the wrong number of parameter ids".into());
        }
        let moments = [(&state.optimizer[..], &actor.param_ids[..], &critic.param_ids[..])];
        let (model, optimizer) = Self::build(&[&actor.weights], &[&critic.weights], &moments, self.params.adam_eps, &self.device)?;
        self.optimizer = optimizer;
        self.acting = model.valid();
        self.model = model;
        self.host = Default::default();
        self.n_updates = s.n_updates;
        self.agents[0] = PpoAgent {
            params: self.params.clone(),
            rng: s.rng.clone(),
            num_timesteps: s.num_timesteps,
            episodes: s.episodes.clone(),
            resume: Some((s.rollout.clone(), s.last_obs.clone(), s.last_episode_starts.clone())),
            frozen: None,
        };
        Ok(())
    }

    /// Samples every agent's actions from its categorical policy: per agent
    /// actions, V(s), log pi(a|s). `obs`: each agent's `n` observations.
    fn sample_actions(&mut self, obs: &[Vec<f32>], n: usize) -> Result<Vec<(Vec<usize>, Vec<f64>, Vec<f64>)>, String> {
        let s = obs.len();
        let x = stack3(obs.iter().flatten().copied().collect(), s, n, self.obs_dim, &self.device);
        let out = read_vec(self.acting.logits_and_values(x))?;
        let a = self.n_actions;
        let mut sampled = Vec::with_capacity(s);
        for (agent, rows) in self.agents.iter_mut().zip(out.chunks(n * (a + 1))) {
            let (mut actions, mut values, mut log_probs) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
            for row in rows.chunks(a + 1) {
                let logits = &row[..a];
                let max = logits.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l)) as f64;
                let sum_exp: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
                let log_z = max + sum_exp.ln();
                let u = agent.rng.next_f64() * sum_exp;
                let mut acc = 0.0;
                let mut action = a - 1;
                for (j, &l) in logits.iter().enumerate() {
                    acc += (l as f64 - max).exp();
                    if u < acc {
                        action = j;
                        break;
                    }
                }
                actions.push(action);
                log_probs.push(logits[action] as f64 - log_z);
                values.push(row[a] as f64);
            }
            sampled.push((actions, values, log_probs));
        }
        Ok(sampled)
    }

    /// V(s) of every agent's `n` observations (`obs`: S x n x obs_dim), agent-major.
    fn values(&self, obs: Vec<f32>, n: usize) -> Result<Vec<f64>, String> {
        let x = stack3(obs, self.agents.len(), n, self.obs_dim, &self.device);
        Ok(read_vec(self.acting.critic.forward(x))?.into_iter().map(f64::from).collect())
    }

    /// One update of every agent on its own rollout; each agent's metrics.
    fn train(&mut self, buffers: &[RolloutBuffer], progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        let p = &self.params;
        let each = |f: &dyn Fn(&PpoParams) -> f64| PerAgent::of(self.agents.iter().map(|a| f(&a.params)));
        let lr = each(&|a| a.learning_rate.value(progress_remaining));
        let clip = each(&|a| a.clip_range.value(progress_remaining));
        let (ent_coef, vf_coef, max_grad_norm) = (each(&|a| a.ent_coef), each(&|a| a.vf_coef), each(&|a| a.max_grad_norm));
        let s = self.agents.len();
        let (n, d, b) = (buffers[0].len(), self.obs_dim, p.batch_size);
        let mut indices: Vec<Vec<usize>> = vec![(0..n).collect(); s];
        let mut stats: Vec<Tensor<2>> = Vec::new();
        let (mut mb_obs, mut mb_act, mut mb_logp, mut mb_adv, mut mb_ret) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
                for (buffer, idx) in buffers.iter().zip(&indices) {
                    adv.clear();
                    for &k in &idx[start..start + m] {
                        mb_obs.extend_from_slice(&buffer.obs[k * d..(k + 1) * d]);
                        mb_act.push(buffer.actions[k] as i64);
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
                let actions = Tensor::<3, Int>::from_data(TensorData::new(mb_act.clone(), [s, m, 1]), dev);
                let old_log_prob = Tensor::<2>::from_data(TensorData::new(mb_logp.clone(), [s, m]), dev);
                let advantages = Tensor::<2>::from_data(TensorData::new(mb_adv.clone(), [s, m]), dev);
                let returns = Tensor::<2>::from_data(TensorData::new(mb_ret.clone(), [s, m]), dev);

                let log_probs_all = log_softmax(self.model.actor.forward(obs.clone()), 2);
                let log_prob = log_probs_all.clone().gather(2, actions).reshape([s, m]);
                let entropy = (log_probs_all.clone().exp() * log_probs_all).sum_dim(2).reshape([s, m]).neg();
                let values = self.model.critic.forward(obs).reshape([s, m]);

                // Per agent [S, 1]: each agent's losses are means over its own minibatch.
                let log_ratio = log_prob - old_log_prob;
                let ratio = log_ratio.clone().exp();
                let surrogate = advantages.clone() * ratio.clone();
                let clipped = advantages * clip.clamp_around_one(ratio.clone());
                let policy_loss = surrogate.min_pair(clipped).mean_dim(1).neg();
                let value_loss = (returns - values).square().mean_dim(1);
                let entropy_loss = entropy.mean_dim(1).neg();
                let loss = policy_loss.clone() + ent_coef.mul(entropy_loss.clone()) + vf_coef.mul(value_loss.clone());

                // The agents share no parameter: the gradient of the sum is each agent's own.
                let mut grads = GradientsParams::from_grads(loss.clone().sum().backward(), &self.model);
                clip_grad_norm_per_agent(&mut grads, &[&self.model.actor, &self.model.critic], &max_grad_norm);
                self.model = self.optimizer.step(&lr, self.model.clone(), grads);

                // Diagnostics stay on the device and are read once per update.
                let ratio = ratio.inner();
                let log_ratio = log_ratio.inner();
                let clip_fraction = clip.outside_around_one(ratio.clone()).mean_dim(1);
                let approx_kl = (ratio.sub_scalar(1.0) - log_ratio).mean_dim(1);
                last_loss = loss.inner();
                stats.push(Tensor::cat(vec![policy_loss.inner(), value_loss.inner(), entropy_loss.inner(), approx_kl, clip_fraction], 1));
            }
        }
        self.n_updates += p.n_epochs as u64;
        self.acting = self.model.valid();
        self.host.0.clear();
        self.host.1.clear();

        // [G, S, 5] -> per agent means over the minibatches.
        let stats = read_vec(Tensor::stack::<3>(stats, 0).mean_dim(0))?;
        let last_loss = read_vec(last_loss)?;
        let mut out = Vec::with_capacity(s);
        for (k, (agent, buffer)) in self.agents.iter().zip(buffers).enumerate() {
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
            m.push("train/explained_variance", explained_variance(&buffer.values, &buffer.returns));
            m.push("train/n_updates", self.n_updates as f64);
            out.push(m);
        }
        Ok(out)
    }

    fn policy_of(&self, k: usize) -> Policy {
        acting_policy(&self.acting.actor, &self.host.0, k, PolicyHead::Logits, &self.device)
    }

    fn networks_of(&self, k: usize) -> Result<Vec<(String, MlpWeights)>, String> {
        Ok(vec![
            ("actor".into(), self.host.0.member(&self.acting.actor, k)?),
            ("critic".into(), self.host.1.member(&self.acting.critic, k)?),
        ])
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
