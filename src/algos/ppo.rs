//! Proximal Policy Optimization (clipped surrogate), after SB3's `PPO` and
//! CleanRL's `ppo.py`: separate actor and critic MLPs, GAE, advantage
//! normalisation per minibatch, value loss, entropy bonus, global-norm gradient
//! clipping, linear schedules. Rollouts run on the plain device (no autodiff
//! graph); only the minibatch updates build one.

use super::buffers::RolloutBuffer;
use super::nets::{clip_grad_norm, Init, Mlp, MlpWeights};
use super::{read_vec, Agent, Callback, Control, EpisodeWindow, Metrics, Policy, PolicyHead};
use crate::config::PpoParams;
use crate::envs::VecEnv;
use crate::rng::Rng;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

#[derive(Module, Debug)]
pub struct ActorCritic {
    /// obs -> hidden -> action logits.
    pub actor: Mlp,
    /// obs -> hidden -> V(s).
    pub critic: Mlp,
}

impl ActorCritic {
    /// Logits and values of a batch on one read-back: row-major `n x (n_actions + 1)`.
    fn logits_and_values(&self, obs: Tensor<2>) -> Tensor<2> {
        Tensor::cat(vec![self.actor.forward(obs.clone()), self.critic.forward(obs)], 1)
    }
}

pub struct Ppo {
    pub params: PpoParams,
    /// Trained on `device.autodiff()`.
    model: ActorCritic,
    /// A no-autodiff snapshot of `model` for acting, refreshed after each update.
    acting: ActorCritic,
    optimizer: burn::optim::ModuleOptimizer,
    device: Device,
    ad_device: Device,
    rng: Rng,
    obs_dim: usize,
    n_actions: usize,
    num_timesteps: u64,
    n_updates: u64,
    episodes: EpisodeWindow,
}

impl Ppo {
    pub fn new(params: PpoParams, obs_dim: usize, n_actions: usize, seed: u64, device: &Device) -> Self {
        let ad_device = device.clone().autodiff();
        let mut init_rng = Rng::derive(seed, 1);
        let init = |out_gain| {
            if params.ortho_init {
                Init::Orthogonal { hidden_gain: 2f64.sqrt(), output_gain: out_gain }
            } else {
                Init::TorchDefault
            }
        };
        let sizes = |out: usize| [vec![obs_dim], params.net_arch.clone(), vec![out]].concat();
        let model = ActorCritic {
            actor: Mlp::new(&sizes(n_actions), params.activation, init(0.01), &mut init_rng, &ad_device),
            critic: Mlp::new(&sizes(1), params.activation, init(1.0), &mut init_rng, &ad_device),
        };
        let optimizer = AdamConfig::new().with_epsilon(params.adam_eps as f32).init();
        Self {
            acting: model.valid(),
            model,
            optimizer,
            device: device.clone(),
            ad_device,
            rng: Rng::derive(seed, 2),
            obs_dim,
            n_actions,
            num_timesteps: 0,
            n_updates: 0,
            episodes: EpisodeWindow::default(),
            params,
        }
    }

