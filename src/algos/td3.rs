//! Twin Delayed DDPG, after SB3's `TD3`: a deterministic tanh actor explored
//! with Gaussian or Ornstein-Uhlenbeck noise, twin critics trained towards the
//! smaller target Q of a smoothed target action (clipped Gaussian noise on the
//! target actor's action), and the actor and all targets updated once every
//! `policy_delay` critic updates.
//!
//! The collection loop, replay buffer and checkpoint state are the shared
//! off-policy layer's (`off_policy.rs`).

use super::adam::OptimizerKind;
use super::batch::{Algorithm, Batch, Restored, Slot};
use super::buffers::ReplaySample;
use super::nets::{Init, both_on, init_weights};
use super::off_policy::{self, ACTOR, LoopParams, OffPolicy, OffPolicyState, QF0, QF1, Replay, each, min_q, mse};
use super::stacked::stack3;
use super::{AlgoState, Member, Metrics, PolicyHead, read_vec};
use crate::config::{AlgorithmConfig, NoiseType, Td3Params};
use crate::envs::ActionSpace;
use crate::rng::Rng;
use burn::module::Module;
use burn::prelude::*;

/// SB3's Ornstein-Uhlenbeck defaults.
const OU_THETA: f64 = 0.15;
const OU_DT: f64 = 1e-2;

/// The batch's TD3 config and counters.
pub struct Td3 {
    pub params: Td3Params,
    n_updates: u64,
    dim: usize,
}

/// The fixed (target) networks.
const ACTOR_TARGET: usize = 0;
const QF0_TARGET: usize = 1;
const QF1_TARGET: usize = 2;

impl Td3 {
    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn agent(params: Td3Params, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<Td3> {
        let dim = space.box_dim();
        let mut rng = Rng::derive(seed, 1);
        let sizes = [vec![obs_dim], params.net_arch.clone(), vec![dim]].concat();
        let actor = init_weights(&sizes, params.activation, Init::TorchDefault, &mut rng);
        let [qf0, qf1] = off_policy::critics(obs_dim, dim, &params.net_arch, params.activation, &mut rng);
        let nets = [actor.clone(), qf0.clone(), qf1.clone(), actor, qf0, qf1];
        let algo = Td3 { params: params.clone(), n_updates: 0, dim };
        Batch::new(algo, params, &nets, (), Rng::derive(seed, 2), obs_dim, space, device)
    }
}

impl Algorithm for Td3 {
    const NAME: &'static str = "td3";
    fn trained(&self) -> &'static [&'static str] {
        &["actor", "qf0", "qf1"]
    }
    const FIXED: &'static [&'static str] = &["actor_target", "qf0_target", "qf1_target"];
    type Params = Td3Params;
    type Own = ();
    type Resume = Replay;

    fn config(&self) -> AlgorithmConfig {
        AlgorithmConfig::Td3(self.params.clone())
    }
    fn head(&self) -> PolicyHead {
        PolicyHead::TanhSquashed
    }
    fn optimizer(&self) -> OptimizerKind {
        OptimizerKind::Adam { eps: 1e-8 }
    }
    fn position(&self, slot: &Slot<Self>) -> Vec<u64> {
        off_policy::position(self, slot)
    }
    fn restore(&mut self, state: &AlgoState, obs_dim: usize, space: &ActionSpace) -> Result<Restored<Self>, String> {
        let p = Self::loop_params(&self.params);
        off_policy::restore(self, state, &p, obs_dim, space)
    }
    fn learn(batch: &mut Batch<Self>, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        batch.learn_off_policy(members, total_timesteps)
    }
}

impl OffPolicy for Td3 {
    fn loop_params(p: &Td3Params) -> LoopParams {
        LoopParams {
            buffer_size: p.buffer_size,
            learning_starts: p.learning_starts,
            train_freq: p.train_freq,
            gradient_steps: p.gradient_steps,
            batch_size: p.batch_size,
        }
    }
    fn n_updates(&self) -> u64 {
        self.n_updates
    }
    fn set_n_updates(&mut self, n: u64) {
        self.n_updates = n;
    }
    fn noise_len(&self) -> usize {
        if self.params.noise_type == NoiseType::OrnsteinUhlenbeck { self.dim } else { 0 }
    }
    fn wrap(state: OffPolicyState) -> AlgoState {
        AlgoState::Td3(state)
    }
    fn unwrap(state: &AlgoState) -> Option<&OffPolicyState> {
        match state {
            AlgoState::Td3(s) => Some(s),
            _ => None,
        }
    }
    fn before_step(_: &mut Batch<Self>, _: &mut [Replay], _: &[bool], _: usize) -> Result<(), String> {
        Ok(())
    }

