//! The on-policy algorithms' action distributions, as SB3's: a categorical over logits for a
//! discrete space; for a Box space a diagonal Gaussian around the actor's
//! output with a learned, state-independent `log_std` (one per dimension), or
//! with gSDE a Gaussian whose noise is `latent @ W`, `W ~ N(0, exp(log_std))`
//! drawn per env every `sde_sample_freq` steps over the actor's last hidden
//! features (`latent`, not differentiated through, as SB3's default).
//!
//! `log_std` is kept as a one-layer network `1 -> n` whose input is always 0
//! (weight 0, bias = log_std): so it stacks, checkpoints, saves and trains
//! through the same code as every other network, and its weight never moves
//! (its gradient is input x upstream = 0, so Adam's step is 0).

use super::super::nets::{MlpWeights, constant_weights};
use super::super::stacked::StackedMlp;
use crate::envs::ActionSpace;
use crate::rng::Rng;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// ln(sqrt(2 pi)), torch's `Normal.log_prob` constant.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;
/// gSDE's variance floor (SB3's `epsilon`).
const SDE_EPS: f64 = 1e-6;

/// Which distribution a PPO policy samples from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    Categorical {
        n: usize,
    },
    Gaussian {
        dim: usize,
    },
    /// gSDE over `latent` features.
    Sde {
        dim: usize,
        latent: usize,
    },
}

/// The trained networks' checkpoint names.
const CATEGORICAL_NETS: &[&str] = &["actor", "critic"];
const GAUSSIAN_NETS: &[&str] = &["actor", "critic", "log_std"];

impl Dist {
    pub fn of(space: &ActionSpace, use_sde: bool, net_arch: &[usize], obs_dim: usize) -> Self {
        match space {
            ActionSpace::Discrete { n, .. } => Dist::Categorical { n: *n },
            ActionSpace::Box { low, .. } if use_sde => {
                // The actor's last hidden width (its input width without hidden layers).
                let latent = net_arch.last().copied().unwrap_or(obs_dim);
                Dist::Sde { dim: low.len(), latent }
            }
            ActionSpace::Box { low, .. } => Dist::Gaussian { dim: low.len() },
        }
    }

    pub fn trained(&self) -> &'static [&'static str] {
        match self {
            Dist::Categorical { .. } => CATEGORICAL_NETS,
            Dist::Gaussian { .. } | Dist::Sde { .. } => GAUSSIAN_NETS,
        }
    }

    /// Values of the `log_std` parameter (none for a categorical policy).
    fn log_std_len(&self) -> usize {
        match *self {
            Dist::Categorical { .. } => 0,
            Dist::Gaussian { dim } => dim,
            Dist::Sde { dim, latent } => dim * latent,
        }
    }

    /// The initial `log_std` network (`log_std_init` everywhere), if the policy has one.
    pub fn log_std_weights(&self, log_std_init: f64) -> Option<MlpWeights> {
        let n = self.log_std_len();
        (n > 0).then(|| constant_weights(n, log_std_init))
    }

    /// Action values per transition: 1 index, or the Box dimension.
    pub fn dim(&self) -> usize {
        match *self {
            Dist::Categorical { .. } => 1,
            Dist::Gaussian { dim } | Dist::Sde { dim, .. } => dim,
        }
    }

    pub fn is_sde(&self) -> bool {
        matches!(self, Dist::Sde { .. })
    }

    /// `log pi(a|s)` and the entropy, per agent and transition (`[S, m]` each), of
    /// `actions` (`[S, m, 1]` indices as floats, or `[S, m, dim]` values) at `obs`.
    pub fn log_prob_entropy(&self, nets: &[StackedMlp], obs: Tensor<3>, actions: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let [s, m, _] = obs.dims();
        match *self {
            Dist::Categorical { .. } => {
                let log_probs_all = log_softmax(nets[0].forward(obs), 2);
                let log_prob = log_probs_all.clone().gather(2, actions.int()).reshape([s, m]);
                let entropy = (log_probs_all.clone().exp() * log_probs_all).sum_dim(2).reshape([s, m]).neg();
                (log_prob, entropy)
            }
            Dist::Gaussian { .. } => {
                let mean = nets[0].forward(obs.clone());
                let log_std = nets[2].constant_values(s, &obs.device());
                gaussian(mean, log_std, actions, s, m)
            }
            Dist::Sde { dim, .. } => {
                let (latent, mean) = nets[0].forward_latent(obs.clone());
                let h = latent.dims()[2];
                let std = nets[2].constant_values(s, &obs.device()).reshape([s, h, dim]).exp();
                let variance = latent.detach().square().matmul(std.square());
                let log_sigma = variance.add_scalar(SDE_EPS).sqrt().log();
                gaussian(mean, log_sigma, actions, s, m)
            }
        }
    }
}

