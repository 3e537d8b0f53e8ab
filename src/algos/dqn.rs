//! Deep Q-Network, after SB3's `DQN` and CleanRL's `dqn.py`: replay buffer,
//! target network copied every `target_update_interval` env steps, linear
//! epsilon schedule, `train_freq`/`gradient_steps`, Huber loss, global-norm
//! gradient clipping. Acting uses a no-autodiff snapshot of the Q-network.
//!
//! As PPO, the loop trains S agents of one config at once ([`StackedMlp`]
//! networks with a leading agent axis), each with its own envs, replay
//! buffer, generator and exploration coin; a plain run is S = 1.

use super::adam::{AdamMoments, AdamOptimizer};
use super::buffers::{ReplayBuffer, ReplaySample};
use super::nets::{Init, MlpWeights, init_weights};
use super::stacked::{
    HostCopy, PerAgent, StackedMlp, acting_policy, clip_grad_norm_per_agent, member_moments, member_param_ids, stack_moments, stack3,
};
use super::{
    Agent, AgentState, AgentView, AlgoState, Control, EpisodeWindow, FrozenAgent, Member, Metrics, NetworkState, Policy, PolicyHead,
    TrainingState, argmax, check_network, read_vec,
};
use crate::config::DqnParams;
use crate::envs::{Action, Actions, VecEnv};
use crate::rng::Rng;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// DQN's training state between two env steps, as a checkpoint holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DqnState {
    pub num_timesteps: u64,
    pub n_calls: u64,
    pub n_updates: u64,
    pub exploration_rate: f64,
    pub rng: Rng,
    pub episodes: EpisodeWindow,
    pub last_obs: Vec<f32>,
    /// Steps per env collected since the last training phase.
    pub collected: u64,
    /// The stored transitions only (not the empty tail); `None` when
    /// `experiment.checkpoint_replay_buffer=false`.
    pub replay: Option<ReplayBuffer>,
}

/// What is each agent's own in a batch.
struct DqnAgent {
    /// Its own hyperparameters: only the scalars may differ from the batch's `params`.
    params: DqnParams,
    /// Its epsilon now (from its own exploration schedule).
    exploration_rate: f64,
    rng: Rng,
    num_timesteps: u64,
    episodes: EpisodeWindow,
    /// Where `learn` continues after a restore: replay buffer, last obs, collected.
    resume: Option<(ReplayBuffer, Vec<f32>, u64)>,
    frozen: Option<FrozenAgent>,
}

pub struct Dqn {
    /// The batch's shapes and loop structure (agent 0's params).
    pub params: DqnParams,
    /// Trained on `device.autodiff()`.
    q_net: StackedMlp,
    /// No-autodiff snapshot of `q_net` used to act, refreshed after each training phase.
    acting: StackedMlp,
    target: StackedMlp,
    optimizer: AdamOptimizer,
    device: Device,
    ad_device: Device,
    obs_dim: usize,
    n_actions: usize,
    /// Shared by the batch: its agents step in lockstep.
    n_calls: u64,
    n_updates: u64,
    agents: Vec<DqnAgent>,
    /// Host copies of `acting` and `target`.
    host: (HostCopy, HostCopy),
}

impl Dqn {
    /// Its `algorithm.name`.
    pub const NAME: &'static str = "dqn";

    /// The batch's params as an algorithm config (what batching compares).
    fn config(&self) -> crate::config::AlgorithmConfig {
        crate::config::AlgorithmConfig::Dqn(self.params.clone())
    }

    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn new(params: DqnParams, obs_dim: usize, n_actions: usize, seed: u64, device: &Device) -> Self {
        let sizes = [vec![obs_dim], params.net_arch.clone(), vec![n_actions]].concat();
        let q = init_weights(&sizes, params.activation, Init::TorchDefault, &mut Rng::derive(seed, 1));
        let (q_net, target, optimizer) =
            Self::build(&[&q], &[&q], &[], params.adam_eps, device).unwrap_or_else(|e| unreachable!("fresh networks stack: {e}"));
        let agent = DqnAgent {
            params: params.clone(),
            exploration_rate: params.exploration_initial_eps,
            rng: Rng::derive(seed, 2),
            num_timesteps: 0,
            episodes: EpisodeWindow::default(),
            resume: None,
            frozen: None,
        };
        Self {
            acting: q_net.valid(),
            target,
            q_net,
            optimizer,
            device: device.clone(),
            ad_device: device.clone().autodiff(),
            obs_dim,
            n_actions,
            n_calls: 0,
            n_updates: 0,
            agents: vec![agent],
            params,
            host: Default::default(),
        }
    }

