//! Deep Q-Network, after SB3's `DQN` and CleanRL's `dqn.py`: replay buffer,
//! target network copied every `target_update_interval` env steps, linear
//! epsilon schedule, `train_freq`/`gradient_steps`, Huber loss, global-norm
//! gradient clipping. Acting uses a no-autodiff snapshot of the Q-network.

use super::buffers::{ReplayBuffer, ReplaySample};
use super::nets::{clip_grad_norm, Init, Mlp, MlpWeights};
use super::{argmax, check_network, read_vec, Agent, AgentState, AgentView, AlgoState, Callback, Control, EpisodeWindow, Metrics, NetworkState, Policy, PolicyHead, TrainingState};
use crate::config::DqnParams;
use crate::envs::VecEnv;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use burn::module::Module;
use super::adam::AdamOptimizer;
use burn::optim::GradientsParams;
use burn::prelude::*;

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

pub struct Dqn {
    pub params: DqnParams,
    /// Trained on `device.autodiff()`.
    q_net: Mlp,
    /// No-autodiff snapshot of `q_net` used to act, refreshed after each training phase.
    acting: Mlp,
    target: Mlp,
    optimizer: AdamOptimizer,
    device: Device,
    ad_device: Device,
    rng: Rng,
    obs_dim: usize,
    n_actions: usize,
    num_timesteps: u64,
    n_calls: u64,
    n_updates: u64,
    exploration_rate: f64,
    episodes: EpisodeWindow,
    /// Where `learn` continues after a restore: replay buffer, last obs, collected.
    resume: Option<(ReplayBuffer, Vec<f32>, u64)>,
}

impl Dqn {
    pub fn new(params: DqnParams, obs_dim: usize, n_actions: usize, seed: u64, device: &Device) -> Self {
        let ad_device = device.clone().autodiff();
        let sizes = [vec![obs_dim], params.net_arch.clone(), vec![n_actions]].concat();
        let q_net = Mlp::new(&sizes, params.activation, Init::TorchDefault, &mut Rng::derive(seed, 1), &ad_device);
        let optimizer = AdamOptimizer::new(params.adam_eps);
        Self {
            acting: q_net.valid(),
            target: q_net.valid(),
            q_net,
            optimizer,
            device: device.clone(),
            ad_device,
            rng: Rng::derive(seed, 2),
            obs_dim,
            n_actions,
            num_timesteps: 0,
            n_calls: 0,
            n_updates: 0,
            exploration_rate: params.exploration_initial_eps,
            episodes: EpisodeWindow::default(),
            resume: None,
            params,
        }
    }

    /// SB3's `get_linear_fn(initial, final, fraction)` at `progress_remaining`.
    fn epsilon(&self, progress_remaining: f64) -> f64 {
        let p = &self.params;
        let progress = 1.0 - progress_remaining;
        if progress > p.exploration_fraction {
            p.exploration_final_eps
        } else {
            p.exploration_initial_eps + progress * (p.exploration_final_eps - p.exploration_initial_eps) / p.exploration_fraction
        }
    }

    /// Trains until `total_timesteps` env steps or until the callback says stop.
    pub fn learn(&mut self, venv: &mut VecEnv, total_timesteps: u64, seed: u64, callback: &mut dyn Callback) -> Result<(), String> {
        let n_envs = venv.num_envs();
        let d = self.obs_dim;
        let restored = self.resume.is_some();
        let (mut replay, mut last_obs, mut collected) = match self.resume.take() {
            Some(r) if r.1.len() == n_envs * d => r,
            Some(r) => return Err(format!("the checkpoint's last observations are for {} envs, the run has {n_envs}", r.1.len() / d.max(1))),
            None => {
                venv.reset(seed);
                (ReplayBuffer::new(self.params.buffer_size, d), venv.obs.clone(), 0)
            }
        };
        let mut sample = ReplaySample::default();
        let target_every = (self.params.target_update_interval / n_envs as u64).max(1);

        // Restored from a checkpoint, the step it was taken on is finished first
        // (its training phase may still be due, even at the last step).
        let mut resumed = restored;
        while self.num_timesteps < total_timesteps || resumed {
            // 1. Collect train_freq steps per env.
            while collected < self.params.train_freq && !(resumed && self.num_timesteps >= total_timesteps) {
                resumed = false;
                let actions = self.sample_actions(&last_obs, n_envs)?;
                venv.step(&actions);
                self.num_timesteps += n_envs as u64;
                collected += 1;
                self.episodes.drain_from(venv);
                for i in 0..n_envs {
                    // After a reset venv.obs is the new episode's start; the transition ends at final_obs.
                    let next = if venv.done(i) { &venv.final_obs[i * d..(i + 1) * d] } else { &venv.obs[i * d..(i + 1) * d] };
                    replay.add(&last_obs[i * d..(i + 1) * d], next, actions[i], venv.rewards[i], venv.terminated[i]);
                }
                last_obs.copy_from_slice(&venv.obs);
                // SB3's _on_step: target copy by env-step count, epsilon by progress.
                self.n_calls += 1;
                if self.n_calls % target_every == 0 {
                    self.target = self.q_net.valid();
                }
                let progress_remaining = 1.0 - self.num_timesteps as f64 / total_timesteps as f64;
                self.exploration_rate = self.epsilon(progress_remaining);
                // After the step is fully recorded (SB3 calls it before storing; the
                // order changes nothing callbacks see, and a checkpoint here is exact).
                let view = DqnAt { dqn: self, venv, replay: &replay, last_obs: &last_obs, collected };
                if callback.on_step(&view, self.num_timesteps) == Control::Stop {
                    return Ok(());
                }
                if self.num_timesteps >= total_timesteps {
                    break;
                }
            }

            // 2. Gradient steps once past learning_starts.
            if self.num_timesteps > self.params.learning_starts && !replay.is_empty() {
                let steps = if self.params.gradient_steps < 0 { collected * n_envs as u64 } else { self.params.gradient_steps as u64 };
                let progress_remaining = 1.0 - self.num_timesteps as f64 / total_timesteps as f64;
                let metrics = self.train(&replay, &mut sample, steps, progress_remaining)?;
                callback.on_update(&metrics);
            }
            collected = 0;
            resumed = false;
        }
        Ok(())
    }

