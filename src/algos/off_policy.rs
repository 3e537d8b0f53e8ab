//! The off-policy actor-critic layer SAC and TD3 share, after SB3's
//! `OffPolicyAlgorithm`: a replay buffer per agent, `train_freq` env steps per
//! env between training phases, uniformly random actions before
//! `learning_starts`, then the algorithm's own exploration; actions live in
//! [-1, 1] (what the replay buffer stores and the critics see) and are scaled
//! into the env's bounds only for the env; twin critics and their targets,
//! soft-updated with Polyak's `tau`. An algorithm brings its acting rule and
//! its update (`train`).
//!
//! Written for S agents at once ([`Batch`]): one forward pass acts for all
//! agents, each keeps its own envs, generator, replay buffer and noise state.

use super::batch::{Algorithm, Batch, Restored, Slot};
use super::buffers::{ReplayBuffer, ReplaySample};
use super::nets::{Init, MlpWeights, init_weights};
use super::stacked::{PerAgent, StackedMlp, stack3};
use super::{AlgoState, EpisodeWindow, Member, Metrics};
use crate::config::Activation;
use crate::envs::{Action, ActionSpace, Actions};
use crate::rng::Rng;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// An off-policy actor-critic's training state between two env steps, as a checkpoint holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OffPolicyState {
    pub num_timesteps: u64,
    pub n_updates: u64,
    pub rng: Rng,
    pub episodes: EpisodeWindow,
    pub last_obs: Vec<f32>,
    /// Steps per env collected since the last training phase.
    pub collected: u64,
    /// The stored transitions only; `None` when `experiment.checkpoint_replay_buffer=false`.
    pub replay: Option<ReplayBuffer>,
    /// The exploration noise's state per env: TD3's Ornstein-Uhlenbeck values,
    /// SAC's gSDE exploration matrices (empty when it has none).
    #[serde(default)]
    pub noise: Vec<f64>,
}

/// Where `learn` continues: the replay buffer, the last observations, the
/// steps per env collected since the last training phase, the noise state.
pub struct Replay {
    pub buffer: ReplayBuffer,
    pub last_obs: Vec<f32>,
    pub collected: u64,
    pub noise: Vec<f64>,
}

/// What the shared loop needs of an agent's params (the same for a whole batch but `gamma`/`tau`).
pub struct LoopParams {
    pub buffer_size: usize,
    pub learning_starts: u64,
    pub train_freq: u64,
    pub gradient_steps: i64,
    pub batch_size: usize,
}

/// The networks every off-policy actor-critic has, in checkpoint order.
pub const ACTOR: usize = 0;
pub const QF0: usize = 1;
pub const QF1: usize = 2;

/// What an off-policy actor-critic gives the shared loop.
pub trait OffPolicy: Algorithm<Own = (), Resume = Replay> {
    fn loop_params(params: &Self::Params) -> LoopParams;
    /// Gradient steps so far (SB3's `_n_updates`), kept in checkpoints.
    fn n_updates(&self) -> u64;
    fn set_n_updates(&mut self, n: u64);
    /// Noise values kept per env (0 without a noise process).
    fn noise_len(&self) -> usize;
    fn wrap(state: OffPolicyState) -> AlgoState;
    fn unwrap(state: &AlgoState) -> Option<&OffPolicyState>;
    /// Called with `collected` steps of the phase done, before acting: draws new noise where due.
    fn before_step(batch: &mut Batch<Self>, replays: &mut [Replay], active: &[bool], n: usize) -> Result<(), String>;
    /// Every active agent's actions in [-1, 1] for its `n` last observations (`n * dim` values),
    /// exploring with its noise; agents in `warmup` act uniformly at random.
    fn act(batch: &mut Batch<Self>, replays: &mut [Replay], n: usize, warmup: &[bool], active: &[bool]) -> Result<Vec<Vec<f32>>, String>;
    /// Env `i` of agent `k` ended an episode (TD3's Ornstein-Uhlenbeck noise restarts).
    fn episode_done(_replay: &mut Replay, _i: usize) {}
    /// `gradient_steps` updates of every agent on minibatches of its own replay buffer.
    fn train(batch: &mut Batch<Self>, replays: &[Replay], gradient_steps: u64, progress_remaining: f64) -> Result<Vec<Metrics>, String>;
}