    /// The actor's action (uniform before learning_starts) plus the exploration
    /// noise, clipped to [-1, 1], as SB3's `_sample_action`.
    fn act(b: &mut Batch<Self>, replays: &mut [Replay], n: usize, warmup: &[bool], active: &[bool]) -> Result<Vec<Vec<f32>>, String> {
        let (s, dim) = (replays.len(), b.algo.dim);
        let out = if (0..s).any(|k| active[k] && !warmup[k]) {
            read_vec(b.nets.acting[ACTOR].forward(b.last_obs(replays, n)).tanh())?
        } else {
            Vec::new()
        };
        let mut actions = Vec::with_capacity(s);
        for k in 0..s {
            if !active[k] {
                actions.push(vec![0.0; n * dim]);
                continue;
            }
            let mut a = if warmup[k] { b.uniform_actions(k, n) } else { out[k * n * dim..(k + 1) * n * dim].to_vec() };
            let (kind, sigma) = (b.agents[k].params.noise_type, b.agents[k].params.noise_std);
            let rng = &mut b.agents[k].rng;
            for (i, v) in a.iter_mut().enumerate() {
                let noise = match kind {
                    NoiseType::None => continue,
                    NoiseType::Normal => sigma * rng.normal(),
                    NoiseType::OrnsteinUhlenbeck => {
                        let x = &mut replays[k].noise[i];
                        *x += OU_THETA * (0.0 - *x) * OU_DT + sigma * OU_DT.sqrt() * rng.normal();
                        *x
                    }
                };
                *v = (*v as f64 + noise).clamp(-1.0, 1.0) as f32;
            }
            actions.push(a);
        }
        Ok(actions)
    }

    fn episode_done(replay: &mut Replay, i: usize) {
        let per_env = replay.noise.len() / (replay.last_obs.len().max(1) / replay.buffer.obs_dim.max(1)).max(1);
        for x in replay.noise.iter_mut().skip(i * per_env).take(per_env) {
            *x = 0.0;
        }
    }

    fn train(b: &mut Batch<Self>, replays: &[Replay], gradient_steps: u64, progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        let lr = each(b, |p| p.learning_rate.value(progress_remaining));
        let (gamma, tau) = (each(b, |p| p.gamma), each(b, |p| p.tau));
        let (s, bs, dim) = (b.agents.len(), b.algo.params.batch_size, b.algo.dim);
        let policy_delay = b.algo.params.policy_delay.max(1);
        let mut samples: Vec<ReplaySample> = (0..s).map(|_| ReplaySample::default()).collect();
        let (mut actor_losses, mut critic_losses) = (Vec::new(), Vec::new());
        for _ in 0..gradient_steps {
            b.algo.n_updates += 1;
            let mb = b.minibatch(replays.iter().map(|r| &r.buffer), &mut samples, bs);
            // Target policy smoothing: each agent's clipped noise from its own generator.
            let mut noise = Vec::with_capacity(s * bs * dim);
            for agent in b.agents.iter_mut() {
                let (sd, clip) = (agent.params.target_policy_noise, agent.params.target_noise_clip);
                noise.extend((0..bs * dim).map(|_| (agent.rng.normal() * sd).clamp(-clip, clip) as f32));
            }
            let noise = stack3(noise, s, bs, dim, &b.device);
            // The critics' values (graph) and the TD target's from the target
            // nets (no graph) are independent: on two cores when the run has them.
            let (nets, next_obs, sa) = (&b.nets, mb.next_obs, Tensor::cat(vec![mb.obs.clone(), mb.actions], 2));
            let critics = || {
                let q0 = nets.trained[QF0].forward(sa.clone()).reshape([s, bs]);
                (q0, nets.trained[QF1].forward(sa).reshape([s, bs]))
            };
            let (actor_target, qf0_target, qf1_target) = (&nets.fixed[ACTOR_TARGET], &nets.fixed[QF0_TARGET], &nets.fixed[QF1_TARGET]);
            let next_q = move || {
                let next_a = (actor_target.forward(next_obs.clone()).tanh() + noise).clamp(-1.0, 1.0);
                min_q(qf0_target, qf1_target, Tensor::cat(vec![next_obs, next_a], 2))
            };
            let ((q0, q1), next_q) = both_on(&b.device, critics, next_q);
            let target = Tensor::from_inner(mb.rewards + mb.not_done * gamma.mul(next_q));
            let critic_loss = mse(q0, target.clone()) + mse(q1, target);
            let grads = b.nets.grads(critic_loss.clone());
            b.nets.step(&lr, grads);
            critic_losses.push(critic_loss.inner());

            if b.algo.n_updates % policy_delay == 0 {
                // Through the updated first critic, whose weights stay put.
                let c0 = b.nets.trained[QF0].clone().no_grad();
                let a = b.nets.trained[ACTOR].forward(mb.obs.clone()).tanh();
                let actor_loss = c0.forward(Tensor::cat(vec![mb.obs, a], 2)).reshape([s, bs]).mean_dim(1).neg();
                let grads = b.nets.grads_of(actor_loss.clone(), &[ACTOR]);
                b.nets.step(&lr, grads);
                actor_losses.push(actor_loss.inner());
                b.nets.soft_update(QF0, QF0_TARGET, &tau);
                b.nets.soft_update(QF1, QF1_TARGET, &tau);
                b.nets.soft_update(ACTOR, ACTOR_TARGET, &tau);
            }
        }
        b.nets.updated();
        let mean = |v: Vec<Tensor<2>>| -> Result<Vec<f32>, String> {
            if v.is_empty() { Ok(Vec::new()) } else { read_vec(Tensor::cat(v, 1).mean_dim(1)) }
        };
        let (actor, critic) = (mean(actor_losses)?, mean(critic_losses)?);
        let mut out = Vec::with_capacity(s);
        for k in 0..s {
            let mut m = off_policy::common_metrics(b, k, lr.get(k));
            if let Some(a) = actor.get(k) {
                m.push("train/actor_loss", *a as f64);
            }
            m.push("train/critic_loss", critic.get(k).copied().unwrap_or(f32::NAN) as f64);
            out.push(m);
        }
        Ok(out)
    }
}