    /// Stacked Q-network, target network and optimizer of agents with these
    /// weights and (checkpoint-form) Adam states.
    fn build(
        qs: &[&MlpWeights],
        targets: &[&MlpWeights],
        moments: &[(&[AdamMoments], &[u64])],
        adam_eps: f64,
        device: &Device,
    ) -> Result<(StackedMlp, StackedMlp, AdamOptimizer), String> {
        let q_net = StackedMlp::from_members(qs, &device.clone().autodiff())?;
        let target = StackedMlp::from_members(targets, device)?;
        let mut optimizer = AdamOptimizer::new(adam_eps);
        if !moments.is_empty() {
            let stacked = stack_moments(moments, &q_net.slots())?;
            let shapes: Vec<(u64, Vec<usize>)> = q_net
                .slots()
                .into_iter()
                .map(|(id, shape)| (id.val(), [vec![qs.len()], if shape.len() == 1 { vec![1, shape[0]] } else { shape }].concat()))
                .collect();
            optimizer.restore(&stacked, &shapes, device)?;
        }
        Ok((q_net, target, optimizer))
    }

    /// Why `parts` cannot train as one batch, if they cannot.
    pub fn check_mergeable(parts: &[Dqn]) -> Result<(), String> {
        let first = parts.first().ok_or("no DQN agents to batch")?;
        let key = |d: &Dqn| (d.n_calls, d.n_updates, d.agents[0].num_timesteps, d.agents[0].resume.as_ref().map(|r| (r.1.len(), r.2)));
        for p in parts {
            if p.config().batch_shape() != first.config().batch_shape() || p.obs_dim != first.obs_dim || p.n_actions != first.n_actions {
                return Err("the agents' algorithm.params differ in more than scalars (learning rate, gamma, exploration schedule, gradient clip), or their env spaces differ: they train apart".into());
            }
            if p.agents.iter().any(|a| a.num_timesteps != first.agents[0].num_timesteps) || key(p) != key(first) {
                return Err("the agents are at different steps (from different checkpoints): they train apart".into());
            }
        }
        Ok(())
    }

    /// One batch of several batches' agents (same config and step), in order.
    pub fn merge(parts: Vec<Dqn>) -> Result<Dqn, String> {
        Self::check_mergeable(&parts)?;
        let first = &parts[0];
        let (mut qs, mut targets, mut moments) = (Vec::new(), Vec::new(), Vec::new());
        let ids = member_param_ids(0, first.q_net.slots().len());
        for p in &parts {
            let stacked = p.optimizer.moments()?;
            let (pq, pt) = (p.acting.to_members()?, p.target.to_members()?);
            for k in 0..p.agents.len() {
                moments.push(member_moments(&stacked, &p.q_net.slots(), &ids, k, p.agents.len())?);
            }
            qs.extend(pq);
            targets.extend(pt);
        }
        let m: Vec<(&[AdamMoments], &[u64])> = moments.iter().map(|m| (&m[..], &ids[..])).collect();
        let (q_net, target, optimizer) =
            Self::build(&qs.iter().collect::<Vec<_>>(), &targets.iter().collect::<Vec<_>>(), &m, first.params.adam_eps, &first.device)?;
        let (params, device, ad_device, obs_dim, n_actions) =
            (first.params.clone(), first.device.clone(), first.ad_device.clone(), first.obs_dim, first.n_actions);
        let (n_calls, n_updates) = (first.n_calls, first.n_updates);
        let agents = parts.into_iter().flat_map(|p| p.agents).collect();
        Ok(Dqn {
            params,
            acting: q_net.valid(),
            q_net,
            target,
            optimizer,
            device,
            ad_device,
            obs_dim,
            n_actions,
            n_calls,
            n_updates,
            agents,
            host: Default::default(),
        })
    }