    /// Trains until `total_timesteps` env steps or until the callback says stop.
    pub fn learn(&mut self, venv: &mut VecEnv, total_timesteps: u64, seed: u64, callback: &mut dyn Callback) -> Result<(), String> {
        let n_envs = venv.num_envs();
        let mut buffer = RolloutBuffer::new(self.params.n_steps, n_envs, self.obs_dim);
        venv.reset(seed);
        let mut last_obs = venv.obs.clone();
        let mut last_episode_starts = vec![true; n_envs];

        while self.num_timesteps < total_timesteps {
            // 1. Collect n_steps x n_envs transitions with the current policy.
            buffer.reset();
            let mut stopped = false;
            while !buffer.full() {
                let (actions, values, log_probs) = self.sample_actions(&last_obs, n_envs)?;
                venv.step(&actions);
                self.num_timesteps += n_envs as u64;
                self.episodes.drain_from(venv);
                let mut rewards = venv.rewards.clone();
                // Truncated, not terminated: bootstrap with V(final obs), as SB3 does.
                let truncated: Vec<usize> = (0..n_envs).filter(|&i| venv.truncated[i]).collect();
                if !truncated.is_empty() {
                    let d = self.obs_dim;
                    let obs: Vec<f32> = truncated.iter().flat_map(|&i| venv.final_obs[i * d..(i + 1) * d].iter().copied()).collect();
                    let v = self.values(&obs, truncated.len())?;
                    for (j, &i) in truncated.iter().enumerate() {
                        rewards[i] += self.params.gamma * v[j];
                    }
                }
                buffer.add(&last_obs, &actions, &rewards, &last_episode_starts, &values, &log_probs);
                last_obs.copy_from_slice(&venv.obs);
                for (i, start) in last_episode_starts.iter_mut().enumerate() {
                    *start = venv.done(i);
                }
                if callback.on_step(self, self.num_timesteps) == Control::Stop {
                    stopped = true;
                    break;
                }
            }
            if stopped {
                return Ok(());
            }
            let last_values = self.values(&last_obs, n_envs)?;
            buffer.compute_returns_and_advantage(&last_values, &last_episode_starts, self.params.gamma, self.params.gae_lambda);

            // 2. Optimise the clipped surrogate on minibatches for n_epochs.
            let progress_remaining = 1.0 - self.num_timesteps as f64 / total_timesteps as f64;
            let metrics = self.train(&buffer, progress_remaining)?;
            callback.on_update(&metrics);
        }
        Ok(())
    }

