//! Deep Q-Network, after SB3's `DQN` and CleanRL's `dqn.py`: replay buffer,
//! target network copied every `target_update_interval` env steps, linear
//! epsilon schedule, `train_freq`/`gradient_steps`, Huber loss, global-norm
//! gradient clipping. Acting uses a no-autodiff snapshot of the Q-network.
//!
//! As PPO, the loop trains S agents of one config at once ([`StackedMlp`]
//! networks with a leading agent axis), each with its own envs, replay
//! buffer, generator and exploration coin; a plain run is S = 1.

use super::adam::OptimizerKind;
use super::batch::{Algorithm, Batch, Restored, Slot};
use super::buffers::{ReplayBuffer, ReplaySample};
use super::nets::{Init, both_on, init_weights};
use super::stacked::{PerAgent, clip_grad_norm_per_agent, stack3};
use super::{AlgoState, EpisodeWindow, Member, Metrics, PolicyHead, argmax, read_vec};
use crate::config::{AlgorithmConfig, DqnParams};
use crate::envs::{Action, ActionSpace, Actions};
use crate::rng::Rng;
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

/// The batch's DQN config and its counters (its agents step in lockstep).
pub struct Dqn {
    pub params: DqnParams,
    n_calls: u64,
    n_updates: u64,
}

/// Where `learn` continues: the replay buffer, the last observations, the
/// steps per env collected since the last training phase.
pub struct Replay {
    buffer: ReplayBuffer,
    last_obs: Vec<f32>,
    collected: u64,
}

/// The networks, in checkpoint order: the trained Q-network, then its target copy.
const Q_NET: usize = 0;
const TARGET: usize = 0;

impl Dqn {
    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn agent(params: DqnParams, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<Dqn> {
        let sizes = [vec![obs_dim], params.net_arch.clone(), vec![space.policy_outputs()]].concat();
        let q = init_weights(&sizes, params.activation, Init::TorchDefault, &mut Rng::derive(seed, 1));
        let epsilon = params.exploration_initial_eps;
        let algo = Dqn { params: params.clone(), n_calls: 0, n_updates: 0 };
        Batch::new(algo, params, &[q.clone(), q], epsilon, Rng::derive(seed, 2), obs_dim, space, device)
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
}

impl Algorithm for Dqn {
    const NAME: &'static str = "dqn";
    fn trained(&self) -> &'static [&'static str] {
        &["q_net"]
    }
    const FIXED: &'static [&'static str] = &["target_q_net"];
    type Params = DqnParams;
    /// Its epsilon now (from its own exploration schedule).
    type Own = f64;
    type Resume = Replay;

    fn config(&self) -> AlgorithmConfig {
        AlgorithmConfig::Dqn(self.params.clone())
    }
    fn head(&self) -> PolicyHead {
        PolicyHead::QValues
    }
    fn optimizer(&self) -> OptimizerKind {
        OptimizerKind::Adam { eps: self.params.adam_eps }
    }
    fn position(&self, slot: &Slot<Self>) -> Vec<u64> {
        let (obs, collected) = slot.resume.as_ref().map_or((u64::MAX, u64::MAX), |r| (r.last_obs.len() as u64, r.collected));
        vec![self.n_calls, self.n_updates, slot.num_timesteps, obs, collected]
    }

    /// Without a replay buffer in the checkpoint, training continues with an empty one.
    fn restore(&mut self, state: &AlgoState, obs_dim: usize, space: &ActionSpace) -> Result<Restored<Self>, String> {
        let AlgoState::Dqn(s) = state else { return Err("the checkpoint is not a DQN run's".into()) };
        if s.last_obs.is_empty() || s.last_obs.len() % obs_dim != 0 || s.collected > self.params.train_freq {
            return Err(format!(
                "the checkpoint's loop state ({} observation values, {} steps collected) does not fit this config",
                s.last_obs.len(),
                s.collected
            ));
        }
        if !(0.0..=1.0).contains(&s.exploration_rate) {
            return Err(format!("the checkpoint's exploration rate {} is outside [0, 1]", s.exploration_rate));
        }
        let buffer = match &s.replay {
            Some(r) => r.clone().expanded(self.params.buffer_size, obs_dim, space.policy_outputs())?,
            None => ReplayBuffer::new(self.params.buffer_size, obs_dim),
        };
        self.n_calls = s.n_calls;
        self.n_updates = s.n_updates;
        let resume = Replay { buffer, last_obs: s.last_obs.clone(), collected: s.collected };
        Ok(Restored { rng: s.rng.clone(), num_timesteps: s.num_timesteps, episodes: s.episodes.clone(), own: s.exploration_rate, resume })
    }

