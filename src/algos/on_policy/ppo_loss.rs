//! PPO's loss for a categorical policy as one autodiff node on the CPU
//! backend: from the actor's logits and the critic's values to the per-agent
//! loss, with the policy, value and entropy terms and the ratio beside it.
//!
//! Through burn's generic ops this is some thirty graph nodes over tensors of
//! a few hundred values (log-softmax, gather, the entropy, the clipped
//! surrogate, the value error, three means), each allocating, each walked
//! again backwards; at RL's minibatch sizes their bookkeeping, not their
//! arithmetic, is the cost. Here the forward is one host pass and the backward
//! another. Every f32 operation and its order is the generic graph's (the
//! reductions are flex's own `sum_dim`/`mean_dim`, the gradients meet in the
//! order burn-autodiff adds them), so a run gives the same bits as through it
//! (`tests` below and the whole-run equivalence tests check it). Other devices
//! (wgpu) and other distributions take the generic path.

use crate::algos::stacked::PerAgent;
use burn::prelude::*;
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_backend::ops::FloatTensorOps;
use burn_backend::{BackendTypes, TensorData as BackendData};
use burn_flex::{Flex, FlexTensor};

type Ad = Autodiff<Flex>;
type AdTensor = <Ad as BackendTypes>::FloatTensorPrimitive;

/// One minibatch's rollout data, `[S, m]` row-major per agent (actions as
/// class indices).
pub struct Minibatch<'a> {
    pub actions: &'a [f32],
    pub old_log_prob: &'a [f32],
    pub advantages: &'a [f32],
    pub returns: &'a [f32],
}

/// The per-agent loss coefficients.
pub struct Coefs<'a> {
    pub clip: &'a PerAgent,
    pub ent: &'a PerAgent,
    pub vf: &'a PerAgent,
}

/// The loss (`[S, 1]`, differentiable) and, untracked, each agent's
/// diagnostics (`[S, 5]`): the policy, value and entropy losses, the
/// approximate KL divergence and the clipped fraction.
pub struct LossParts {
    pub loss: Tensor<2>,
    pub stats: Tensor<2>,
}

/// Whether the fused loss can run for observations `obs` (the CPU backend's autodiff tensors).
pub fn fits(obs: &Tensor<3>) -> bool {
    obs.clone().try_into_primitive::<Ad>().is_ok()
}

/// The loss through burn's generic ops, from the distribution's `log_prob` and
/// `entropy` and the critic's `values` (all `[S, m]`): what [`categorical`]
/// fuses, and every other case's path.
pub fn generic(log_prob: Tensor<2>, entropy: Tensor<2>, values: Tensor<2>, mb: &Minibatch, coefs: &Coefs) -> LossParts {
    let ([s, m], device) = (log_prob.dims(), log_prob.device());
    let column = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [s, m]), &device);
    let (old_log_prob, advantages, returns) = (column(mb.old_log_prob), column(mb.advantages), column(mb.returns));
    // Per agent [S, 1]: each agent's losses are means over its own minibatch.
    let log_ratio = log_prob - old_log_prob;
    let ratio = log_ratio.clone().exp();
    let surrogate = advantages.clone() * ratio.clone();
    let clipped = advantages * coefs.clip.clamp_around_one(ratio.clone());
    let policy_loss = surrogate.min_pair(clipped).mean_dim(1).neg();
    let value_loss = (returns - values).square().mean_dim(1);
    let entropy_loss = entropy.mean_dim(1).neg();
    let loss = policy_loss.clone() + coefs.ent.mul(entropy_loss.clone()) + coefs.vf.mul(value_loss.clone());
    let (ratio, log_ratio) = (ratio.inner(), log_ratio.inner());
    let clip_fraction = coefs.clip.outside_around_one(ratio.clone()).mean_dim(1);
    let approx_kl = (ratio.sub_scalar(1.0) - log_ratio).mean_dim(1);
    let stats = Tensor::cat(vec![policy_loss.inner(), value_loss.inner(), entropy_loss.inner(), approx_kl, clip_fraction], 1);
    LossParts { loss, stats }
}

