//! Soft Actor-Critic, after SB3's `SAC`: a tanh-squashed Gaussian actor (mean
//! and a state-dependent log_std from one network, or with gSDE a learned
//! exploration matrix), twin Q critics with Polyak-averaged targets, and an
//! entropy coefficient that is fixed or learned towards the target entropy
//! `-dim(A)`. One gradient step: the entropy coefficient's and the critics'
//! updates (one backward pass: they share no parameter), then the actor's
//! through the just-updated critics, then the targets' soft update.
//!
//! The collection loop, replay buffer and checkpoint state are the shared
//! off-policy layer's (`off_policy.rs`).

use super::adam::OptimizerKind;
use super::batch::{Algorithm, Batch, Restored, Slot};
use super::buffers::ReplaySample;
use super::nets::{Init, both_on, constant_weights, init_weights};
use super::off_policy::{self, ACTOR, LoopParams, OffPolicy, OffPolicyState, QF0, QF1, Replay, each, min_q, mse};
use super::stacked::{PerAgent, StackedMlp};
use super::{AlgoState, Member, Metrics, PolicyHead, read_vec};
use crate::config::{AlgorithmConfig, SacParams};
use crate::envs::ActionSpace;
use crate::rng::Rng;
use burn::module::Module;
use burn::prelude::*;

/// ln(sqrt(2 pi)), torch's `Normal.log_prob` constant.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;
/// SB3's bounds on the actor's log_std output.
const LOG_STD_MIN: f64 = -20.0;
const LOG_STD_MAX: f64 = 2.0;
/// The tanh correction's epsilon and gSDE's variance floor (SB3's).
const EPS: f64 = 1e-6;
/// With gSDE, SB3 clips the actor's mean into [-2, 2] before squashing (`clip_mean`).
pub const SDE_MEAN_CLIP: f64 = 2.0;

/// The batch's SAC config and counters.
pub struct Sac {
    pub params: SacParams,
    n_updates: u64,
    dim: usize,
    /// gSDE's feature width (the actor's last hidden layer), when it explores with gSDE.
    sde_latent: Option<usize>,
}

/// The fixed (target) networks.
const QF0_TARGET: usize = 0;
const QF1_TARGET: usize = 1;