    /// SB3's `get_linear_fn(initial, final, fraction)` at `progress_remaining`.
    fn epsilon(p: &DqnParams, progress_remaining: f64) -> f64 {
        let progress = 1.0 - progress_remaining;
        if progress > p.exploration_fraction {
            p.exploration_final_eps
        } else {
            p.exploration_initial_eps + progress * (p.exploration_final_eps - p.exploration_initial_eps) / p.exploration_fraction
        }
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
        let d = self.obs_dim;
        let restored = self.agents.iter().any(|a| a.resume.is_some());
        let (mut replays, mut last_obs, mut collected) = (Vec::with_capacity(s), Vec::with_capacity(s), 0);
        for (agent, m) in self.agents.iter_mut().zip(members.iter_mut()) {
            let (r, o, c) = match agent.resume.take() {
                Some(r) if r.1.len() == n_envs * d => r,
                Some(r) => {
                    return Err(format!("the checkpoint's last observations are for {} envs, the run has {n_envs}", r.1.len() / d.max(1)));
                }
                None => {
                    m.venv.reset(m.seed);
                    (ReplayBuffer::new(self.params.buffer_size, d), m.venv.obs.clone(), 0)
                }
            };
            replays.push(r);
            last_obs.push(o);
            collected = c;
        }
        let mut samples: Vec<ReplaySample> = (0..s).map(|_| ReplaySample::default()).collect();
        let target_every = (self.params.target_update_interval / n_envs as u64).max(1);
        let mut active: Vec<bool> = self.agents.iter().map(|a| a.frozen.is_none()).collect();
        let lead = |active: &[bool]| active.iter().position(|&a| a);

        // Restored from a checkpoint, the step it was taken on is finished first
        // (its training phase may still be due, even at the last step).
        let mut resumed = restored;
        loop {
            let Some(l) = lead(&active) else { return Ok(()) };
            if !(self.agents[l].num_timesteps < total_timesteps || resumed) {
                return Ok(());
            }
            // 1. Collect train_freq steps per env.
            while collected < self.params.train_freq && !(resumed && self.agents[l].num_timesteps >= total_timesteps) {
                resumed = false;
                let actions = self.sample_actions(&last_obs, n_envs, &active)?;
                for k in (0..s).filter(|&k| active[k]) {
                    let venv = &mut *members[k].venv;
                    venv.step(Actions::Discrete(&actions[k]))?;
                    let agent = &mut self.agents[k];
                    agent.num_timesteps += n_envs as u64;
                    agent.episodes.drain_from(venv);
                    for i in 0..n_envs {
                        // After a reset venv.obs is the new episode's start; the transition ends at final_obs.
                        let next = if venv.done(i) { &venv.final_obs[i * d..(i + 1) * d] } else { &venv.obs[i * d..(i + 1) * d] };
                        replays[k].add(
                            &last_obs[k][i * d..(i + 1) * d],
                            next,
                            Action::Discrete(actions[k][i]),
                            venv.rewards[i],
                            venv.terminated[i],
                        );
                    }
                    last_obs[k].copy_from_slice(&venv.obs);
                }
                collected += 1;
                // SB3's _on_step: target copy by env-step count, epsilon by progress.
                self.n_calls += 1;
                if self.n_calls % target_every == 0 {
                    self.target = self.q_net.valid();
                    self.host.1.clear();
                }
                let progress_remaining = 1.0 - self.agents[l].num_timesteps as f64 / total_timesteps as f64;
                for agent in &mut self.agents {
                    agent.exploration_rate = Self::epsilon(&agent.params, progress_remaining);
                }
                // After the step is fully recorded (SB3 calls it before storing; the
                // order changes nothing callbacks see, and a checkpoint here is exact).
                for k in 0..s {
                    if !active[k] {
                        continue;
                    }
                    let Member { venv, callback, .. } = &mut members[k];
                    let view = DqnAt { dqn: self, k, venv: &**venv, replay: &replays[k], last_obs: &last_obs[k], collected };
                    if callback.on_step(&view, self.agents[k].num_timesteps) == Control::Stop {
                        active[k] = false;
                        self.agents[k].frozen = Some(self.freeze(k)?);
                    }
                }
                if !active[l] || self.agents[l].num_timesteps >= total_timesteps {
                    break;
                }
            }
            if !active[l] {
                continue;
            }

            // 2. Gradient steps once past learning_starts.
            if self.agents[l].num_timesteps > self.params.learning_starts && !replays[l].is_empty() {
                let steps = if self.params.gradient_steps < 0 { collected * n_envs as u64 } else { self.params.gradient_steps as u64 };
                let progress_remaining = 1.0 - self.agents[l].num_timesteps as f64 / total_timesteps as f64;
                let metrics = self.train(&replays, &mut samples, steps, progress_remaining)?;
                for k in (0..s).filter(|&k| active[k]) {
                    members[k].callback.on_update(&metrics[k]);
                }
            }
            collected = 0;
            resumed = false;
        }
    }