/// The fused loss of `logits [S, m, n]` and `values [S, m]`, or `None` (the
/// tensors untouched) on another device, or where the minibatch does not fit
/// them (lengths other than `S x m`, an action outside `0..n`).
pub fn categorical(logits: &Tensor<3>, values: &Tensor<2>, mb: &Minibatch, coefs: &Coefs) -> Option<LossParts> {
    let (Ok(logits), Ok(values)) = (logits.clone().try_into_primitive::<Ad>(), values.clone().try_into_primitive::<Ad>()) else {
        return None;
    };
    let f32_of =
        |t: &AdTensor, dims: usize| t.primitive().dtype() == burn::tensor::DType::F32 && t.primitive().layout().shape().num_dims() == dims;
    if !(f32_of(&logits, 3) && f32_of(&values, 2)) {
        return None;
    }
    let [s, m, n] = [0, 1, 2].map(|i| logits.primitive().layout().shape()[i]);
    let vs = values.primitive().layout().shape();
    let lengths_fit = [mb.actions, mb.old_log_prob, mb.advantages, mb.returns].iter().all(|v| v.len() == s * m);
    let actions_fit = mb.actions.iter().all(|&a| a >= 0.0 && (a as usize) < n);
    if vs[0] != s || vs[1] != m || !lengths_fit || !actions_fit {
        return None;
    }
    Some(forward(logits, values, mb, &Agents::of(coefs, s, m), [s, m, n]))
}

/// Each agent's coefficients as the generic ops round them to f32.
#[derive(Clone, Debug)]
struct Agents {
    /// `[1 - clip, 1 + clip]` (`clamp` rounds each bound from f64).
    bounds: Vec<(f32, f32)>,
    /// The clip range itself (the clipped fraction's threshold).
    clip: Vec<f32>,
    ent: Vec<f32>,
    vf: Vec<f32>,
    /// `mean_dim`'s backward scale, `1 / m` rounded from f64.
    inv_m: f32,
}

impl Agents {
    fn of(c: &Coefs, s: usize, m: usize) -> Self {
        Agents {
            bounds: (0..s).map(|k| ((1.0 - c.clip.get(k)) as f32, (1.0 + c.clip.get(k)) as f32)).collect(),
            clip: (0..s).map(|k| c.clip.get(k) as f32).collect(),
            ent: (0..s).map(|k| c.ent.get(k) as f32).collect(),
            vf: (0..s).map(|k| c.vf.get(k) as f32).collect(),
            inv_m: (1.0 / m as f64) as f32,
        }
    }
}

#[derive(Debug)]
struct PpoLoss;

/// What the backward needs of the forward, `[S, m]` or `[S, m, n]` row-major.
#[derive(Clone, Debug)]
struct LossState {
    dims: [usize; 3],
    agents: Agents,
    actions: Vec<usize>,
    advantages: Vec<f32>,
    /// `exp(logits - max)`, the log-softmax's `exp` node.
    e: Vec<f32>,
    /// Their row sums.
    se: Vec<f32>,
    /// The log-probabilities of every class, and their `exp`.
    lp: Vec<f32>,
    p: Vec<f32>,
    ratio: Vec<f32>,
    /// Where the clipped surrogate is the smaller (`min_pair`'s mask).
    clipped_smaller: Vec<bool>,
    /// Where `clamp` passes the gradient (the ratio within its bounds).
    inside: Vec<bool>,
    /// `returns - values`.
    d: Vec<f32>,
}

/// flex's `sum_dim` of `[rows, n]` values over `n`: the generic graph's reduction, bit for bit.
fn row_sums(v: Vec<f32>, rows: usize, n: usize) -> Vec<f32> {
    let t = Flex::float_sum_dim(FlexTensor::from_data(BackendData::new(v, [rows, n])), 1);
    host(t)
}

/// flex's `mean_dim` over `m` of `[s, m]` values.
fn row_means(v: Vec<f32>, s: usize, m: usize) -> Vec<f32> {
    host(Flex::float_mean_dim(FlexTensor::from_data(BackendData::new(v, [s, m])), 1))
}