/// Log-probability and entropy of a diagonal Gaussian with `log_sigma`
/// (broadcast against `mean`), summed over the action dimensions.
fn gaussian(mean: Tensor<3>, log_sigma: Tensor<3>, actions: Tensor<3>, s: usize, m: usize) -> (Tensor<2>, Tensor<2>) {
    let var = log_sigma.clone().mul_scalar(2.0).exp();
    let elem = (actions - mean.clone()).square().div(var.mul_scalar(2.0)).neg() - log_sigma.clone();
    let log_prob = elem.sub_scalar(LN_SQRT_2PI).sum_dim(2).reshape([s, m]);
    let entropy = (mean.zeros_like() + log_sigma).add_scalar(0.5 + LN_SQRT_2PI).sum_dim(2).reshape([s, m]);
    (log_prob, entropy)
}

/// An action drawn on the host from one row of the acting networks' output.
pub struct Sampler<'a> {
    pub dist: Dist,
    /// The agent's log_std values (Gaussian: per dimension; gSDE: `[latent, dim]` row-major).
    pub log_std: &'a [f32],
}

impl Sampler<'_> {
    /// Draws an action for env `i` from `out` (the actor's output) and, for gSDE,
    /// `latent` with the env's exploration matrix `noise[i]`; pushes its values
    /// into `actions` and returns log pi(a|s). A NaN or infinite output is an error
    /// (a diverged policy: no action can be drawn from it).
    pub fn sample(&self, out: &[f32], latent: &[f32], noise: &[f64], rng: &mut Rng, actions: &mut Vec<f32>) -> Result<f64, String> {
        if out.iter().any(|v| !v.is_finite()) {
            return Err(format!("the policy's action output became {out:?}"));
        }
        match self.dist {
            Dist::Categorical { n } => {
                let max = out.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l)) as f64;
                let sum_exp: f64 = out.iter().map(|&l| (l as f64 - max).exp()).sum();
                let log_z = max + sum_exp.ln();
                let u = rng.next_f64() * sum_exp;
                let mut acc = 0.0;
                let mut action = n - 1;
                for (j, &l) in out.iter().enumerate() {
                    acc += (l as f64 - max).exp();
                    if u < acc {
                        action = j;
                        break;
                    }
                }
                actions.push(action as f32);
                Ok(out[action] as f64 - log_z)
            }
            Dist::Gaussian { dim } => {
                let mut log_prob = 0.0;
                for j in 0..dim {
                    let log_std = self.log_std[j] as f64;
                    let eps = rng.normal();
                    let a = (out[j] as f64 + log_std.exp() * eps) as f32;
                    let z = (a as f64 - out[j] as f64) / log_std.exp();
                    log_prob += -0.5 * z * z - log_std - LN_SQRT_2PI;
                    actions.push(a);
                }
                Ok(log_prob)
            }
            Dist::Sde { dim, .. } => {
                let mut log_prob = 0.0;
                for j in 0..dim {
                    let (mut eps, mut variance) = (0.0, 0.0);
                    for (l, &x) in latent.iter().enumerate() {
                        let x = x as f64;
                        eps += x * noise[l * dim + j];
                        let std = (self.log_std[l * dim + j] as f64).exp();
                        variance += x * x * std * std;
                    }
                    let a = (out[j] as f64 + eps) as f32;
                    let sigma = (variance + SDE_EPS).sqrt();
                    let z = (a as f64 - out[j] as f64) / sigma;
                    log_prob += -0.5 * z * z - sigma.ln() - LN_SQRT_2PI;
                    actions.push(a);
                }
                Ok(log_prob)
            }
        }
    }

    /// gSDE's exploration matrix for one env: `W[l, j] ~ N(0, exp(log_std[l, j]))`.
    pub fn draw_noise(&self, rng: &mut Rng) -> Vec<f64> {
        self.log_std.iter().map(|&l| (l as f64).exp() * rng.normal()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_output_is_an_error_not_an_action() {
        let mut actions = Vec::new();
        let log_std = [0.0f32];
        for (dist, out) in [(Dist::Categorical { n: 2 }, vec![0.0, f32::INFINITY]), (Dist::Gaussian { dim: 1 }, vec![f32::NAN])] {
            let sampler = Sampler { dist, log_std: &log_std };
            let e = sampler.sample(&out, &[], &[], &mut Rng::seed_from_u64(0), &mut actions).unwrap_err();
            assert!(e.contains("action output"), "{e}");
        }
        assert!(actions.is_empty());
    }

    #[test]
    fn gaussian_log_prob_is_the_summed_normal_density() {
        // N(0.5, exp(-1)^2) at a = 0.5 + 0.3: -0.5 z^2 - log_std - ln sqrt(2 pi), with a drawn value checked the same way.
        let log_std = [-1.0f32, 0.5];
        let sampler = Sampler { dist: Dist::Gaussian { dim: 2 }, log_std: &log_std };
        let mut actions = Vec::new();
        let lp = sampler.sample(&[0.5, -1.0], &[], &[], &mut Rng::seed_from_u64(3), &mut actions).unwrap();
        let want: f64 = actions
            .iter()
            .zip([0.5f64, -1.0])
            .zip(log_std)
            .map(|((&a, m), l)| {
                let z = (a as f64 - m) / (l as f64).exp();
                -0.5 * z * z - l as f64 - LN_SQRT_2PI
            })
            .sum();
        assert!((lp - want).abs() < 1e-12, "{lp} vs {want}");
    }
}