/// One agent's twin critics (`obs + action -> 1`), drawn after the actor from `rng`.
pub fn critics(obs_dim: usize, dim: usize, net_arch: &[usize], activation: Activation, rng: &mut Rng) -> [MlpWeights; 2] {
    let sizes = [vec![obs_dim + dim], net_arch.to_vec(), vec![1]].concat();
    [init_weights(&sizes, activation, Init::TorchDefault, rng), init_weights(&sizes, activation, Init::TorchDefault, rng)]
}

/// Where an agent is in its loop (agents merge only when these agree).
pub fn position<A: OffPolicy>(algo: &A, slot: &Slot<A>) -> Vec<u64> {
    let (obs, collected) = slot.resume.as_ref().map_or((u64::MAX, u64::MAX), |r| (r.last_obs.len() as u64, r.collected));
    vec![algo.n_updates(), slot.num_timesteps, obs, collected]
}

/// A checkpoint's state checked against the config; without a replay buffer training continues with an empty one.
pub fn restore<A: OffPolicy>(
    algo: &mut A,
    state: &AlgoState,
    params: &LoopParams,
    obs_dim: usize,
    space: &ActionSpace,
) -> Result<Restored<A>, String> {
    let Some(s) = A::unwrap(state) else { return Err(format!("the checkpoint is not a {} run's", A::NAME)) };
    let n_envs = s.last_obs.len() / obs_dim.max(1);
    if s.last_obs.is_empty() || s.last_obs.len() % obs_dim != 0 || s.collected > params.train_freq {
        return Err(format!(
            "the checkpoint's loop state ({} observation values, {} steps collected) does not fit this config (train_freq={})",
            s.last_obs.len(),
            s.collected,
            params.train_freq
        ));
    }
    if s.noise.len() != n_envs * algo.noise_len() || s.noise.iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "the checkpoint's exploration noise holds {} values, this config's noise {} per env for {n_envs} envs",
            s.noise.len(),
            algo.noise_len()
        ));
    }
    let dim = space.box_dim();
    let buffer = match &s.replay {
        Some(r) if r.action_dim != dim => {
            return Err(format!("the checkpoint's replay buffer holds actions of {} values, the env's {dim}", r.action_dim));
        }
        Some(r) => r.clone().expanded(params.buffer_size, obs_dim, 0)?,
        None => ReplayBuffer::for_space(params.buffer_size, obs_dim, space),
    };
    algo.set_n_updates(s.n_updates);
    let resume = Replay { buffer, last_obs: s.last_obs.clone(), collected: s.collected, noise: s.noise.clone() };
    Ok(Restored { rng: s.rng.clone(), num_timesteps: s.num_timesteps, episodes: s.episodes.clone(), own: (), resume })
}

/// Agent `k`'s state now, for a checkpoint.
fn state_of<A: OffPolicy>(b: &Batch<A>, k: usize, r: &Replay, collected: u64, with_replay_buffer: bool) -> AlgoState {
    let a = &b.agents[k];
    A::wrap(OffPolicyState {
        num_timesteps: a.num_timesteps,
        n_updates: b.algo.n_updates(),
        rng: a.rng.clone(),
        episodes: a.episodes.clone(),
        last_obs: r.last_obs.clone(),
        collected,
        replay: with_replay_buffer.then(|| r.buffer.stored()),
        noise: r.noise.clone(),
    })
}