    fn sizes(&self) -> Vec<usize> {
        [vec![self.obs_dim], self.params.net_arch.clone(), vec![self.n_actions]].concat()
    }

    fn freeze(&self, k: usize) -> Result<FrozenAgent, String> {
        Ok(FrozenAgent {
            head: PolicyHead::QValues,
            policy: self.policy_of(k),
            networks: self.networks_of(k)?,
            num_timesteps: self.agents[k].num_timesteps,
        })
    }

    fn training_state(&self, at: &DqnAt, with_replay_buffer: bool) -> Result<TrainingState, String> {
        let (k, s) = (at.k, self.agents.len());
        let slots = self.q_net.slots();
        let ids = member_param_ids(0, slots.len());
        let (q, target) = (self.host.0.member(&self.acting, k)?, self.host.1.member(&self.target, k)?);
        let a = &self.agents[k];
        let agent = AgentState {
            networks: vec![
                NetworkState { name: "q_net".into(), weights: q, param_ids: ids.clone() },
                NetworkState { name: "target_q_net".into(), weights: target, param_ids: member_param_ids(1, slots.len()) },
            ],
            optimizer: member_moments(&self.optimizer.moments()?, &slots, &ids, k, s)?,
            algo: AlgoState::Dqn(DqnState {
                num_timesteps: a.num_timesteps,
                n_calls: self.n_calls,
                n_updates: self.n_updates,
                exploration_rate: a.exploration_rate,
                rng: a.rng.clone(),
                episodes: a.episodes.clone(),
                last_obs: at.last_obs.to_vec(),
                collected: at.collected,
                replay: with_replay_buffer.then(|| at.replay.stored()),
            }),
        };
        Ok(TrainingState { agent, venv: at.venv.snapshot()? })
    }

