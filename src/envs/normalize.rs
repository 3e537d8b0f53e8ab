//! SB3's `VecNormalize`: observations scaled by their running mean and
//! variance, rewards by the running standard deviation of the discounted
//! return, both clipped to ±10, epsilon 1e-8, statistics in f64 updated
//! while training. The statistics a policy was trained with travel with it
//! ([`ObsNorm`] in the model file), so evaluation cannot forget them.

use serde::{Deserialize, Serialize};

/// SB3's defaults (`clip_obs`, `clip_reward`, `epsilon`).
pub const CLIP: f64 = 10.0;
pub const EPSILON: f64 = 1e-8;

/// Running mean and variance (parallel algorithm, SB3's `RunningMeanStd`,
/// starting from count 1e-4, mean 0, variance 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningMeanStd {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub count: f64,
}

impl RunningMeanStd {
    pub fn new(dim: usize) -> Self {
        Self { mean: vec![0.0; dim], var: vec![1.0; dim], count: 1e-4 }
    }

    /// Adds `rows` (each `mean.len()` values) as one batch, population variance, as NumPy computes them.
    pub fn update(&mut self, rows: impl Iterator<Item = f64> + Clone, n_rows: usize) {
        let d = self.mean.len();
        if n_rows == 0 || d == 0 {
            return;
        }
        let n = n_rows as f64;
        let mut batch_mean = vec![0.0; d];
        for (i, x) in rows.clone().enumerate() {
            batch_mean[i % d] += x;
        }
        for m in &mut batch_mean {
            *m /= n;
        }
        let mut batch_var = vec![0.0; d];
        for (i, x) in rows.enumerate() {
            batch_var[i % d] += (x - batch_mean[i % d]).powi(2);
        }
        let tot = self.count + n;
        for j in 0..d {
            let delta = batch_mean[j] - self.mean[j];
            let m2 = self.var[j] * self.count + batch_var[j] + delta * delta * self.count * n / tot;
            self.mean[j] += delta * n / tot;
            self.var[j] = m2 / tot;
        }
        self.count = tot;
    }

    fn check(&self, what: &str, dim: usize) -> Result<(), String> {
        let finite = self.mean.iter().chain(&self.var).all(|v| v.is_finite()) && self.count.is_finite() && self.count > 0.0;
        if self.mean.len() != dim || self.var.len() != dim || !finite || self.var.iter().any(|&v| v < 0.0) {
            return Err(format!("the {what} statistics hold {} values (expected {dim}) or invalid numbers", self.mean.len()));
        }
        Ok(())
    }
}

/// Frozen observation statistics as a policy applies them (the model file's `obs_normalization`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObsNorm {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub clip: f64,
    pub epsilon: f64,
}

impl ObsNorm {
    /// Normalizes `obs` (any number of rows) in place: `clip((o - mean) / sqrt(var + eps))`
    /// in f64, stored as f32 (NumPy's promotion, then SB3's cast).
    pub fn apply(&self, obs: &mut [f32]) {
        let d = self.mean.len().max(1);
        for row in obs.chunks_mut(d) {
            for ((o, m), v) in row.iter_mut().zip(&self.mean).zip(&self.var) {
                *o = ((*o as f64 - m) / (v + self.epsilon).sqrt()).clamp(-self.clip, self.clip) as f32;
            }
        }
    }

    pub fn check(&self, obs_dim: usize) -> Result<(), String> {
        RunningMeanStd { mean: self.mean.clone(), var: self.var.clone(), count: 1.0 }.check("observation", obs_dim)?;
        if !(self.clip > 0.0 && self.epsilon > 0.0) {
            return Err(format!("observation normalization has clip {} and epsilon {} (both must be positive)", self.clip, self.epsilon));
        }
        Ok(())
    }
}

/// The training-time normalizer of a vectorized env, and its checkpoint form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Observation statistics (None: observations pass through).
    pub obs: Option<RunningMeanStd>,
    /// Discounted-return statistics (None: rewards pass through).
    pub ret: Option<RunningMeanStd>,
    /// Each env's discounted return so far.
    pub returns: Vec<f64>,
    pub gamma: f64,
}

impl Normalizer {
    pub fn new(obs: bool, reward: bool, gamma: f64, obs_dim: usize, n_envs: usize) -> Self {
        Self {
            obs: obs.then(|| RunningMeanStd::new(obs_dim)),
            ret: reward.then(|| RunningMeanStd::new(1)),
            returns: vec![0.0; n_envs],
            gamma,
        }
    }

    /// The observation statistics as a policy applies them.
    pub fn obs_norm(&self) -> Option<ObsNorm> {
        self.obs.as_ref().map(|s| ObsNorm { mean: s.mean.clone(), var: s.var.clone(), clip: CLIP, epsilon: EPSILON })
    }