impl<A: OffPolicy> Batch<A> {
    /// Collect `train_freq` steps per env, then the algorithm's gradient steps once past `learning_starts`; repeat.
    pub fn learn_off_policy(&mut self, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        let (n_envs, resumed) = self.begin(members)?;
        let (d, dim) = (self.obs_dim, self.action_space.box_dim());
        let p = A::loop_params(&self.agents[0].params);
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
                    let buffer = ReplayBuffer::for_space(p.buffer_size, d, &self.action_space);
                    let noise = vec![0.0; n_envs * self.algo.noise_len()];
                    Replay { buffer, last_obs: m.venv.obs.clone(), collected: 0, noise }
                }
            });
            collected = replays.last().map_or(0, |r| r.collected);
        }
        let s = replays.len();
        let mut active = self.active();
        let lead = |active: &[bool]| active.iter().position(|&a| a);
        let mut env_actions = Vec::new();

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
                for r in replays.iter_mut() {
                    r.collected = collected;
                }
                A::before_step(self, &mut replays, &active, n_envs)?;
                let warmup: Vec<bool> = self.agents.iter().map(|a| a.num_timesteps < p.learning_starts).collect();
                let actions = A::act(self, &mut replays, n_envs, &warmup, &active)?;
                for k in (0..s).filter(|&k| active[k]) {
                    if let Some(bad) = actions[k].iter().find(|v| !v.is_finite()) {
                        return Err(format!(
                            "the policy's action output became {bad} at step {}: training diverged; lower algorithm.params.learning_rate and run again",
                            self.agents[k].num_timesteps
                        ));
                    }
                    let venv = &mut *members[k].venv;
                    self.action_space.unscale_into(&actions[k], &mut env_actions);
                    venv.step(Actions::Continuous { dim, values: &env_actions })?;
                    let agent = &mut self.agents[k];
                    agent.num_timesteps += n_envs as u64;
                    agent.episodes.drain_from(venv);
                    let r = &mut replays[k];
                    for i in 0..n_envs {
                        // After a reset venv.obs is the new episode's start; the transition ends at final_obs.
                        let next = if venv.done(i) { &venv.final_obs[i * d..(i + 1) * d] } else { &venv.obs[i * d..(i + 1) * d] };
                        let action = Action::Continuous(&actions[k][i * dim..(i + 1) * dim]);
                        r.buffer.add(&r.last_obs[i * d..(i + 1) * d], next, action, venv.rewards[i], venv.terminated[i]);
                        if venv.done(i) {
                            A::episode_done(r, i);
                        }
                    }
                    r.last_obs.copy_from_slice(&venv.obs);
                }
                collected += 1;
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
                let metrics = A::train(self, &replays, steps, progress_remaining)?;
                for k in (0..s).filter(|&k| active[k]) {
                    members[k].callback.on_update(&metrics[k]);
                }
            }
            collected = 0;
            resumed = false;
        }
    }

    /// Uniform actions in [-1, 1] for agent `k`'s `n` envs (SB3 samples the action space and scales it).
    pub fn uniform_actions(&mut self, k: usize, n: usize) -> Vec<f32> {
        let dim = self.action_space.box_dim();
        let rng = &mut self.agents[k].rng;
        (0..n * dim).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
    }

    /// Every agent's `n` last observations as one `[S, n, obs_dim]` tensor on the plain device.
    pub fn last_obs(&self, replays: &[Replay], n: usize) -> Tensor<3> {
        stack3(replays.iter().flat_map(|r| r.last_obs.iter().copied()).collect(), replays.len(), n, self.obs_dim, &self.device)
    }
}

/// One minibatch of every agent, stacked: what each gradient step trains on.
pub struct Minibatch {
    /// `[S, B, obs_dim]` on the autodiff device.
    pub obs: Tensor<3>,
    /// `[S, B, obs_dim]` on the plain device (targets need no graph).
    pub next_obs: Tensor<3>,
    /// `[S, B, dim]` replayed actions (a Box space's in [-1, 1]; a discrete
    /// space's indices as floats, `dim` 1), on the autodiff device.
    pub actions: Tensor<3>,
    /// `[S, B]` on the plain device.
    pub rewards: Tensor<2>,
    pub not_done: Tensor<2>,
}

