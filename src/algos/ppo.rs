//! Proximal Policy Optimization (clipped surrogate), after SB3's `PPO` and
//! CleanRL's `ppo.py`: separate actor and critic MLPs, GAE, advantage
//! normalisation per minibatch, value loss, entropy bonus, global-norm gradient
//! clipping, linear schedules. Rollouts run on the plain device (no autodiff
//! graph); only the minibatch updates build one.

use super::buffers::RolloutBuffer;
use super::nets::{clip_grad_norm, Init, Mlp, MlpWeights};
use super::{check_network, read_vec, Agent, AgentState, AgentView, AlgoState, Callback, Control, EpisodeWindow, Metrics, NetworkState, Policy, PolicyHead, TrainingState};
use crate::config::PpoParams;
use crate::envs::VecEnv;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use burn::module::Module;
use super::adam::AdamOptimizer;
use burn::optim::GradientsParams;
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

pub struct Ppo {
    pub params: PpoParams,
    /// Trained on `device.autodiff()`.
    model: ActorCritic,
    /// A no-autodiff snapshot of `model` for acting, refreshed after each update.
    acting: ActorCritic,
    optimizer: AdamOptimizer,
    device: Device,
    ad_device: Device,
    rng: Rng,
    obs_dim: usize,
    n_actions: usize,
    num_timesteps: u64,
    n_updates: u64,
    episodes: EpisodeWindow,
    resume: Option<Resume>,
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
        let optimizer = AdamOptimizer::new(params.adam_eps);
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
            resume: None,
            params,
        }
    }

    fn sizes(&self, out: usize) -> Vec<usize> {
        [vec![self.obs_dim], self.params.net_arch.clone(), vec![out]].concat()
    }

    /// Trains until `total_timesteps` env steps or until the callback says stop.
    pub fn learn(&mut self, venv: &mut VecEnv, total_timesteps: u64, seed: u64, callback: &mut dyn Callback) -> Result<(), String> {
        let n_envs = venv.num_envs();
        let (mut buffer, mut last_obs, mut last_episode_starts) = match self.resume.take() {
            Some(r) if r.0.n_envs == n_envs => r,
            Some(r) => return Err(format!("the checkpoint's rollout is for {} envs, the run has {n_envs}", r.0.n_envs)),
            None => {
                venv.reset(seed);
                (RolloutBuffer::new(self.params.n_steps, n_envs, self.obs_dim), venv.obs.clone(), vec![true; n_envs])
            }
        };

        // A full rollout only comes from a checkpoint taken on its last step: train on it first.
        while self.num_timesteps < total_timesteps || buffer.full() {
            // 1. Collect n_steps x n_envs transitions with the current policy.
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
                let view = PpoAt { ppo: self, venv, buffer: &buffer, last_obs: &last_obs, last_episode_starts: &last_episode_starts };
                if callback.on_step(&view, self.num_timesteps) == Control::Stop {
                    return Ok(());
                }
            }
            let last_values = self.values(&last_obs, n_envs)?;
            buffer.compute_returns_and_advantage(&last_values, &last_episode_starts, self.params.gamma, self.params.gae_lambda);

            // 2. Optimise the clipped surrogate on minibatches for n_epochs.
            let progress_remaining = 1.0 - self.num_timesteps as f64 / total_timesteps as f64;
            let metrics = self.train(&buffer, progress_remaining)?;
            buffer.reset();
            callback.on_update(&metrics);
        }
        Ok(())
    }

    fn training_state(&self, venv: &VecEnv, buffer: &RolloutBuffer, last_obs: &[f32], last_episode_starts: &[bool]) -> Result<TrainingState, String> {
        let net = |name: &str, acting: &Mlp, trained: &Mlp| -> Result<NetworkState, String> {
            Ok(NetworkState { name: name.into(), weights: acting.to_weights()?, param_ids: trained.param_id_values() })
        };
        let agent = AgentState {
            networks: vec![net("actor", &self.acting.actor, &self.model.actor)?, net("critic", &self.acting.critic, &self.model.critic)?],
            optimizer: self.optimizer.moments()?,
            algo: AlgoState::Ppo(PpoState {
                num_timesteps: self.num_timesteps,
                n_updates: self.n_updates,
                rng: self.rng.clone(),
                episodes: self.episodes.clone(),
                rollout: buffer.clone(),
                last_obs: last_obs.to_vec(),
                last_episode_starts: last_episode_starts.to_vec(),
            }),
        };
        Ok(TrainingState { agent, venv: venv.snapshot()? })
    }

    /// Loads a checkpoint, checking every shape against this run's config first.
    pub fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        let AlgoState::Ppo(s) = &state.algo else { return Err("the checkpoint is a DQN run's; this run is PPO".into()) };
        let (actor, critic) = (state.network("actor")?, state.network("critic")?);
        check_network(actor, &self.sizes(self.n_actions), self.params.activation)?;
        check_network(critic, &self.sizes(1), self.params.activation)?;
        let r = &s.rollout;
        let n = r.n_steps * r.n_envs;
        let lens_ok = [r.obs.len() == n * r.obs_dim, r.actions.len() == n, r.rewards.len() == n, r.episode_starts.len() == n, r.values.len() == n, r.log_probs.len() == n, r.advantages.len() == n, r.returns.len() == n];
        if r.n_steps != self.params.n_steps || r.obs_dim != self.obs_dim || r.pos > r.n_steps || lens_ok.contains(&false) || r.actions.iter().any(|&a| a >= self.n_actions) {
            return Err(format!(
                "the checkpoint's rollout ({} steps x {} envs, at step {}) does not fit algorithm.params.n_steps={} and {} observation values",
                r.n_steps, r.n_envs, r.pos, self.params.n_steps, self.obs_dim
            ));
        }
        if s.last_obs.len() != r.n_envs * self.obs_dim || s.last_episode_starts.len() != r.n_envs {
            return Err("the checkpoint's last observations do not match its rollout's env count".into());
        }
        s.episodes.check()?;
        let model = ActorCritic {
            actor: Mlp::from_weights_with_ids(&actor.weights, &actor.param_ids, &self.ad_device)?,
            critic: Mlp::from_weights_with_ids(&critic.weights, &critic.param_ids, &self.ad_device)?,
        };
        let params = [model.actor.param_shapes(), model.critic.param_shapes()].concat();
        let mut optimizer = AdamOptimizer::new(self.params.adam_eps);
        optimizer.restore(&state.optimizer, &params, &self.device)?;
        self.optimizer = optimizer;
        self.acting = model.valid();
        self.model = model;
        self.num_timesteps = s.num_timesteps;
        self.n_updates = s.n_updates;
        self.rng = s.rng.clone();
        self.episodes = s.episodes.clone();
        self.resume = Some((s.rollout.clone(), s.last_obs.clone(), s.last_episode_starts.clone()));
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
    fn restore(&mut self, state: &AgentState) -> Result<(), String> {
        Ppo::restore(self, state)
    }
}

/// PPO in the middle of `learn`, as callbacks see it: with the rollout and envs.
struct PpoAt<'a> {
    ppo: &'a Ppo,
    venv: &'a VecEnv,
    buffer: &'a RolloutBuffer,
    last_obs: &'a [f32],
    last_episode_starts: &'a [bool],
}

impl AgentView for PpoAt<'_> {
    fn policy_head(&self) -> PolicyHead {
        self.ppo.policy_head()
    }
    fn policy(&self) -> Policy {
        self.ppo.policy()
    }
    fn networks(&self) -> Result<Vec<(String, MlpWeights)>, String> {
        self.ppo.networks()
    }
    fn num_timesteps(&self) -> u64 {
        self.ppo.num_timesteps
    }
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.ppo.episodes.just_finished()
    }
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        self.ppo.training_state(self.venv, self.buffer, self.last_obs, self.last_episode_starts)
    }
}

impl AgentView for Ppo {
    fn checkpoint(&self, _with_replay_buffer: bool) -> Result<TrainingState, String> {
        Err("a PPO checkpoint is taken between env steps, inside learn()".into())
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
    fn finished_episodes(&self) -> &[(f64, u32)] {
        self.episodes.just_finished()
    }
}