    /// Updates the observation statistics with `obs` (`n` rows) and normalizes them in place.
    pub fn observe(&mut self, obs: &mut [f32], n: usize) {
        if let Some(s) = &mut self.obs {
            s.update(obs.iter().map(|&x| x as f64), n);
        }
        self.normalize_obs(obs);
    }

    /// Normalizes `obs` with the current statistics (no update).
    pub fn normalize_obs(&self, obs: &mut [f32]) {
        if let Some(n) = self.obs_norm() {
            n.apply(obs);
        }
    }

    /// Updates the return statistics with `rewards` and scales them in place;
    /// the returns of envs whose episode ended (`done`) start again from 0.
    pub fn rewards(&mut self, rewards: &mut [f64], done: impl Fn(usize) -> bool) {
        let Some(s) = &mut self.ret else { return };
        for (g, r) in self.returns.iter_mut().zip(rewards.iter()) {
            *g = *g * self.gamma + r;
        }
        s.update(self.returns.iter().copied(), self.returns.len());
        let scale = (s.var[0] + EPSILON).sqrt();
        for (i, r) in rewards.iter_mut().enumerate() {
            *r = (*r / scale).clamp(-CLIP, CLIP);
            if done(i) {
                self.returns[i] = 0.0;
            }
        }
    }

    /// After a reset: returns start from 0.
    pub fn reset_returns(&mut self) {
        self.returns.fill(0.0);
    }

    /// Checks a checkpointed normalizer against this one's shape.
    pub fn check_against(&self, other: &Normalizer) -> Result<(), String> {
        if self.obs.is_some() != other.obs.is_some() || self.ret.is_some() != other.ret.is_some() {
            return Err(format!(
                "the checkpoint normalizes observations: {}, rewards: {}; the config says {}, {} (env.normalize_obs and env.normalize_reward cannot change in a resume or fork)",
                other.obs.is_some(),
                other.ret.is_some(),
                self.obs.is_some(),
                self.ret.is_some()
            ));
        }
        if let (Some(mine), Some(theirs)) = (&self.obs, &other.obs) {
            theirs.check("observation", mine.mean.len())?;
        }
        if let Some(r) = &other.ret {
            r.check("return", 1)?;
        }
        if other.returns.len() != self.returns.len() || other.returns.iter().any(|r| !r.is_finite()) {
            return Err(format!(
                "the checkpoint's normalizer tracks {} envs' returns, this run has {}",
                other.returns.len(),
                self.returns.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stats_in_batches_equal_the_stats_of_all_rows() {
        let rows: Vec<f64> = (0..600).map(|i| ((i * 37 % 101) as f64 - 40.0) * if i % 2 == 0 { 1.0 } else { 0.01 }).collect();
        let mut s = RunningMeanStd::new(2);
        for chunk in rows.chunks(14) {
            s.update(chunk.iter().copied(), chunk.len() / 2);
        }
        for j in 0..2 {
            let col: Vec<f64> = rows.iter().skip(j).step_by(2).copied().collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64;
            // The prior (count 1e-4, mean 0, var 1) weighs next to nothing against 300 rows.
            assert!((s.mean[j] - mean).abs() < 1e-4 * (1.0 + mean.abs()), "{j}: {} vs {mean}", s.mean[j]);
            assert!((s.var[j] - var).abs() < 1e-4 * (1.0 + var), "{j}: {} vs {var}", s.var[j]);
        }
        assert!((s.count - 300.0).abs() < 1e-3);
    }

    #[test]
    fn observations_are_scaled_and_clipped_and_returns_reset_at_episode_ends() {
        let n = ObsNorm { mean: vec![1.0, 0.0], var: vec![4.0, 1e-12], clip: CLIP, epsilon: EPSILON };
        let mut obs = [3.0f32, 1.0, -1.0, -1.0];
        n.apply(&mut obs);
        assert_eq!(obs[0], 1.0);
        assert_eq!(obs[1], 10.0, "clipped at 10");
        assert_eq!(obs[2], -1.0);
        assert_eq!(obs[3], -10.0);

        let mut norm = Normalizer::new(false, true, 0.5, 2, 2);
        let mut r = [1.0, 1.0];
        norm.rewards(&mut r, |i| i == 1);
        assert_eq!(norm.returns, vec![1.0, 0.0], "env 1's episode ended: its return starts again");
        let ret = norm.ret.as_ref().unwrap();
        assert!((r[0] - (1.0 / (ret.var[0] + EPSILON).sqrt()).min(CLIP)).abs() < 1e-12, "{r:?}");
        assert_eq!(r[0], CLIP, "two equal returns: a tiny variance, so the scaled reward is clipped");
    }
}