    /// Loads a checkpoint into a one-agent batch, checking every shape against
    /// this run's config first. Without a replay buffer in it, training
    /// continues with an empty one.
    pub fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        if self.agents.len() != 1 {
            return Err("a checkpoint restores into a batch of one agent (merge batches after restoring)".into());
        }
        let AlgoState::Dqn(s) = &state.algo else { return Err("the checkpoint is a PPO run's; this run is DQN".into()) };
        let (q, target) = (state.network("q_net")?, state.network("target_q_net")?);
        for n in [q, target] {
            check_network(n, &self.sizes(), self.params.activation)?;
        }
        if s.last_obs.is_empty() || s.last_obs.len() % self.obs_dim != 0 || s.collected > self.params.train_freq {
            return Err(format!(
                "the checkpoint's loop state ({} observation values, {} steps collected) does not fit this config",
                s.last_obs.len(),
                s.collected
            ));
        }
        if !(0.0..=1.0).contains(&s.exploration_rate) {
            return Err(format!("the checkpoint's exploration rate {} is outside [0, 1]", s.exploration_rate));
        }
        if q.param_ids.len() != 2 * (q.weights.sizes.len() - 1) {
            return Err("the checkpoint's q_net lists the wrong number of parameter ids".into());
        }
        s.episodes.check()?;
        let replay = match &s.replay {
            Some(r) => r.clone().expanded(self.params.buffer_size, self.obs_dim, self.n_actions)?,
            None => ReplayBuffer::new(self.params.buffer_size, self.obs_dim),
        };
        let (q_net, target, optimizer) = Self::build(
            &[&q.weights],
            &[&target.weights],
            &[(&state.optimizer[..], &q.param_ids[..])],
            self.params.adam_eps,
            &self.device,
        )?;
        self.optimizer = optimizer;
        self.acting = q_net.valid();
        self.q_net = q_net;
        self.target = target;
        self.host = Default::default();
        self.n_calls = s.n_calls;
        self.n_updates = s.n_updates;
        self.agents[0] = DqnAgent {
            params: self.params.clone(),
            exploration_rate: s.exploration_rate,
            rng: s.rng.clone(),
            num_timesteps: s.num_timesteps,
            episodes: s.episodes.clone(),
            resume: Some((replay, s.last_obs.clone(), s.collected)),
            frozen: None,
        };
        Ok(())
    }

    /// Random actions before learning_starts, then epsilon-greedy with one coin
    /// per agent for its whole batch of envs (as SB3's `DQN.predict` does). One
    /// forward pass serves every agent that acts greedily.
    fn sample_actions(&mut self, obs: &[Vec<f32>], n: usize, active: &[bool]) -> Result<Vec<Vec<usize>>, String> {
        let (learning_starts, a) = (self.params.learning_starts, self.n_actions);
        let explore: Vec<bool> = self
            .agents
            .iter_mut()
            .zip(active)
            .map(|(agent, &on)| !on || agent.num_timesteps < learning_starts || agent.rng.next_f64() < agent.exploration_rate)
            .collect();
        let greedy = if explore.iter().all(|&e| e) {
            Vec::new()
        } else {
            let x = stack3(obs.iter().flatten().copied().collect(), obs.len(), n, self.obs_dim, &self.device);
            read_vec(self.acting.forward(x))?
        };
        let mut out = Vec::with_capacity(self.agents.len());
        for (k, agent) in self.agents.iter_mut().enumerate() {
            out.push(if !active[k] {
                vec![0; n]
            } else if explore[k] {
                (0..n).map(|_| agent.rng.below(a)).collect()
            } else {
                greedy[k * n * a..(k + 1) * n * a].chunks(a).map(argmax).collect()
            });
        }
        Ok(out)
    }

    /// `gradient_steps` updates of every agent on minibatches of its own replay buffer.
    fn train(
        &mut self,
        replays: &[ReplayBuffer],
        samples: &mut [ReplaySample],
        gradient_steps: u64,
        progress_remaining: f64,
    ) -> Result<Vec<Metrics>, String> {
        let p = &self.params;
        let lr = PerAgent::of(self.agents.iter().map(|a| a.params.learning_rate.value(progress_remaining)));
        let (gamma, max_grad_norm) =
            (PerAgent::of(self.agents.iter().map(|a| a.params.gamma)), PerAgent::of(self.agents.iter().map(|a| a.params.max_grad_norm)));
        let (s, b, d) = (self.agents.len(), p.batch_size, self.obs_dim);
        let mut losses: Vec<Tensor<2>> = Vec::with_capacity(gradient_steps as usize);
        let mut mean_q: Vec<Tensor<2>> = Vec::with_capacity(gradient_steps as usize);
        for _ in 0..gradient_steps {
            for ((replay, agent), sample) in replays.iter().zip(self.agents.iter_mut()).zip(samples.iter_mut()) {
                replay.sample_into(b, &mut agent.rng, sample);
            }
            let cat_f = |f: fn(&ReplaySample) -> &Vec<f32>| samples.iter().flat_map(|x| f(x).iter().copied()).collect::<Vec<f32>>();
            // TD target from the frozen target net, on the plain device (no graph).
            let next_obs = stack3(cat_f(|x| &x.next_obs), s, b, d, &self.device);
            let rewards = Tensor::<2>::from_data(TensorData::new(cat_f(|x| &x.rewards), [s, b]), &self.device);
            let not_done: Vec<f32> = samples.iter().flat_map(|x| x.dones.iter().map(|v| 1.0 - v)).collect();
            let not_done = Tensor::<2>::from_data(TensorData::new(not_done, [s, b]), &self.device);
            let next_q = self.target.forward(next_obs).max_dim(2).reshape([s, b]);
            let target_q = rewards + not_done * gamma.mul(next_q);

            let obs = stack3(cat_f(|x| &x.obs), s, b, d, &self.ad_device);
            let actions: Vec<i64> = samples.iter().flat_map(|x| x.actions.iter().copied()).collect();
            let actions = Tensor::<3, Int>::from_data(TensorData::new(actions, [s, b, 1]), &self.ad_device);
            let q_all = self.q_net.forward(obs);
            let q = q_all.clone().gather(2, actions).reshape([s, b]);
            let loss = smooth_l1(q, target_q);

            // The agents share no parameter: the gradient of the sum is each agent's own.
            let mut grads = GradientsParams::from_grads(loss.clone().sum().backward(), &self.q_net);
            clip_grad_norm_per_agent(&mut grads, &[&self.q_net], &max_grad_norm);
            self.q_net = self.optimizer.step(&lr, self.q_net.clone(), grads);
            losses.push(loss.inner());
            mean_q.push(q_all.inner().reshape([s, b * self.n_actions]).mean_dim(1));
        }
        self.n_updates += gradient_steps;
        self.acting = self.q_net.valid();
        self.host.0.clear();
        let loss = read_vec(Tensor::cat(losses, 1).mean_dim(1))?;
        let q = read_vec(Tensor::cat(mean_q, 1).mean_dim(1))?;
        let mut out = Vec::with_capacity(s);
        for (k, agent) in self.agents.iter().enumerate() {
            let mut m = Metrics::default();
            m.push("time/total_timesteps", agent.num_timesteps as f64);
            agent.episodes.push_into(&mut m);
            m.push("rollout/exploration_rate", agent.exploration_rate);
            m.push("train/learning_rate", lr.get(k));
            m.push("train/loss", loss.get(k).copied().unwrap_or(f32::NAN) as f64);
            m.push("train/mean_q", q.get(k).copied().unwrap_or(f32::NAN) as f64);
            m.push("train/n_updates", self.n_updates as f64);
            out.push(m);
        }
        Ok(out)
    }

    fn policy_of(&self, k: usize) -> Policy {
        acting_policy(&self.acting, &self.host.0, k, PolicyHead::QValues, &self.device)
    }

    fn networks_of(&self, k: usize) -> Result<Vec<(String, MlpWeights)>, String> {
        Ok(vec![("q_net".into(), self.host.0.member(&self.acting, k)?), ("target_q_net".into(), self.host.1.member(&self.target, k)?)])
    }
}