    fn learn(batch: &mut Batch<Self>, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        batch.learn_dqn(members, total_timesteps)
    }
}

/// Agent `k`'s DQN state now, for a checkpoint.
fn state_of(b: &Batch<Dqn>, k: usize, r: &Replay, collected: u64, with_replay_buffer: bool) -> AlgoState {
    let a = &b.agents[k];
    AlgoState::Dqn(DqnState {
        num_timesteps: a.num_timesteps,
        n_calls: b.algo.n_calls,
        n_updates: b.algo.n_updates,
        exploration_rate: a.own,
        rng: a.rng.clone(),
        episodes: a.episodes.clone(),
        last_obs: r.last_obs.clone(),
        collected,
        replay: with_replay_buffer.then(|| r.buffer.stored()),
    })
}

impl Batch<Dqn> {
    /// Collect `train_freq` steps per env, then `gradient_steps` updates once past `learning_starts`; repeat.
    fn learn_dqn(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        let (n_envs, resumed) = self.begin(members)?;
        let d = self.obs_dim;
        let p = self.algo.params.clone();
        let restored = resumed.iter().any(|r| r.is_some());
        let (mut replays, mut collected) = (Vec::with_capacity(members.len()), 0);
        for (r, m) in resumed.into_iter().zip(members.iter_mut()) {
            replays.push(match r {
                // Envs that could not be restored (Python workers) began new episodes.
                Some(r) if m.venv.restarted() => Replay { last_obs: m.venv.obs.clone(), ..r },
                Some(r) if r.last_obs.len() == n_envs * d => r,
                Some(r) => {
                    return Err(format!(
                        "the checkpoint's last observations are for {} envs, the run has {n_envs}",
                        r.last_obs.len() / d.max(1)
                    ));
                }
                None => {
                    m.venv.reset(m.seed)?;
                    Replay { buffer: ReplayBuffer::new(p.buffer_size, d), last_obs: m.venv.obs.clone(), collected: 0 }
                }
            });
            collected = replays.last().map_or(0, |r| r.collected);
        }
        let s = replays.len();
        let mut samples: Vec<ReplaySample> = (0..s).map(|_| ReplaySample::default()).collect();
        let target_every = (p.target_update_interval / n_envs as u64).max(1);
        let mut active = self.active();
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
            while collected < p.train_freq && !(resumed && self.agents[l].num_timesteps >= total_timesteps) {
                resumed = false;
                let actions = self.sample_actions(&replays, n_envs, &active)?;
                for k in (0..s).filter(|&k| active[k]) {
                    let venv = &mut *members[k].venv;
                    venv.step(Actions::Discrete(&actions[k]))?;
                    let agent = &mut self.agents[k];
                    agent.num_timesteps += n_envs as u64;
                    agent.episodes.drain_from(venv);
                    let r = &mut replays[k];
                    for i in 0..n_envs {
                        // After a reset venv.obs is the new episode's start; the transition ends at final_obs.
                        let next = if venv.done(i) { &venv.final_obs[i * d..(i + 1) * d] } else { &venv.obs[i * d..(i + 1) * d] };
                        let action = Action::Discrete(actions[k][i]);
                        r.buffer.add(&r.last_obs[i * d..(i + 1) * d], next, action, venv.rewards[i], venv.terminated[i]);
                    }
                    r.last_obs.copy_from_slice(&venv.obs);
                }
                collected += 1;
                // SB3's _on_step: target copy by env-step count, epsilon by progress.
                self.algo.n_calls += 1;
                if self.algo.n_calls % target_every == 0 {
                    self.nets.copy_to_fixed(Q_NET, TARGET);
                }
                let progress_remaining = 1.0 - self.agents[l].num_timesteps as f64 / total_timesteps as f64;
                for agent in &mut self.agents {
                    agent.own = Dqn::epsilon(&agent.params, progress_remaining);
                }
                // After the step is fully recorded (SB3 calls it before storing; the
                // order changes nothing callbacks see, and a checkpoint here is exact).
                for k in 0..s {
                    if !active[k] {
                        continue;
                    }
                    let Member { venv, callback, .. } = &mut members[k];
                    let replay = &replays[k];
                    active[k] = self.after_step(k, venv, &mut **callback, &|b, with| Ok(state_of(b, k, replay, collected, with)))?;
                }
                if !active[l] || self.agents[l].num_timesteps >= total_timesteps {
                    break;
                }
            }
            if !active[l] {
                continue;
            }

            // 2. Gradient steps once past learning_starts.
            if self.agents[l].num_timesteps > p.learning_starts && !replays[l].buffer.is_empty() {
                let steps = if p.gradient_steps < 0 { collected * n_envs as u64 } else { p.gradient_steps as u64 };
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

    /// Random actions before learning_starts, then epsilon-greedy with one coin
    /// per agent for its whole batch of envs (as SB3's `DQN.predict` does). One
    /// forward pass serves every agent that acts greedily.
    fn sample_actions(&mut self, replays: &[Replay], n: usize, active: &[bool]) -> Result<Vec<Vec<usize>>, String> {
        let (learning_starts, a) = (self.algo.params.learning_starts, self.action_space.policy_outputs());
        let explore: Vec<bool> = self
            .agents
            .iter_mut()
            .zip(active)
            .map(|(agent, &on)| !on || agent.num_timesteps < learning_starts || agent.rng.next_f64() < agent.own)
            .collect();
        let greedy = if explore.iter().all(|&e| e) {
            Vec::new()
        } else {
            let obs = replays.iter().flat_map(|r| r.last_obs.iter().copied()).collect();
            read_vec(self.nets.acting[Q_NET].forward(stack3(obs, replays.len(), n, self.obs_dim, &self.device)))?
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
        replays: &[Replay],
        samples: &mut [ReplaySample],
        gradient_steps: u64,
        progress_remaining: f64,
    ) -> Result<Vec<Metrics>, String> {
        let each = |f: &dyn Fn(&DqnParams) -> f64| PerAgent::of(self.agents.iter().map(|a| f(&a.params)));
        let lr = each(&|a| a.learning_rate.value(progress_remaining));
        let (gamma, max_grad_norm) = (each(&|a| a.gamma), each(&|a| a.max_grad_norm));
        let (s, b) = (self.agents.len(), self.algo.params.batch_size);
        let n_actions = self.action_space.policy_outputs();
        let mut losses: Vec<Tensor<2>> = Vec::with_capacity(gradient_steps as usize);
        let mut mean_q: Vec<Tensor<2>> = Vec::with_capacity(gradient_steps as usize);
        for _ in 0..gradient_steps {
            let mb = self.minibatch(replays.iter().map(|r| &r.buffer), samples, b);
            // The Q-values, and the TD target's from the frozen target net on the
            // plain device (no graph): independent, so on two cores when the run has them.
            let (online, frozen) = (&self.nets.trained[Q_NET], &self.nets.fixed[TARGET]);
            let (obs, next_obs) = (mb.obs, mb.next_obs);
            let (q_all, next_q) = both_on(&self.device, || online.forward(obs), || frozen.forward(next_obs));
            let next_q = next_q.max_dim(2).reshape([s, b]);
            let target_q = mb.rewards + mb.not_done * gamma.mul(next_q);

            let actions = mb.actions.int();
            let q = q_all.clone().gather(2, actions).reshape([s, b]);
            let loss = smooth_l1(q, target_q);

            let mut grads = self.nets.grads(loss.clone());
            clip_grad_norm_per_agent(&mut grads, &[&self.nets.trained[Q_NET]], &max_grad_norm);
            self.nets.step(&lr, grads);
            losses.push(loss.inner());
            mean_q.push(q_all.inner().reshape([s, b * n_actions]).mean_dim(1));
        }
        self.algo.n_updates += gradient_steps;
        self.nets.updated();
        let loss = read_vec(Tensor::cat(losses, 1).mean_dim(1))?;
        let q = read_vec(Tensor::cat(mean_q, 1).mean_dim(1))?;
        let mut out = Vec::with_capacity(s);
        for (k, agent) in self.agents.iter().enumerate() {
            let mut m = Metrics::default();
            m.push("time/total_timesteps", agent.num_timesteps as f64);
            agent.episodes.push_into(&mut m);
            m.push("rollout/exploration_rate", agent.own);
            m.push("train/learning_rate", lr.get(k));
            m.push("train/loss", loss.get(k).copied().unwrap_or(f32::NAN) as f64);
            m.push("train/mean_q", q.get(k).copied().unwrap_or(f32::NAN) as f64);
            m.push("train/n_updates", self.algo.n_updates as f64);
            out.push(m);
        }
        Ok(out)
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
