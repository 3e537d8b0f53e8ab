//! SB3's rollout buffer (with GAE) and replay buffer, host-side and serialisable.
//!
//! Both hold either discrete actions (`actions`, one index per transition) or
//! continuous ones (`continuous_actions`, `action_dim` floats per transition);
//! the other column stays empty. A checkpoint written before Box action spaces
//! existed has no `action_dim` and reads as discrete.

use crate::envs::{Action, ActionSpace, Actions};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// On-policy storage for `n_steps x n_envs` transitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutBuffer {
    pub n_steps: usize,
    pub n_envs: usize,
    pub obs_dim: usize,
    pub obs: Vec<f32>,
    /// Discrete actions (empty for a Box action space).
    pub actions: Vec<usize>,
    /// Values per continuous action; 0 for a discrete action space.
    #[serde(default)]
    pub action_dim: usize,
    /// Continuous actions, `action_dim` per transition (empty for a discrete space).
    #[serde(default)]
    pub continuous_actions: Vec<f32>,
    pub rewards: Vec<f64>,
    /// 1.0 where the observation is the first of an episode.
    pub episode_starts: Vec<f64>,
    pub values: Vec<f64>,
    pub log_probs: Vec<f64>,
    pub advantages: Vec<f64>,
    pub returns: Vec<f64>,
    pub pos: usize,
}

impl RolloutBuffer {
    /// A buffer for discrete actions.
    pub fn new(n_steps: usize, n_envs: usize, obs_dim: usize) -> Self {
        Self::for_space(n_steps, n_envs, obs_dim, &ActionSpace::Discrete { n: 0, names: Vec::new() })
    }

    /// A buffer for actions of `space`.
    pub fn for_space(n_steps: usize, n_envs: usize, obs_dim: usize, space: &ActionSpace) -> Self {
        let n = n_steps * n_envs;
        let action_dim = space.box_dim();
        Self {
            n_steps,
            n_envs,
            obs_dim,
            obs: vec![0.0; n * obs_dim],
            actions: if action_dim == 0 { vec![0; n] } else { Vec::new() },
            action_dim,
            continuous_actions: vec![0.0; n * action_dim],
            rewards: vec![0.0; n],
            episode_starts: vec![0.0; n],
            values: vec![0.0; n],
            log_probs: vec![0.0; n],
            advantages: vec![0.0; n],
            returns: vec![0.0; n],
            pos: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.n_steps * self.n_envs
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// Stores one vectorized step; index = step * n_envs + env.
    pub fn add(&mut self, obs: &[f32], actions: Actions<'_>, rewards: &[f64], episode_starts: &[bool], values: &[f64], log_probs: &[f64]) {
        let (e, d, p) = (self.n_envs, self.obs_dim, self.pos);
        self.obs[p * e * d..(p + 1) * e * d].copy_from_slice(obs);
        match actions {
            Actions::Discrete(a) => self.actions[p * e..(p + 1) * e].copy_from_slice(a),
            Actions::Continuous { values, .. } => {
                let w = self.action_dim;
                self.continuous_actions[p * e * w..(p + 1) * e * w].copy_from_slice(values)
            }
        }
        for i in 0..e {
            let k = p * e + i;
            self.rewards[k] = rewards[i];
            self.episode_starts[k] = if episode_starts[i] { 1.0 } else { 0.0 };
            self.values[k] = values[i];
            self.log_probs[k] = log_probs[i];
        }
        self.pos += 1;
    }

    pub fn full(&self) -> bool {
        self.pos == self.n_steps
    }

    /// Transition `k`'s action.
    pub fn action(&self, k: usize) -> Action<'_> {
        if self.action_dim == 0 {
            Action::Discrete(self.actions[k])
        } else {
            Action::Continuous(&self.continuous_actions[k * self.action_dim..(k + 1) * self.action_dim])
        }
    }

    /// GAE(lambda) as SB3's `compute_returns_and_advantage`: `last_values` are
    /// V(s) of the observation after the rollout, `dones` whether it starts a new episode.
    pub fn compute_returns_and_advantage(&mut self, last_values: &[f64], dones: &[bool], gamma: f64, gae_lambda: f64) {
        let e = self.n_envs;
        for i in 0..e {
            let mut last_gae = 0.0;
            for step in (0..self.n_steps).rev() {
                let k = step * e + i;
                let (next_non_terminal, next_value) = if step == self.n_steps - 1 {
                    (if dones[i] { 0.0 } else { 1.0 }, last_values[i])
                } else {
                    (1.0 - self.episode_starts[k + e], self.values[k + e])
                };
                let delta = self.rewards[k] + gamma * next_value * next_non_terminal - self.values[k];
                last_gae = delta + gamma * gae_lambda * next_non_terminal * last_gae;
                self.advantages[k] = last_gae;
            }
        }
        for k in 0..self.len() {
            self.returns[k] = self.advantages[k] + self.values[k];
        }
    }
}

/// Off-policy storage, a ring of `capacity` transitions (SB3's ReplayBuffer
/// with `handle_timeout_termination`: `dones` holds terminations only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayBuffer {
    pub capacity: usize,
    pub obs_dim: usize,
    pub obs: Vec<f32>,
    pub next_obs: Vec<f32>,
    /// Discrete actions (empty for a Box action space).
    pub actions: Vec<u32>,
    /// Values per continuous action; 0 for a discrete action space.
    #[serde(default)]
    pub action_dim: usize,
    /// Continuous actions, `action_dim` per transition.
    #[serde(default)]
    pub continuous_actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub dones: Vec<f32>,
    pub pos: usize,
    pub full: bool,
}