/// Huber loss with delta 1 (torch's `smooth_l1_loss`), per agent the mean over its minibatch: `[S, B]` -> `[S, 1]`.
fn smooth_l1(pred: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    let diff = pred - target;
    let abs = diff.clone().abs();
    let quadratic = abs.clone().clamp_max(1.0);
    // 0.5 q^2 + (|d| - q): equals 0.5 d^2 for |d| < 1 and |d| - 0.5 beyond.
    let linear = abs - quadratic.clone();
    (quadratic.square().mul_scalar(0.5) + linear).mean_dim(1)
}

impl Agent for Dqn {
    fn n_agents(&self) -> usize {
        self.agents.len()
    }
    fn view(&self, k: usize) -> Box<dyn AgentView + '_> {
        match &self.agents[k].frozen {
            Some(f) => Box::new(f),
            None => Box::new(DqnView { dqn: self, k }),
        }
    }
    fn learn(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        Dqn::learn(self, members, total_timesteps)
    }
    fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        Dqn::restore(self, state)
    }
    fn algorithm(&self) -> &'static str {
        Self::NAME
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Agent `k` in the middle of `learn`, as its callbacks see it: with its buffer and envs.
struct DqnAt<'a> {
    dqn: &'a Dqn,
    k: usize,
    venv: &'a VecEnv,
    replay: &'a ReplayBuffer,
    last_obs: &'a [f32],
    collected: u64,
}

impl AgentView for DqnAt<'_> {
    fn policy_head(&self) -> PolicyHead {
        PolicyHead::QValues
    }
    fn policy(&self) -> Policy {
        self.dqn.policy_of(self.k)
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.dqn.networks_of(self.k)
    }
    fn num_timesteps(&self) -> u64 {
        self.dqn.agents[self.k].num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.dqn.agents[self.k].episodes.just_finished()
    }
    fn checkpoint(&self, with_replay_buffer: bool) -> Result<TrainingState, String> {
        self.dqn.training_state(self, with_replay_buffer)
    }
}

/// Agent `k` between `learn` calls.
struct DqnView<'a> {
    dqn: &'a Dqn,
    k: usize,
}

impl AgentView for DqnView<'_> {
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        Err("a DQN checkpoint is taken between env steps, inside learn()".into())
    }
    fn policy_head(&self) -> PolicyHead {
        PolicyHead::QValues
    }
    fn policy(&self) -> Policy {
        self.dqn.policy_of(self.k)
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.dqn.networks_of(self.k)
    }
    fn num_timesteps(&self) -> u64 {
        self.dqn.agents[self.k].num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.dqn.agents[self.k].episodes.just_finished()
    }
}