    fn sizes(&self) -> Vec<usize> {
        [vec![self.obs_dim], self.params.net_arch.clone(), vec![self.n_actions]].concat()
    }

    fn training_state(&self, at: &DqnAt, with_replay_buffer: bool) -> Result<TrainingState, String> {
        let agent = AgentState {
            networks: vec![
                NetworkState { name: "q_net".into(), weights: self.acting.to_weights()?, param_ids: self.q_net.param_id_values() },
                NetworkState { name: "target_q_net".into(), weights: self.target.to_weights()?, param_ids: self.target.param_id_values() },
            ],
            optimizer: self.optimizer.moments()?,
            algo: AlgoState::Dqn(DqnState {
                num_timesteps: self.num_timesteps,
                n_calls: self.n_calls,
                n_updates: self.n_updates,
                exploration_rate: self.exploration_rate,
                rng: self.rng.clone(),
                episodes: self.episodes.clone(),
                last_obs: at.last_obs.to_vec(),
                collected: at.collected,
                replay: with_replay_buffer.then(|| at.replay.stored()),
            }),
        };
        Ok(TrainingState { agent, venv: at.venv.snapshot()? })
    }

    /// Loads a checkpoint, checking every shape against this run's config first.
    /// Without a replay buffer in it, training continues with an empty one.
    pub fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        let AlgoState::Dqn(s) = &state.algo else { return Err("the checkpoint is a PPO run's; this run is DQN".into()) };
        let (q, target) = (state.network("q_net")?, state.network("target_q_net")?);
        for n in [q, target] {
            check_network(n, &self.sizes(), self.params.activation)?;
        }
        if s.last_obs.is_empty() || s.last_obs.len() % self.obs_dim != 0 || s.collected > self.params.train_freq {
            return Err(format!("the checkpoint's loop state ({} observation values, {} steps collected) does not fit this config", s.last_obs.len(), s.collected));
        }
        if !(0.0..=1.0).contains(&s.exploration_rate) {
            return Err(format!("the checkpoint's exploration rate {} is outside [0, 1]", s.exploration_rate));
        }
        s.episodes.check()?;
        let replay = match &s.replay {
            Some(r) => r.clone().expanded(self.params.buffer_size, self.obs_dim, self.n_actions)?,
            None => ReplayBuffer::new(self.params.buffer_size, self.obs_dim),
        };
        let q_net = Mlp::from_weights_with_ids(&q.weights, &q.param_ids, &self.ad_device)?;
        let mut optimizer = AdamOptimizer::new(self.params.adam_eps);
        optimizer.restore(&state.optimizer, &q_net.param_shapes(), &self.device)?;
        self.optimizer = optimizer;
        self.acting = q_net.valid();
        self.q_net = q_net;
        self.target = Mlp::from_weights(&target.weights, &self.device)?;
        self.num_timesteps = s.num_timesteps;
        self.n_calls = s.n_calls;
        self.n_updates = s.n_updates;
        self.exploration_rate = s.exploration_rate;
        self.rng = s.rng.clone();
        self.episodes = s.episodes.clone();
        self.resume = Some((replay, s.last_obs.clone(), s.collected));
        Ok(())
    }

    /// Random actions before learning_starts, then epsilon-greedy with one coin
    /// for the whole batch (as SB3's `DQN.predict` does).
    fn sample_actions(&mut self, obs: &[f32], n: usize) -> Result<Vec<usize>, String> {
        let explore = self.num_timesteps < self.params.learning_starts || self.rng.next_f64() < self.exploration_rate;
        if explore {
            return Ok((0..n).map(|_| self.rng.below(self.n_actions)).collect());
        }
        let x = Tensor::<2>::from_data(TensorData::new(obs.to_vec(), [n, self.obs_dim]), &self.device);
        Ok(read_vec(self.acting.forward(x))?.chunks(self.n_actions).map(argmax).collect())
    }

    fn train(&mut self, replay: &ReplayBuffer, sample: &mut ReplaySample, gradient_steps: u64, progress_remaining: f64) -> Result<Metrics, String> {
        let p = &self.params;
        let lr = p.learning_rate.value(progress_remaining);
        let (b, d) = (p.batch_size, self.obs_dim);
        let mut losses: Vec<Tensor<1>> = Vec::with_capacity(gradient_steps as usize);
        let mut mean_q: Vec<Tensor<1>> = Vec::with_capacity(gradient_steps as usize);
        for _ in 0..gradient_steps {
            replay.sample_into(b, &mut self.rng, sample);
            // TD target from the frozen target net, on the plain device (no graph).
            let next_obs = Tensor::<2>::from_data(TensorData::new(sample.next_obs.clone(), [b, d]), &self.device);
            let rewards = Tensor::<1>::from_data(TensorData::new(sample.rewards.clone(), [b]), &self.device);
            let not_done = Tensor::<1>::from_data(TensorData::new(sample.dones.iter().map(|x| 1.0 - x).collect::<Vec<f32>>(), [b]), &self.device);
            let next_q = self.target.forward(next_obs).max_dim(1).reshape([b]);
            let target_q = rewards + not_done * next_q.mul_scalar(p.gamma);

            let obs = Tensor::<2>::from_data(TensorData::new(sample.obs.clone(), [b, d]), &self.ad_device);
            let actions = Tensor::<2, Int>::from_data(TensorData::new(sample.actions.clone(), [b, 1]), &self.ad_device);
            let q_all = self.q_net.forward(obs);
            let q = q_all.clone().gather(1, actions).reshape([b]);
            let loss = smooth_l1(q, target_q);

            let mut grads = GradientsParams::from_grads(loss.backward(), &self.q_net);
            clip_grad_norm(&mut grads, &[&self.q_net], p.max_grad_norm);
            self.q_net = self.optimizer.step(lr, self.q_net.clone(), grads);
            losses.push(loss.inner());
            mean_q.push(q_all.inner().mean());
        }
        self.n_updates += gradient_steps;
        self.acting = self.q_net.valid();
        let loss = read_vec(Tensor::cat(losses, 0).mean())?;
        let q = read_vec(Tensor::cat(mean_q, 0).mean())?;
        let mut m = Metrics::default();
        m.push("time/total_timesteps", self.num_timesteps as f64);
        self.episodes.push_into(&mut m);
        m.push("rollout/exploration_rate", self.exploration_rate);
        m.push("train/learning_rate", lr);
        m.push("train/loss", loss.first().copied().unwrap_or(f32::NAN) as f64);
        m.push("train/mean_q", q.first().copied().unwrap_or(f32::NAN) as f64);
        m.push("train/n_updates", self.n_updates as f64);
        Ok(m)
    }
}

