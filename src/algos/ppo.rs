//! Proximal Policy Optimization (clipped surrogate), after SB3's `PPO` and
//! CleanRL's `ppo.py`: separate actor and critic MLPs, GAE, advantage
//! normalisation per minibatch, value loss, entropy bonus, global-norm gradient
//! clipping, linear schedules. Rollouts are the shared on-policy loop's
//! (`on_policy.rs`, on the plain device); only the minibatch updates here build
//! an autodiff graph. On the CPU a categorical policy's loss is one node of
//! it (`on_policy/ppo_loss.rs`, the same bits as the generic ops).
//!
//! The update is written for S agents at once ([`Batch`]): every tensor has a
//! leading agent axis, one backward pass updates all of them. Agents may differ
//! in the scalars (learning rate, clip range, gamma, GAE lambda, loss
//! coefficients, gradient clip), never in shapes.

use super::adam::OptimizerKind;
use super::batch::{Algorithm, Batch, Restored, Slot};
use super::on_policy::dist::Dist;
use super::on_policy::ppo_loss::{self, Coefs, Minibatch};
use super::on_policy::{self, ACTOR, CRITIC, Core, OnPolicy, OnPolicyState, Rollout, RolloutParams, Shape};
use super::stacked::{PerAgent, StackedMlp, clip_grad_norm_per_agent, stack3};
use super::{AlgoState, Member, Metrics, PolicyHead, read_vec};
use crate::config::{AlgorithmConfig, PpoParams};
use crate::envs::ActionSpace;
use burn::prelude::*;

/// PPO's checkpoint state (the shared on-policy one).
pub type PpoState = OnPolicyState;

/// The batch's PPO config and the on-policy loop's state.
pub struct Ppo {
    pub params: PpoParams,
    core: Core,
}

impl Ppo {
    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn agent(params: PpoParams, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<Ppo> {
        on_policy::agent(params, obs_dim, space, seed, device)
    }
}

impl Algorithm for Ppo {
    const NAME: &'static str = "ppo";
    fn trained(&self) -> &'static [&'static str] {
        self.core.dist.trained()
    }
    const FIXED: &'static [&'static str] = &[];
    type Params = PpoParams;
    type Own = ();
    type Resume = Rollout;

    fn config(&self) -> AlgorithmConfig {
        AlgorithmConfig::Ppo(self.params.clone())
    }
    fn head(&self) -> PolicyHead {
        on_policy::head(self.core.dist)
    }
    fn optimizer(&self) -> OptimizerKind {
        OptimizerKind::Adam { eps: self.params.adam_eps }
    }
    fn position(&self, slot: &Slot<Self>) -> Vec<u64> {
        on_policy::position(self, slot)
    }
    fn restore(&mut self, state: &AlgoState, obs_dim: usize, space: &ActionSpace) -> Result<Restored<Self>, String> {
        on_policy::restore(self, state, obs_dim, space)
    }
    fn learn(batch: &mut Batch<Self>, members: &mut [Member<'_>], total_timesteps: u64) -> Result<(), String> {
        batch.learn_on_policy(members, total_timesteps)
    }
}

impl OnPolicy for Ppo {
    fn new(params: PpoParams, core: Core) -> Self {
        Ppo { params, core }
    }
    fn shape(p: &PpoParams) -> Shape<'_> {
        Shape {
            n_steps: p.n_steps,
            net_arch: &p.net_arch,
            activation: p.activation,
            ortho_init: p.ortho_init,
            log_std_init: p.log_std_init,
            use_sde: p.use_sde,
        }
    }
    fn core(&self) -> &Core {
        &self.core
    }
    fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }
    fn rollout(p: &PpoParams) -> RolloutParams {
        RolloutParams { gamma: p.gamma, gae_lambda: p.gae_lambda, sde_sample_freq: p.sde_sample_freq }
    }
    fn wrap(state: OnPolicyState) -> AlgoState {
        AlgoState::Ppo(state)
    }
    fn unwrap(state: &AlgoState) -> Option<&OnPolicyState> {
        match state {
            AlgoState::Ppo(s) => Some(s),
            _ => None,
        }
    }
    fn train(batch: &mut Batch<Self>, rollouts: &[Rollout], progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        batch.train_ppo(rollouts, progress_remaining)
    }
}

impl Batch<Ppo> {
    /// One update of every agent on its own rollout; each agent's metrics.
    fn train_ppo(&mut self, rollouts: &[Rollout], progress_remaining: f64) -> Result<Vec<Metrics>, String> {
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
                        on_policy::normalize(&mut adv);
                    }
                    mb_adv.extend(adv.iter().map(|&a| a as f32));
                }
                let obs = stack3(mb_obs.clone(), s, m, d, &self.ad_device);
                let mb = Minibatch { actions: &mb_act, old_log_prob: &mb_logp, advantages: &mb_adv, returns: &mb_ret };
                let coefs = Coefs { clip: &clip, ent: &ent_coef, vf: &vf_coef };
                let parts = match dist {
                    Dist::Categorical { .. } if ppo_loss::fits(&obs) => {
                        let logits = self.nets.trained[ACTOR].forward(obs.clone());
                        let values = self.nets.trained[CRITIC].forward(obs).reshape([s, m]);
                        ppo_loss::categorical(&logits, &values, &mb, &coefs).ok_or_else(|| {
                            format!(
                                "PPO's fused loss got logits {:?}, values {:?} and {} actions that do not match: one class index below {} per row",
                                logits.dims(),
                                values.dims(),
                                mb.actions.len(),
                                logits.dims()[2]
                            )
                        })?
                    }
                    _ => {
                        let actions = Tensor::<3>::from_data(TensorData::new(mb_act.clone(), [s, m, w]), &self.ad_device);
                        let (log_prob, entropy) = dist.log_prob_entropy(&self.nets.trained, obs.clone(), actions);
                        let values = self.nets.trained[CRITIC].forward(obs).reshape([s, m]);
                        ppo_loss::generic(log_prob, entropy, values, &mb, &coefs)
                    }
                };
                let loss = parts.loss;

                let mut grads = self.nets.grads(loss.clone());
                let trained: Vec<&StackedMlp> = self.nets.trained.iter().collect();
                clip_grad_norm_per_agent(&mut grads, &trained, &max_grad_norm);
                self.nets.step(&lr, grads);

                // Diagnostics stay on the device and are read once per update.
                last_loss = loss.inner();
                stats.push(parts.stats);
            }
        }
        self.algo.core.n_updates += p.n_epochs as u64;
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
            on_policy::push_common(self, k, rollout, &mut m);
            out.push(m);
        }
        Ok(out)
    }
}