    /// Samples actions from the categorical policy; returns actions, V(s), log pi(a|s).
    fn sample_actions(&mut self, obs: &[f32], n: usize) -> Result<(Vec<usize>, Vec<f64>, Vec<f64>), String> {
        let x = Tensor::<2>::from_data(TensorData::new(obs.to_vec(), [n, self.obs_dim]), &self.device);
        let out = read_vec(self.acting.logits_and_values(x))?;
        let a = self.n_actions;
        let (mut actions, mut values, mut log_probs) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for row in out.chunks(a + 1) {
            let logits = &row[..a];
            let max = logits.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l)) as f64;
            let sum_exp: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
            let log_z = max + sum_exp.ln();
            let u = self.rng.next_f64() * sum_exp;
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
        Ok((actions, values, log_probs))
    }

    fn values(&self, obs: &[f32], n: usize) -> Result<Vec<f64>, String> {
        let x = Tensor::<2>::from_data(TensorData::new(obs.to_vec(), [n, self.obs_dim]), &self.device);
        Ok(read_vec(self.acting.critic.forward(x))?.into_iter().map(f64::from).collect())
    }

    fn train(&mut self, buffer: &RolloutBuffer, progress_remaining: f64) -> Result<Metrics, String> {
        let p = &self.params;
        let lr = p.learning_rate.value(progress_remaining);
        let clip = p.clip_range.value(progress_remaining);
        let (n, d, b) = (buffer.len(), self.obs_dim, p.batch_size);
        let mut indices: Vec<usize> = (0..n).collect();
        let mut stats: Vec<Tensor<1>> = Vec::new();
        let (mut mb_obs, mut mb_act, mut mb_logp, mut mb_adv, mut mb_ret) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut last_loss = Tensor::<1>::zeros([1], &self.device);

        for _epoch in 0..p.n_epochs {
            self.rng.shuffle(&mut indices);
            for chunk in indices.chunks(b) {
                let m = chunk.len();
                mb_obs.clear();
                mb_act.clear();
                mb_logp.clear();
                mb_adv.clear();
                mb_ret.clear();
                for &k in chunk {
                    mb_obs.extend_from_slice(&buffer.obs[k * d..(k + 1) * d]);
                    mb_act.push(buffer.actions[k] as i64);
                    mb_logp.push(buffer.log_probs[k] as f32);
                    mb_adv.push(buffer.advantages[k]);
                    mb_ret.push(buffer.returns[k] as f32);
                }
                if p.normalize_advantage && m > 1 {
                    normalize(&mut mb_adv);
                }
                let dev = &self.ad_device;
                let obs = Tensor::<2>::from_data(TensorData::new(mb_obs.clone(), [m, d]), dev);
                let actions = Tensor::<2, Int>::from_data(TensorData::new(mb_act.clone(), [m, 1]), dev);
                let old_log_prob = Tensor::<1>::from_data(TensorData::new(mb_logp.clone(), [m]), dev);
                let advantages = Tensor::<1>::from_data(TensorData::new(mb_adv.iter().map(|&a| a as f32).collect::<Vec<_>>(), [m]), dev);
                let returns = Tensor::<1>::from_data(TensorData::new(mb_ret.clone(), [m]), dev);

                let log_probs_all = log_softmax(self.model.actor.forward(obs.clone()), 1);
                let log_prob = log_probs_all.clone().gather(1, actions).reshape([m]);
                let entropy = (log_probs_all.clone().exp() * log_probs_all).sum_dim(1).reshape([m]).neg();
                let values = self.model.critic.forward(obs).reshape([m]);

                let log_ratio = log_prob - old_log_prob;
                let ratio = log_ratio.clone().exp();
                let surrogate = advantages.clone() * ratio.clone();
                let clipped = advantages * ratio.clone().clamp(1.0 - clip, 1.0 + clip);
                let policy_loss = surrogate.min_pair(clipped).mean().neg();
                let value_loss = (returns - values).square().mean();
                let entropy_loss = entropy.mean().neg();
                let loss = policy_loss.clone() + entropy_loss.clone().mul_scalar(p.ent_coef) + value_loss.clone().mul_scalar(p.vf_coef);

                let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
                clip_grad_norm(&mut grads, &[&self.model.actor, &self.model.critic], p.max_grad_norm);
                self.model = self.optimizer.step(lr, self.model.clone(), grads);

                // Diagnostics stay on the device and are read once per update.
                let ratio = ratio.inner();
                let log_ratio = log_ratio.inner();
                let clip_fraction = ratio.clone().sub_scalar(1.0).abs().greater_elem(clip).float().mean();
                let approx_kl = (ratio.sub_scalar(1.0) - log_ratio).mean();
                last_loss = loss.inner();
                stats.push(Tensor::cat(vec![policy_loss.inner(), value_loss.inner(), entropy_loss.inner(), approx_kl, clip_fraction], 0));
            }
        }
        self.n_updates += p.n_epochs as u64;
        self.acting = self.model.valid();

        let stats = read_vec(Tensor::stack::<2>(stats, 0).mean_dim(0))?;
        let last_loss = read_vec(last_loss)?.first().copied().unwrap_or(f32::NAN);
        let mut m = Metrics::default();
        m.push("time/total_timesteps", self.num_timesteps as f64);
        self.episodes.push_into(&mut m);
        m.push("train/learning_rate", lr);
        m.push("train/clip_range", clip);
        m.push("train/policy_gradient_loss", stats[0] as f64);
        m.push("train/value_loss", stats[1] as f64);
        m.push("train/entropy_loss", stats[2] as f64);
        m.push("train/approx_kl", stats[3] as f64);
        m.push("train/clip_fraction", stats[4] as f64);
        m.push("train/loss", last_loss as f64);
        m.push("train/explained_variance", explained_variance(&buffer.values, &buffer.returns));
        m.push("train/n_updates", self.n_updates as f64);
        Ok(m)
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

impl Agent for Ppo {
    fn learn(&mut self, venv: &mut VecEnv, total_timesteps: u64, seed: u64, callback: &mut dyn Callback) -> Result<(), String> {
        Ppo::learn(self, venv, total_timesteps, seed, callback)
    }
    fn policy_head(&self) -> PolicyHead {
        PolicyHead::Logits
    }
    fn policy(&self) -> Policy {
        Policy::new(self.acting.actor.clone(), PolicyHead::Logits, self.device.clone())
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        Ok(vec![("actor".into(), self.acting.actor.to_weights()?), ("critic".into(), self.acting.critic.to_weights()?)])
    }
    fn num_timesteps(&self) -> u64 {
        self.num_timesteps
    }
}