impl<A: Algorithm> Batch<A> {
    /// Draws each agent's minibatch from its own buffer (`buffers`, agent order)
    /// with its own generator (DQN's too).
    pub fn minibatch<'a>(
        &mut self,
        buffers: impl Iterator<Item = &'a ReplayBuffer>,
        samples: &mut [ReplaySample],
        batch_size: usize,
    ) -> Minibatch {
        let (s, b, d) = (self.agents.len(), batch_size, self.obs_dim);
        for ((buffer, agent), sample) in buffers.zip(self.agents.iter_mut()).zip(samples.iter_mut()) {
            buffer.sample_into(b, &mut agent.rng, sample);
        }
        let cat = |f: fn(&ReplaySample) -> &Vec<f32>| samples.iter().flat_map(|x| f(x).iter().copied()).collect::<Vec<f32>>();
        let not_done: Vec<f32> = samples.iter().flat_map(|x| x.dones.iter().map(|v| 1.0 - v)).collect();
        let (actions, dim) = match self.action_space.box_dim() {
            0 => (samples.iter().flat_map(|x| x.actions.iter().map(|&a| a as f32)).collect(), 1),
            dim => (cat(|x| &x.continuous_actions), dim),
        };
        Minibatch {
            obs: stack3(cat(|x| &x.obs), s, b, d, &self.ad_device),
            next_obs: stack3(cat(|x| &x.next_obs), s, b, d, &self.device),
            actions: stack3(actions, s, b, dim, &self.ad_device),
            rewards: Tensor::from_data(TensorData::new(cat(|x| &x.rewards), [s, b]), &self.device),
            not_done: Tensor::from_data(TensorData::new(not_done, [s, b]), &self.device),
        }
    }
}

impl<A: OffPolicy> Batch<A> {
    /// Standard normal draws `[S, B, w]`, each agent's from its own generator, on `device`.
    pub fn normals(&mut self, b: usize, w: usize, scale: &PerAgent, device: &Device) -> Tensor<3> {
        let s = self.agents.len();
        let mut v = Vec::with_capacity(s * b * w);
        for (k, agent) in self.agents.iter_mut().enumerate() {
            let sd = scale.get(k);
            v.extend((0..b * w).map(|_| (agent.rng.normal() * sd) as f32));
        }
        stack3(v, s, b, w, device)
    }
}

/// The minimum of the twin critics' Q(s, a) (`[S, B, obs + dim]` input) as `[S, B]`.
pub fn min_q(q0: &StackedMlp, q1: &StackedMlp, sa: Tensor<3>) -> Tensor<2> {
    let [s, b, _] = sa.dims();
    q0.forward(sa.clone()).min_pair(q1.forward(sa)).reshape([s, b])
}

/// Per agent the mean squared error of `q` (`[S, B]`) against `target`: `[S, 1]`.
pub fn mse(q: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
    (q - target).square().mean_dim(1)
}

/// The metrics both report (SB3's names), before the algorithm's own.
pub fn common_metrics<A: OffPolicy>(b: &Batch<A>, k: usize, lr: f64) -> Metrics {
    let agent = &b.agents[k];
    let mut m = Metrics::default();
    m.push("time/total_timesteps", agent.num_timesteps as f64);
    agent.episodes.push_into(&mut m);
    m.push("train/learning_rate", lr);
    m.push("train/n_updates", b.algo.n_updates() as f64);
    m
}

/// Per-agent values of one parameter.
pub fn each<A: OffPolicy>(b: &Batch<A>, f: impl Fn(&A::Params) -> f64) -> PerAgent {
    PerAgent::of(b.agents.iter().map(|a| f(&a.params)))
}
