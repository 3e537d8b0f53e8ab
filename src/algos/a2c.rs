//! Advantage Actor-Critic, after SB3's `A2C`: the shared on-policy rollout
//! (`on_policy.rs`: `n_steps` per env, GAE with `gae_lambda` 1.0 by default),
//! then one gradient step on the whole rollout: policy loss
//! `-mean(advantage * log pi(a|s))`, value loss `mse(returns, V(s))`, entropy
//! bonus, global-norm gradient clipping, RMSprop (alpha 0.99) by default.
//!
//! Written for S agents at once ([`Batch`]), as PPO: agents may differ in the
//! scalars (learning rate, gamma, GAE lambda, loss coefficients, gradient clip).

use super::adam::OptimizerKind;
use super::batch::{Algorithm, Batch, Restored, Slot};
use super::on_policy::{self, CRITIC, Core, OnPolicy, OnPolicyState, Rollout, RolloutParams, Shape};
use super::stacked::{PerAgent, StackedMlp, clip_grad_norm_per_agent, stack3};
use super::{AlgoState, Member, Metrics, PolicyHead, read_vec};
use crate::config::{A2cParams, AlgorithmConfig};
use crate::envs::{Action, ActionSpace};
use burn::prelude::*;

/// The batch's A2C config and the on-policy loop's state.
pub struct A2c {
    pub params: A2cParams,
    core: Core,
}

impl A2c {
    /// One agent, initialised from `seed` exactly as it is inside any batch.
    pub fn agent(params: A2cParams, obs_dim: usize, space: &ActionSpace, seed: u64, device: &Device) -> Batch<A2c> {
        on_policy::agent(params, obs_dim, space, seed, device)
    }
}

impl Algorithm for A2c {
    const NAME: &'static str = "a2c";
    fn trained(&self) -> &'static [&'static str] {
        self.core.dist.trained()
    }
    const FIXED: &'static [&'static str] = &[];
    type Params = A2cParams;
    type Own = ();
    type Resume = Rollout;

    fn config(&self) -> AlgorithmConfig {
        AlgorithmConfig::A2c(self.params.clone())
    }
    fn head(&self) -> PolicyHead {
        on_policy::head(self.core.dist)
    }
    fn optimizer(&self) -> OptimizerKind {
        let eps = self.params.rms_prop_eps;
        if self.params.use_rms_prop { OptimizerKind::RmsProp { alpha: 0.99, eps } } else { OptimizerKind::Adam { eps } }
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

impl OnPolicy for A2c {
    fn new(params: A2cParams, core: Core) -> Self {
        A2c { params, core }
    }
    fn shape(p: &A2cParams) -> Shape<'_> {
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
    fn rollout(p: &A2cParams) -> RolloutParams {
        RolloutParams { gamma: p.gamma, gae_lambda: p.gae_lambda, sde_sample_freq: p.sde_sample_freq }
    }
    fn wrap(state: OnPolicyState) -> AlgoState {
        AlgoState::A2c(state)
    }
    fn unwrap(state: &AlgoState) -> Option<&OnPolicyState> {
        match state {
            AlgoState::A2c(s) => Some(s),
            _ => None,
        }
    }
    fn train(batch: &mut Batch<Self>, rollouts: &[Rollout], progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        batch.train_a2c(rollouts, progress_remaining)
    }
}

impl Batch<A2c> {
    /// One gradient step of every agent on its whole rollout; each agent's metrics.
    fn train_a2c(&mut self, rollouts: &[Rollout], progress_remaining: f64) -> Result<Vec<Metrics>, String> {
        let each = |f: &dyn Fn(&A2cParams) -> f64| PerAgent::of(self.agents.iter().map(|a| f(&a.params)));
        let lr = each(&|a| a.learning_rate.value(progress_remaining));
        let (ent_coef, vf_coef, max_grad_norm) = (each(&|a| a.ent_coef), each(&|a| a.vf_coef), each(&|a| a.max_grad_norm));
        let normalize_advantage = self.algo.params.normalize_advantage;
        let (s, d, dist) = (self.agents.len(), self.obs_dim, self.dist());
        let (n, w) = (rollouts[0].buffer.len(), dist.dim());
        let (mut obs, mut act, mut adv, mut ret) = (Vec::with_capacity(s * n * d), Vec::new(), Vec::new(), Vec::new());
        for rollout in rollouts {
            let buffer = &rollout.buffer;
            obs.extend_from_slice(&buffer.obs);
            for k in 0..n {
                match buffer.action(k) {
                    Action::Discrete(a) => act.push(a as f32),
                    Action::Continuous(v) => act.extend_from_slice(v),
                }
            }
            let mut a = buffer.advantages.clone();
            if normalize_advantage && n > 1 {
                on_policy::normalize(&mut a);
            }
            adv.extend(a.iter().map(|&x| x as f32));
            ret.extend(buffer.returns.iter().map(|&x| x as f32));
        }
        let dev = &self.ad_device;
        let obs = stack3(obs, s, n, d, dev);
        let actions = Tensor::<3>::from_data(TensorData::new(act, [s, n, w]), dev);
        let advantages = Tensor::<2>::from_data(TensorData::new(adv, [s, n]), dev);
        let returns = Tensor::<2>::from_data(TensorData::new(ret, [s, n]), dev);

        let (log_prob, entropy) = dist.log_prob_entropy(&self.nets.trained, obs.clone(), actions);
        let values = self.nets.trained[CRITIC].forward(obs).reshape([s, n]);
        // Per agent [S, 1]: means over each agent's own rollout.
        let policy_loss = (advantages * log_prob).mean_dim(1).neg();
        let value_loss = (returns - values).square().mean_dim(1);
        let entropy_loss = entropy.mean_dim(1).neg();
        let loss = policy_loss.clone() + ent_coef.mul(entropy_loss.clone()) + vf_coef.mul(value_loss.clone());
        let mut grads = self.nets.grads(loss);
        let trained: Vec<&StackedMlp> = self.nets.trained.iter().collect();
        clip_grad_norm_per_agent(&mut grads, &trained, &max_grad_norm);
        self.nets.step(&lr, grads);
        self.algo.core.n_updates += 1;
        self.nets.updated();

        let stats = read_vec(Tensor::cat(vec![policy_loss.inner(), value_loss.inner(), entropy_loss.inner()], 1))?;
        let mut out = Vec::with_capacity(s);
        for (k, (agent, rollout)) in self.agents.iter().zip(rollouts).enumerate() {
            let st = &stats[k * 3..(k + 1) * 3];
            let mut m = Metrics::default();
            m.push("time/total_timesteps", agent.num_timesteps as f64);
            agent.episodes.push_into(&mut m);
            m.push("train/learning_rate", lr.get(k));
            m.push("train/policy_loss", st[0] as f64);
            m.push("train/value_loss", st[1] as f64);
            m.push("train/entropy_loss", st[2] as f64);
            on_policy::push_common(self, k, rollout, &mut m);
            out.push(m);
        }
        Ok(out)
    }
}