impl Sac {
    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn agent(params: SacParams, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<Sac> {
        let dim = space.box_dim();
        let sde_latent = params.use_sde.then(|| params.net_arch.last().copied().unwrap_or(obs_dim));
        let mut rng = Rng::derive(seed, 1);
        // Mean and log_std heads as one output layer (two Linear layers on the same features).
        let outputs = if sde_latent.is_some() { dim } else { 2 * dim };
        let actor_sizes = [vec![obs_dim], params.net_arch.clone(), vec![outputs]].concat();
        let actor = init_weights(&actor_sizes, params.activation, Init::TorchDefault, &mut rng);
        let [qf0, qf1] = off_policy::critics(obs_dim, dim, &params.net_arch, params.activation, &mut rng);
        let mut nets = vec![actor, qf0.clone(), qf1.clone()];
        if let crate::config::EntCoef::Auto { initial } = params.ent_coef {
            nets.push(constant_weights(1, initial.ln()));
        }
        if let Some(h) = sde_latent {
            nets.push(constant_weights(h * dim, params.log_std_init));
        }
        nets.extend([qf0, qf1]);
        let algo = Sac { params: params.clone(), n_updates: 0, dim, sde_latent };
        Batch::new(algo, params, &nets, (), Rng::derive(seed, 2), obs_dim, space, device)
    }

    fn log_ent(&self) -> Option<usize> {
        self.params.ent_coef.is_auto().then_some(3)
    }

    fn log_std(&self) -> Option<usize> {
        self.sde_latent.map(|_| 3 + usize::from(self.params.ent_coef.is_auto()))
    }
}

impl Algorithm for Sac {
    const NAME: &'static str = "sac";
    fn trained(&self) -> &'static [&'static str] {
        match (self.params.ent_coef.is_auto(), self.sde_latent.is_some()) {
            (true, false) => &["actor", "qf0", "qf1", "log_ent_coef"],
            (true, true) => &["actor", "qf0", "qf1", "log_ent_coef", "log_std"],
            (false, false) => &["actor", "qf0", "qf1"],
            (false, true) => &["actor", "qf0", "qf1", "log_std"],
        }
    }
    const FIXED: &'static [&'static str] = &["qf0_target", "qf1_target"];
    type Params = SacParams;
    type Own = ();
    type Resume = Replay;

    fn config(&self) -> AlgorithmConfig {
        AlgorithmConfig::Sac(self.params.clone())
    }
    fn head(&self) -> PolicyHead {
        PolicyHead::TanhSquashed
    }
    fn optimizer(&self) -> OptimizerKind {
        // SB3's Adam with torch's default epsilon for the actor, critics and entropy coefficient.
        OptimizerKind::Adam { eps: 1e-8 }
    }
    fn mean_clip(&self) -> Option<f32> {
        self.sde_latent.map(|_| SDE_MEAN_CLIP as f32)
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

impl OffPolicy for Sac {
    fn loop_params(p: &SacParams) -> LoopParams {
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
        self.sde_latent.map_or(0, |h| h * self.dim)
    }
    fn wrap(state: OffPolicyState) -> AlgoState {
        AlgoState::Sac(state)
    }
    fn unwrap(state: &AlgoState) -> Option<&OffPolicyState> {
        match state {
            AlgoState::Sac(s) => Some(s),
            _ => None,
        }
    }

    /// gSDE: new exploration matrices for every env at a training phase's start
    /// and every `sde_sample_freq` steps (SB3's `reset_noise` in `collect_rollouts`).
    fn before_step(b: &mut Batch<Self>, replays: &mut [Replay], active: &[bool], n: usize) -> Result<(), String> {
        let Some(log_std) = b.algo.log_std() else { return Ok(()) };
        for k in (0..replays.len()).filter(|&k| active[k]) {
            let (collected, freq) = (replays[k].collected as i64, b.agents[k].params.sde_sample_freq);
            if collected != 0 && !(freq > 0 && collected % freq == 0) {
                continue;
            }
            let std: Vec<f64> = b.nets.acting_member(log_std, k)?.layers[0].bias.iter().map(|&l| (l as f64).exp()).collect();
            let rng = &mut b.agents[k].rng;
            replays[k].noise = (0..n).flat_map(|_| std.iter().map(|s| s * rng.normal()).collect::<Vec<_>>()).collect();
        }
        Ok(())
    }

    fn act(b: &mut Batch<Self>, replays: &mut [Replay], n: usize, warmup: &[bool], active: &[bool]) -> Result<Vec<Vec<f32>>, String> {
        let (s, dim) = (replays.len(), b.algo.dim);
        let explore = |k: usize| active[k] && !warmup[k];
        let out = if (0..s).any(explore) {
            let (latent, out) = b.nets.acting[ACTOR].forward_latent(b.last_obs(replays, n));
            let parts = if b.algo.sde_latent.is_some() { vec![out, latent] } else { vec![out] };
            read_vec(Tensor::cat(parts, 2))?
        } else {
            Vec::new()
        };
        let row = out.len() / (s * n).max(1);
        let mut actions = Vec::with_capacity(s);
        for k in 0..s {
            if !explore(k) {
                actions.push(if active[k] { b.uniform_actions(k, n) } else { vec![0.0; n * dim] });
                continue;
            }
            let rng = &mut b.agents[k].rng;
            let mut a = Vec::with_capacity(n * dim);
            for (i, r) in out[k * n * row..(k + 1) * n * row].chunks(row).enumerate() {
                for j in 0..dim {
                    let x = match b.algo.sde_latent {
                        None => {
                            let log_std = (r[dim + j] as f64).clamp(LOG_STD_MIN, LOG_STD_MAX);
                            r[j] as f64 + log_std.exp() * rng.normal()
                        }
                        Some(h) => {
                            let w = &replays[k].noise[i * h * dim..(i + 1) * h * dim];
                            let noise: f64 = (0..h).map(|l| r[dim + l] as f64 * w[l * dim + j]).sum();
                            (r[j] as f64).clamp(-SDE_MEAN_CLIP, SDE_MEAN_CLIP) + noise
                        }
                    };
                    a.push(x.tanh() as f32);
                }
            }
            actions.push(a);
        }
        Ok(actions)
    }

    fn train(b: &mut Batch<Self>, replays: &[Replay], gradient_steps: u64, progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        let lr = each(b, |p| p.learning_rate.value(progress_remaining));
        let (gamma, tau) = (each(b, |p| p.gamma), each(b, |p| p.tau));
        let (s, bs, dim) = (b.agents.len(), b.algo.params.batch_size, b.algo.dim);
        let target_entropy = -(dim as f64);
        let target_every = b.algo.params.target_update_interval.max(1);
        let fixed_ent = PerAgent::of(b.agents.iter().map(|a| a.params.ent_coef.initial()));
        let mut samples: Vec<ReplaySample> = (0..s).map(|_| ReplaySample::default()).collect();
        let (mut actor_losses, mut critic_losses, mut ent_coefs, mut ent_losses) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let one = PerAgent::Same(1.0);
        for step in 0..gradient_steps {
            let mb = b.minibatch(replays.iter().map(|r| &r.buffer), &mut samples, bs);
            // Each agent's noise from its own generator: the action's, the next action's (gSDE: one matrix for both).
            let (eps_pi, eps_next) = match b.algo.sde_latent {
                None => (b.normals(bs, dim, &one, &b.ad_device.clone()), b.normals(bs, dim, &one, &b.device.clone())),
                Some(h) => {
                    let m = b.normals(h, dim, &one, &b.ad_device.clone());
                    (m.clone(), m.inner())
                }
            };
            let (nets, log_ent, log_std_at) = (&b.nets, b.algo.log_ent(), b.algo.log_std());
            let (obs, next_obs, actions) = (mb.obs, mb.next_obs, mb.actions);
            // The graph's side (the actor's action and log-probability, the
            // entropy coefficient, the critics' values) and the TD target's
            // (from the target critics and the current actor, without a graph)
            // are independent: on two cores when the run has them.
            let (actor, log_std) = (&nets.trained[ACTOR], log_std_at.map(|i| &nets.trained[i]));
            let graph_side = || {
                let (a_pi, log_prob) = squashed(actor, log_std, obs.clone(), eps_pi);
                // The entropy coefficient used by this step's losses is the one before its update.
                let (ent_coef, ent_loss) = match log_ent {
                    Some(i) => {
                        let log_alpha = nets.trained[i].constant_values(s, &b.ad_device).reshape([s, 1]);
                        let loss = (log_alpha.clone() * log_prob.clone().detach().add_scalar(target_entropy)).mean_dim(1).neg();
                        (log_alpha.detach().exp(), Some(loss))
                    }
                    None => (fixed_ent.mul(Tensor::<2>::ones([s, 1], &b.ad_device)), None),
                };
                let sa = Tensor::cat(vec![obs.clone(), actions], 2);
                let q0 = nets.trained[QF0].forward(sa.clone()).reshape([s, bs]);
                let q1 = nets.trained[QF1].forward(sa).reshape([s, bs]);
                (a_pi, log_prob, ent_coef, ent_loss, q0, q1)
            };
            let (qf0_target, qf1_target) = (&nets.fixed[QF0_TARGET], &nets.fixed[QF1_TARGET]);
            let target_side = move || {
                let (actor_now, log_std_now) = (actor.valid(), log_std.map(|l| l.valid()));
                let (a_next, log_prob_next) = squashed(&actor_now, log_std_now.as_ref(), next_obs.clone(), eps_next);
                let sa_next = Tensor::cat(vec![next_obs, a_next], 2);
                (min_q(qf0_target, qf1_target, sa_next), log_prob_next)
            };
            let ((a_pi, log_prob, ent_coef, ent_loss, q0, q1), (min_next_q, log_prob_next)) = both_on(&b.device, graph_side, target_side);
            let next_q = min_next_q - ent_coef.clone().inner() * log_prob_next;
            let target = Tensor::from_inner(mb.rewards + mb.not_done * gamma.mul(next_q));
            let critic_loss = (mse(q0, target.clone()) + mse(q1, target)).mul_scalar(0.5);
            let loss = match &ent_loss {
                Some(e) => critic_loss.clone() + e.clone(),
                None => critic_loss.clone(),
            };
            let grads = b.nets.grads(loss);
            b.nets.step(&lr, grads);

            // The actor learns through the updated critics, whose weights stay put.
            let (c0, c1) = (b.nets.trained[QF0].clone().no_grad(), b.nets.trained[QF1].clone().no_grad());
            let q_pi = min_q(&c0, &c1, Tensor::cat(vec![obs, a_pi], 2));
            let actor_loss = (ent_coef.clone() * log_prob - q_pi).mean_dim(1);
            let mut own = vec![ACTOR];
            own.extend(b.algo.log_std());
            let grads = b.nets.grads_of(actor_loss.clone(), &own);
            b.nets.step(&lr, grads);

            if step % target_every == 0 {
                b.nets.soft_update(QF0, QF0_TARGET, &tau);
                b.nets.soft_update(QF1, QF1_TARGET, &tau);
            }
            actor_losses.push(actor_loss.inner());
            critic_losses.push(critic_loss.inner());
            ent_coefs.push(ent_coef.inner());
            ent_losses.extend(ent_loss.map(|e| e.inner()));
        }
        b.algo.n_updates += gradient_steps;
        b.nets.updated();
        let mean = |v: Vec<Tensor<2>>| -> Result<Vec<f32>, String> {
            if v.is_empty() { Ok(Vec::new()) } else { read_vec(Tensor::cat(v, 1).mean_dim(1)) }
        };
        let (actor, critic, ent, ent_loss) = (mean(actor_losses)?, mean(critic_losses)?, mean(ent_coefs)?, mean(ent_losses)?);
        let mut out = Vec::with_capacity(s);
        for k in 0..s {
            let mut m = off_policy::common_metrics(b, k, lr.get(k));
            let at = |v: &[f32]| v.get(k).copied().unwrap_or(f32::NAN) as f64;
            m.push("train/ent_coef", at(&ent));
            m.push("train/actor_loss", at(&actor));
            m.push("train/critic_loss", at(&critic));
            if !ent_loss.is_empty() {
                m.push("train/ent_coef_loss", at(&ent_loss));
            }
            out.push(m);
        }
        Ok(out)
    }
}

/// A tanh-squashed Gaussian action `[S, B, dim]` at `obs` and its log-probability `[S, B]`
/// (SB3's `action_log_prob`): `eps` is `[S, B, dim]` standard normals, or with gSDE
/// (`log_std` given) the `[S, latent, dim]` standard normals of the exploration matrix.
fn squashed(actor: &StackedMlp, log_std: Option<&StackedMlp>, obs: Tensor<3>, eps: Tensor<3>) -> (Tensor<3>, Tensor<2>) {
    let [s, b, _] = obs.dims();
    let (x, gaussian_log_prob) = match log_std {
        None => {
            let out = actor.forward(obs);
            let dim = out.dims()[2] / 2;
            let mean = out.clone().slice([0..s, 0..b, 0..dim]);
            let log_std = out.slice([0..s, 0..b, dim..2 * dim]).clamp(LOG_STD_MIN, LOG_STD_MAX);
            // The density at mean + std * eps: -eps^2 / 2 - log std - ln sqrt(2 pi).
            let elem = eps.clone().square().mul_scalar(-0.5) - log_std.clone();
            (mean + log_std.exp() * eps, elem.sub_scalar(LN_SQRT_2PI).sum_dim(2))
        }
        Some(net) => {
            let (latent, mean) = actor.forward_latent(obs);
            let (h, dim) = (latent.dims()[2], mean.dims()[2]);
            let mean = mean.clamp(-SDE_MEAN_CLIP, SDE_MEAN_CLIP);
            let std = net.constant_values(s, &latent.device()).reshape([s, h, dim]).exp();
            let latent = latent.detach();
            let noise = latent.clone().matmul(std.clone() * eps);
            let sigma = latent.square().matmul(std.square()).add_scalar(EPS).sqrt();
            let elem = (noise.clone() / sigma.clone()).square().mul_scalar(-0.5) - sigma.log();
            (mean + noise, elem.sub_scalar(LN_SQRT_2PI).sum_dim(2))
        }
    };
    let action = x.tanh();
    let correction = action.clone().square().neg().add_scalar(1.0 + EPS).log().sum_dim(2);
    (action, (gaussian_log_prob - correction).reshape([s, b]))
}