/// A sampled minibatch, row-major.
#[derive(Clone, Debug, Default)]
pub struct ReplaySample {
    pub obs: Vec<f32>,
    pub next_obs: Vec<f32>,
    pub actions: Vec<i64>,
    /// Continuous actions, `action_dim` per sample (Box action spaces).
    pub continuous_actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub dones: Vec<f32>,
}

impl ReplayBuffer {
    /// A buffer for discrete actions.
    pub fn new(capacity: usize, obs_dim: usize) -> Self {
        Self::for_space(capacity, obs_dim, &ActionSpace::Discrete { n: 0, names: Vec::new() })
    }

    /// A buffer for actions of `space`.
    pub fn for_space(capacity: usize, obs_dim: usize, space: &ActionSpace) -> Self {
        let action_dim = space.box_dim();
        Self {
            capacity,
            obs_dim,
            obs: vec![0.0; capacity * obs_dim],
            next_obs: vec![0.0; capacity * obs_dim],
            actions: if action_dim == 0 { vec![0; capacity] } else { Vec::new() },
            action_dim,
            continuous_actions: vec![0.0; capacity * action_dim],
            rewards: vec![0.0; capacity],
            dones: vec![0.0; capacity],
            pos: 0,
            full: false,
        }
    }

    pub fn len(&self) -> usize {
        if self.full { self.capacity } else { self.pos }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn add(&mut self, obs: &[f32], next_obs: &[f32], action: Action<'_>, reward: f64, terminated: bool) {
        let (d, p, w) = (self.obs_dim, self.pos, self.action_dim);
        self.obs[p * d..(p + 1) * d].copy_from_slice(obs);
        self.next_obs[p * d..(p + 1) * d].copy_from_slice(next_obs);
        match action {
            Action::Discrete(a) => self.actions[p] = a as u32,
            Action::Continuous(v) => self.continuous_actions[p * w..(p + 1) * w].copy_from_slice(v),
        }
        self.rewards[p] = reward as f32;
        self.dones[p] = if terminated { 1.0 } else { 0.0 };
        self.pos += 1;
        if self.pos == self.capacity {
            self.full = true;
            self.pos = 0;
        }
    }

    /// A copy holding only the stored transitions (what a checkpoint saves).
    pub fn stored(&self) -> Self {
        let (n, d) = (self.len(), self.obs_dim);
        Self {
            capacity: self.capacity,
            obs_dim: d,
            obs: self.obs[..n * d].to_vec(),
            next_obs: self.next_obs[..n * d].to_vec(),
            actions: self.actions[..n.min(self.actions.len())].to_vec(),
            action_dim: self.action_dim,
            continuous_actions: self.continuous_actions[..(n * self.action_dim).min(self.continuous_actions.len())].to_vec(),
            rewards: self.rewards[..n].to_vec(),
            dones: self.dones[..n].to_vec(),
            pos: self.pos,
            full: self.full,
        }
    }

    /// Back from [`ReplayBuffer::stored`] to full capacity, checking every
    /// length and value range against the run's config first.
    pub fn expanded(mut self, capacity: usize, obs_dim: usize, n_actions: usize) -> Result<Self, String> {
        let n = if self.full { self.capacity } else { self.pos };
        let ok = self.capacity == capacity
            && self.obs_dim == obs_dim
            && self.pos < capacity
            && self.obs.len() == n * obs_dim
            && self.next_obs.len() == n * obs_dim
            && self.actions.len() == if self.action_dim == 0 { n } else { 0 }
            && self.continuous_actions.len() == n * self.action_dim
            && self.rewards.len() == n
            && self.dones.len() == n;
        if !ok {
            return Err(format!(
                "the checkpoint's replay buffer (capacity {}, {} transitions of {} values) does not fit algorithm.params.buffer_size={capacity} with {obs_dim} observation values",
                self.capacity,
                self.rewards.len(),
                self.obs_dim
            ));
        }
        if self.actions.iter().any(|&a| a as usize >= n_actions)
            || self.continuous_actions.iter().any(|v| !v.is_finite())
            || self.dones.iter().any(|&d| d != 0.0 && d != 1.0)
        {
            return Err("the checkpoint's replay buffer holds out-of-range actions or done flags".into());
        }
        self.obs.resize(capacity * obs_dim, 0.0);
        self.next_obs.resize(capacity * obs_dim, 0.0);
        if self.action_dim == 0 {
            self.actions.resize(capacity, 0);
        }
        self.continuous_actions.resize(capacity * self.action_dim, 0.0);
        self.rewards.resize(capacity, 0.0);
        self.dones.resize(capacity, 0.0);
        Ok(self)
    }

    /// Uniform sample with replacement, into a reused buffer.
    pub fn sample_into(&self, batch_size: usize, rng: &mut Rng, out: &mut ReplaySample) {
        let d = self.obs_dim;
        let upper = self.len();
        out.obs.clear();
        out.next_obs.clear();
        out.actions.clear();
        out.continuous_actions.clear();
        out.rewards.clear();
        out.dones.clear();
        for _ in 0..batch_size {
            let i = rng.below(upper);
            out.obs.extend_from_slice(&self.obs[i * d..(i + 1) * d]);
            out.next_obs.extend_from_slice(&self.next_obs[i * d..(i + 1) * d]);
            if self.action_dim == 0 {
                out.actions.push(self.actions[i] as i64);
            } else {
                out.continuous_actions.extend_from_slice(&self.continuous_actions[i * self.action_dim..(i + 1) * self.action_dim]);
            }
            out.rewards.push(self.rewards[i]);
            out.dones.push(self.dones[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_buffer_wraps() {
        let mut b = ReplayBuffer::new(3, 1);
        for i in 0..5 {
            b.add(&[i as f32], &[i as f32 + 0.5], Action::Discrete(i % 2), i as f64, false);
        }
        assert!(b.full);
        assert_eq!(b.len(), 3);
        assert_eq!(b.obs, vec![3.0, 4.0, 2.0]);
        let mut s = ReplaySample::default();
        b.sample_into(10, &mut Rng::seed_from_u64(0), &mut s);
        assert_eq!(s.obs.len(), 10);
        assert!(s.obs.iter().all(|o| [2.0, 3.0, 4.0].contains(o)));
    }
}