/// Huber loss with delta 1 (torch's `smooth_l1_loss`), mean over the batch.
fn smooth_l1(pred: Tensor<1>, target: Tensor<1>) -> Tensor<1> {
    let diff = pred - target;
    let abs = diff.clone().abs();
    let quadratic = abs.clone().clamp_max(1.0);
    // 0.5 q^2 + (|d| - q): equals 0.5 d^2 for |d| < 1 and |d| - 0.5 beyond.
    let linear = abs - quadratic.clone();
    (quadratic.square().mul_scalar(0.5) + linear).mean()
}

impl Agent for Dqn {
    fn learn(&mut self, venv: &mut VecEnv, total_timesteps: u64, seed: u64, callback: &mut dyn Callback) -> Result<(), String> {
        Dqn::learn(self, venv, total_timesteps, seed, callback)
    }
    fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        Dqn::restore(self, state)
    }
}

/// DQN in the middle of `learn`, as callbacks see it: with the buffer and envs.
struct DqnAt<'a> {
    dqn: &'a Dqn,
    venv: &'a VecEnv,
    replay: &'a ReplayBuffer,
    last_obs: &'a [f32],
    collected: u64,
}

impl AgentView for DqnAt<'_> {
    fn policy_head(&self) -> PolicyHead {
        self.dqn.policy_head()
    }
    fn policy(&self) -> Policy {
        self.dqn.policy()
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.dqn.networks()
    }
    fn num_timesteps(&self) -> u64 {
        self.dqn.num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.dqn.episodes.just_finished()
    }
    fn checkpoint(&self, with_replay_buffer: bool) -> Result<TrainingState, String> {
        self.dqn.training_state(self, with_replay_buffer)
    }
}

impl AgentView for Dqn {
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        Err("a DQN checkpoint is taken between env steps, inside learn()".into())
    }
    fn policy_head(&self) -> PolicyHead {
        PolicyHead::QValues
    }
    fn policy(&self) -> Policy {
        Policy::new(self.acting.clone(), PolicyHead::QValues, self.device.clone())
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        Ok(vec![("q_net".into(), self.acting.to_weights()?), ("target_q_net".into(), self.target.to_weights()?)])
    }
    fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.episodes.just_finished()
    }
}