fn host(t: FlexTensor) -> Vec<f32> {
    let t = if t.is_contiguous() && t.layout().start_offset() == 0 { t } else { t.to_contiguous() };
    let n = t.layout().shape().num_elements();
    t.storage::<f32>()[..n].to_vec()
}

fn plain(v: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(BackendData::new(v, shape)))
}

fn forward(logits: AdTensor, values: AdTensor, mb: &Minibatch, agents: &Agents, dims: [usize; 3]) -> LossParts {
    let [s, m, n] = dims;
    let rows = s * m;
    let prep = PpoLoss.prepare::<NoCheckpointing>([logits.node(), values.node()]).compute_bound().stateful();
    let l = host(logits.primitive().clone());
    let vals = host(values.primitive().clone());

    // log_softmax: max-shift (NaN kept), exp, row sum, log, subtract.
    let mut e = vec![0.0f32; rows * n];
    let mut sh = vec![0.0f32; rows * n];
    for r in 0..rows {
        let row = &l[r * n..(r + 1) * n];
        let max = row.iter().skip(1).fold(row[0], |a, &x| if x > a || x.is_nan() { x } else { a });
        for j in 0..n {
            sh[r * n + j] = row[j] - max;
            e[r * n + j] = sh[r * n + j].exp();
        }
    }
    let se = row_sums(e.clone(), rows, n);
    let mut lp = sh;
    let mut p = vec![0.0f32; rows * n];
    let mut pl = vec![0.0f32; rows * n];
    for r in 0..rows {
        let lse = se[r].ln();
        for j in r * n..(r + 1) * n {
            lp[j] -= lse;
            p[j] = lp[j].exp();
            pl[j] = p[j] * lp[j];
        }
    }
    let entropy: Vec<f32> = row_sums(pl, rows, n).into_iter().map(|x| -x).collect();

    let actions: Vec<usize> = mb.actions.iter().map(|&a| a as usize).collect();
    let (mut log_ratio, mut ratio, mut mn) = (vec![0.0f32; rows], vec![0.0f32; rows], vec![0.0f32; rows]);
    let (mut clipped_smaller, mut inside) = (vec![false; rows], vec![false; rows]);
    let (mut d, mut sq) = (vec![0.0f32; rows], vec![0.0f32; rows]);
    for k in 0..s {
        let (lo, hi) = agents.bounds[k];
        for i in k * m..(k + 1) * m {
            log_ratio[i] = lp[i * n + actions[i]] - mb.old_log_prob[i];
            ratio[i] = log_ratio[i].exp();
            let surrogate = mb.advantages[i] * ratio[i];
            // clamp as clamp_max then clamp_min (NaN passes through).
            let capped = if ratio[i] > hi { hi } else { ratio[i] };
            let clamped = if capped < lo { lo } else { capped };
            inside[i] = !(ratio[i] > hi || capped < lo);
            let clipped = mb.advantages[i] * clamped;
            clipped_smaller[i] = clipped < surrogate;
            mn[i] = if clipped_smaller[i] { clipped } else { surrogate };
            d[i] = mb.returns[i] - vals[i];
            sq[i] = d[i] * d[i];
        }
    }
    let policy: Vec<f32> = row_means(mn, s, m).into_iter().map(|x| -x).collect();
    let value = row_means(sq, s, m);
    let entropy_loss: Vec<f32> = row_means(entropy, s, m).into_iter().map(|x| -x).collect();
    let loss: Vec<f32> = (0..s).map(|k| (policy[k] + entropy_loss[k] * agents.ent[k]) + value[k] * agents.vf[k]).collect();
    // Diagnostics as the generic path's flex ops: mean((ratio - 1) - log_ratio), mean(|ratio - 1| > clip).
    let kl: Vec<f32> = ratio.iter().zip(&log_ratio).map(|(&r, &lr)| (r - 1.0) - lr).collect();
    let outside: Vec<f32> =
        ratio.iter().enumerate().map(|(i, &r)| if (r - 1.0).abs() > agents.clip[i / m.max(1)] { 1.0 } else { 0.0 }).collect();
    let (kl, outside) = (row_means(kl, s, m), row_means(outside, s, m));
    let stats: Vec<f32> = (0..s).flat_map(|k| [policy[k], value[k], entropy_loss[k], kl[k], outside[k]]).collect();

    let out = FlexTensor::from_data(BackendData::new(loss, [s, 1]));
    let loss = match prep {
        OpsKind::Tracked(prep) => {
            let state = LossState {
                dims,
                agents: agents.clone(),
                actions,
                advantages: mb.advantages.to_vec(),
                e,
                se,
                lp,
                p,
                ratio,
                clipped_smaller,
                inside,
                d,
            };
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    LossParts { loss: Tensor::from_primitive::<Ad>(loss), stats: plain(stats, [s, 5]) }
}

impl Backward<Flex, 2> for PpoLoss {
    type State = LossState;

    fn backward(self, ops: Ops<LossState, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [logits_node, values_node] = ops.parents;
        let st = ops.state;
        let [s, m, n] = st.dims;
        let rows = s * m;
        let g_loss = host(grads.consume::<Flex>(&ops.node));
        let a = &st.agents;
        // A sum over a dimension of size 1 (mean_dim's and sum_dim's backward): 0 + x.
        let one = |x: f32| 0.0 + x;

        if let Some(node) = values_node {
            // loss = b + vf * value_loss; value_loss = mean(d * d); d = returns - values.
            let mut g_values = vec![0.0f32; rows];
            for k in 0..s {
                let g_sq = a.inv_m * one(g_loss[k] * a.vf[k]);
                for i in k * m..(k + 1) * m {
                    let g_d = g_sq * st.d[i] + g_sq * st.d[i];
                    g_values[i] = -g_d;
                }
            }
            grads.register::<Flex>(node.id, FlexTensor::from_data(BackendData::new(g_values, [s, m])));
        }

        let Some(node) = logits_node else { return };
        let mut g_lp = vec![0.0f32; rows * n];
        for k in 0..s {
            // Entropy: loss += ent * -mean(-sum(p * lp)).
            let g_entropy = a.inv_m * one(-(g_loss[k] * a.ent[k]));
            let g_pl = one(-g_entropy);
            // Policy: loss += -mean(min(surrogate, clipped)).
            let g_mn = a.inv_m * one(-g_loss[k]);
            for i in k * m..(k + 1) * m {
                let (g_surrogate, g_clipped) = if st.clipped_smaller[i] { (0.0, g_mn) } else { (g_mn, 0.0) };
                let g_clamp = if st.inside[i] { g_clipped * st.advantages[i] } else { 0.0 };
                let g_ratio = g_surrogate * st.advantages[i] + g_clamp;
                let g_log_prob = g_ratio * st.ratio[i];
                let act = st.actions[i];
                for j in 0..n {
                    let x = i * n + j;
                    // Three uses of lp meet: p * lp's two operands, then the gather.
                    let via_lp = g_pl * st.p[x];
                    let via_p = (g_pl * st.lp[x]) * st.p[x];
                    let via_gather = if j == act { 0.0 + g_log_prob } else { 0.0 };
                    g_lp[x] = (via_lp + via_p) + via_gather;
                }
            }
        }
        // lp = sh - lse: sh gets g_lp, lse the row sum of -g_lp; lse = ln(se);
        // se = sum(e); e = exp(sh): sh also gets (g_se) * e.
        let neg: Vec<f32> = g_lp.iter().map(|&g| -g).collect();
        let g_lse = row_sums(neg, rows, n);
        for r in 0..rows {
            let g_e = one(g_lse[r] * (1.0 / st.se[r]));
            for x in r * n..(r + 1) * n {
                g_lp[x] += g_e * st.e[x];
            }
        }
        grads.register::<Flex>(node.id, FlexTensor::from_data(BackendData::new(g_lp, [s, m, n])));
    }
}

#[cfg(test)]
mod tests;
