//! S independent MLPs of one shape trained as one computation: each layer's
//! parameters stacked along a leading agent axis (weight `[S, in, out]`, bias
//! `[S, 1, out]`), so a forward pass over `[S, B, in]` is one batched matmul
//! per layer for every agent at once, and one backward pass gives every
//! agent its own gradient (agents share no parameter, so the gradient of the
//! summed losses with respect to agent k's slice is agent k's gradient).
//!
//! A single run is the S = 1 case of the same code, and burn's flex kernels
//! compute each slice of a batched matmul or a per-row reduction exactly as
//! they compute it alone, so agent k trains bit for bit the same in a batch
//! as alone (tests/core/batched.rs checks it).

use super::adam::AdamMoments;
use super::nets::{Mlp, MlpWeights, host_tanh, is_host};
use crate::config::Activation;
use crate::runs::model_file::LayerWeights;
use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct StackedMlp {
    /// Per layer `[S, in, out]`.
    weights: Vec<Param<Tensor<3>>>,
    /// Per layer `[S, 1, out]`.
    biases: Vec<Param<Tensor<3>>>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    host_tanh: bool,
}

impl StackedMlp {
    /// Stacks `members` (one per agent, all of one shape) on `device`.
    pub fn from_members(members: &[&MlpWeights], device: &Device) -> Result<Self, String> {
        let first = members.first().ok_or("a stacked network needs at least one member")?;
        for (k, m) in members.iter().enumerate() {
            m.check().map_err(|e| format!("agent {k}: {e}"))?;
            if m.sizes != first.sizes || m.activation != first.activation {
                return Err(format!(
                    "agent {k}'s network is {:?} {:?}, agent 0's {:?} {:?}: only networks of one shape can be batched",
                    m.sizes, m.activation, first.sizes, first.activation
                ));
            }
        }
        let s = members.len();
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for (i, io) in first.sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (io[0], io[1]);
            let w: Vec<f32> = members.iter().flat_map(|m| m.layers[i].weight.iter().copied()).collect();
            let b: Vec<f32> = members.iter().flat_map(|m| m.layers[i].bias.iter().copied()).collect();
            weights.push(Param::from_tensor(Tensor::<3>::from_data(TensorData::new(w, [s, fan_in, fan_out]), device)));
            biases.push(Param::from_tensor(Tensor::<3>::from_data(TensorData::new(b, [s, 1, fan_out]), device)));
        }
        Ok(Self { weights, biases, activation: first.activation, host_tanh: is_host(device) })
    }

    /// `[S, B, in]` -> `[S, B, out]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_latent(x).1
    }

    /// The `[S, 1, n]` values of a [`super::nets::constant_weights`] network (its output for input 0).
    pub fn constant_values(&self, s: usize, device: &Device) -> Tensor<3> {
        self.forward(Tensor::zeros([s, 1, 1], device))
    }

    /// The last hidden layer's activations `[S, B, hidden]` (gSDE's features;
    /// the input for a network without hidden layers) and the output.
    pub fn forward_latent(&self, mut x: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let last = self.weights.len() - 1;
        let mut latent = None;
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            if i == last {
                latent = Some(x.clone());
            }
            let act = if i < last { self.activation.into() } else { super::fused::Act::None };
            if self.host_tanh {
                // One autodiff node per layer on the CPU backend (same bits as below).
                if let Some(y) = super::fused::dense(&x, &w.val(), &b.val(), act) {
                    x = y;
                    continue;
                }
            }
            x = x.matmul(w.val()) + b.val();
            if i < last {
                x = match self.activation {
                    Activation::Tanh if self.host_tanh => host_tanh(x),
                    Activation::Tanh => x.tanh(),
                    Activation::Relu => burn::tensor::activation::relu(x),
                };
            }
        }
        (latent.unwrap_or_else(|| x.clone()), x)
    }

    /// `self (1 - tau) + source tau` per parameter (SB3's `polyak_update`), each agent at its own `tau`.
    pub fn polyak(self, source: &StackedMlp, tau: &PerAgent) -> StackedMlp {
        let keep = match tau {
            PerAgent::Same(t) => PerAgent::Same(1.0 - t),
            PerAgent::Each(v) => PerAgent::Each(v.iter().map(|t| 1.0 - t).collect()),
        };
        let mix = |mine: Vec<Param<Tensor<3>>>, theirs: &[Param<Tensor<3>>]| -> Vec<Param<Tensor<3>>> {
            mine.into_iter().zip(theirs).map(|(p, q)| p.map(|t| keep.mul(t) + tau.mul(q.val()))).collect()
        };
        let weights = mix(self.weights, &source.weights);
        let biases = mix(self.biases, &source.biases);
        StackedMlp { weights, biases, ..self }
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    pub fn n_members(&self) -> usize {
        self.weights.first().map(|w| w.dims()[0]).unwrap_or(0)
    }

    pub fn sizes(&self) -> Vec<usize> {
        let mut s = Vec::new();
        for (i, w) in self.weights.iter().enumerate() {
            let [_, d_in, d_out] = w.dims();
            if i == 0 {
                s.push(d_in);
            }
            s.push(d_out);
        }
        s
    }

    /// Agent `k`'s network as a plain 2-D [`Mlp`] on this device (no read-back):
    /// what evaluation and replays act with.
    pub fn member(&self, k: usize) -> Mlp {
        let layers = self
            .weights
            .iter()
            .zip(&self.biases)
            .map(|(w, b)| {
                let [_, d_in, d_out] = w.dims();
                let weight = w.val().slice([k..k + 1]).reshape([d_in, d_out]);
                let bias = b.val().slice([k..k + 1]).reshape([d_out]);
                Linear { weight: Param::from_tensor(weight), bias: Some(Param::from_tensor(bias)) }
            })
            .collect();
        Mlp::from_layers(layers, self.activation)
    }

    /// Every agent's weights on the host (one read-back per parameter).
    pub fn to_members(&self) -> Result<Vec<MlpWeights>, String> {
        let s = self.n_members();
        let sizes = self.sizes();
        let mut out: Vec<MlpWeights> =
            (0..s).map(|_| MlpWeights { sizes: sizes.clone(), activation: self.activation, layers: Vec::new() }).collect();
        for (w, b) in self.weights.iter().zip(&self.biases) {
            let wv = w.val().try_into_vec_as::<f32>().map_err(|e| format!("reading weights: {e:?}"))?;
            let bv = b.val().try_into_vec_as::<f32>().map_err(|e| format!("reading biases: {e:?}"))?;
            let (wn, bn) = (wv.len() / s.max(1), bv.len() / s.max(1));
            for (k, m) in out.iter_mut().enumerate() {
                m.layers.push(LayerWeights { weight: wv[k * wn..(k + 1) * wn].to_vec(), bias: bv[k * bn..(k + 1) * bn].to_vec() });
            }
        }
        Ok(out)
    }

    /// The parameters in checkpoint order (weight then bias per layer): the
    /// stacked parameter's id and one agent's shape of it.
    pub fn slots(&self) -> Vec<(ParamId, Vec<usize>)> {
        let mut out = Vec::new();
        for (w, b) in self.weights.iter().zip(&self.biases) {
            let [_, d_in, d_out] = w.dims();
            out.push((w.id, vec![d_in, d_out]));
            out.push((b.id, vec![d_out]));
        }
        out
    }
}

/// One hyperparameter's value for each agent of a batch (sweep trials that
/// differ only in scalars train together): one number when every agent has
/// the same, applied as the scalar op a lone run uses, else one per agent,
/// broadcast along the agent axis. Either way agent k's elements get the same
/// f32 operation with the same f32 value, so it trains as it does alone.
#[derive(Clone, Debug, PartialEq)]
pub enum PerAgent {
    Same(f64),
    Each(Vec<f64>),
}

impl PerAgent {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let v: Vec<f64> = values.into_iter().collect();
        match v.first() {
            Some(&first) if v.iter().any(|x| x.to_bits() != first.to_bits()) => PerAgent::Each(v),
            Some(&first) => PerAgent::Same(first),
            None => PerAgent::Same(0.0),
        }
    }

    /// Agent `k`'s value.
    pub fn get(&self, k: usize) -> f64 {
        match self {
            PerAgent::Same(v) => *v,
            PerAgent::Each(v) => v.get(k).copied().unwrap_or(f64::NAN),
        }
    }

    /// `f` of each agent's value, as a `[S, 1, ..]` (rank D) or, with
    /// `cols`, `[S, cols]` tensor of f32 on `device`.
    fn column<const D: usize>(v: &[f64], f: impl Fn(f64) -> f64, cols: usize, device: &Device) -> Tensor<D> {
        let mut shape = [1usize; D];
        shape[0] = v.len();
        if D > 1 {
            shape[1] = cols;
        }
        let values: Vec<f32> = v.iter().flat_map(|&x| std::iter::repeat_n(f(x) as f32, if D > 1 { cols } else { 1 })).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// `x * value`, each agent's slice (axis 0 of `x`) by its own value.
    pub fn mul<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            PerAgent::Same(v) => x.mul_scalar(*v),
            PerAgent::Each(v) => {
                let c = Self::column::<D>(v, |x| x, 1, &x.device());
                x * c
            }
        }
    }

    /// `x * value` as [`PerAgent::mul`], the per-agent values uploaded once
    /// into `values` and reused by every later call (a reshape, no copy): one
    /// upload per optimizer step instead of one per parameter.
    pub fn mul_reusing<const D: usize>(&self, x: Tensor<D>, values: &mut Option<Tensor<1>>) -> Tensor<D> {
        match self {
            PerAgent::Same(v) => x.mul_scalar(*v),
            PerAgent::Each(v) => {
                let column = values.get_or_insert_with(|| Self::column::<1>(v, |x| x, 1, &x.device())).clone();
                let mut shape = [1usize; D];
                shape[0] = v.len();
                x * column.reshape(shape)
            }
        }
    }

    /// `[S, n]` `x` clamped to `[1 - value, 1 + value]` per agent (PPO's ratio clipping).
    pub fn clamp_around_one(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            PerAgent::Same(c) => x.clamp(1.0 - c, 1.0 + c),
            PerAgent::Each(v) => {
                let (n, device) = (x.dims()[1], x.device());
                x.max_pair(Self::column(v, |c| 1.0 - c, n, &device)).min_pair(Self::column(v, |c| 1.0 + c, n, &device))
            }
        }
    }

    /// 1.0 where `|x - 1| > value` of the row's agent, else 0.0 (`[S, n]`).
    pub fn outside_around_one(&self, x: Tensor<2>) -> Tensor<2> {
        let dev = x.sub_scalar(1.0).abs();
        match self {
            PerAgent::Same(c) => dev.greater_elem(*c).float(),
            PerAgent::Each(v) => {
                let (n, device) = (dev.dims()[1], dev.device());
                dev.greater(Self::column(v, |c| c, n, &device)).float()
            }
        }
    }
}

/// Scales each agent's gradients so their global L2 norm (over all of that
/// agent's parameters in `nets`) is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_` does for one network: the norm stays per
/// agent. On a GPU in tensor ops (no read-back); on the CPU backend as one
/// host pass with the same bits ([`super::clip_host`]).
pub fn clip_grad_norm_per_agent(grads: &mut GradientsParams, nets: &[&StackedMlp], max_norm: &PerAgent) {
    let ids: Vec<ParamId> = nets.iter().flat_map(|n| n.slots()).map(|(id, _)| id).collect();
    let on_host = ids.iter().find_map(|&id| grads.get::<3>(id)).is_some_and(|g| is_host(&g.device()));
    if on_host && super::clip_host::clip_grad_norm_host(grads, &ids, max_norm) {
        return;
    }
    clip_grad_norm_tensors(grads, &ids, max_norm);
}

/// [`clip_grad_norm_per_agent`] in tensor ops (any backend).
pub(super) fn clip_grad_norm_tensors(grads: &mut GradientsParams, ids: &[ParamId], max_norm: &PerAgent) {
    let mut sq_sums: Vec<Tensor<2>> = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(g) = grads.get::<3>(id) {
            let [s, a, b] = g.dims();
            sq_sums.push(g.square().reshape([s, a * b]).sum_dim(1));
        }
    }
    if sq_sums.is_empty() {
        return;
    }
    // [S, P] -> per-agent norm [S, 1] -> scale [S, 1, 1].
    let total_norm = Tensor::cat(sq_sums, 1).sum_dim(1).sqrt();
    let coef = max_norm.mul(total_norm.add_scalar(1e-6).recip()).clamp_max(1.0).unsqueeze_dim::<3>(2);
    for &id in ids {
        if let Some(g) = grads.remove::<3>(id) {
            grads.register::<3>(id, g * coef.clone());
        }
    }
}

/// Agent `k` of `s`'s share of the stacked optimizer state, under the member
/// parameter ids `member_ids` (checkpoint order, as [`StackedMlp::slots`]).
pub fn member_moments(
    stacked: &[AdamMoments],
    slots: &[(ParamId, Vec<usize>)],
    member_ids: &[u64],
    k: usize,
    s: usize,
) -> Result<Vec<AdamMoments>, String> {
    let mut out = Vec::new();
    for ((id, shape), &member_id) in slots.iter().zip(member_ids) {
        // A parameter with no state yet (no update so far) has none to save.
        let Some(m) = stacked.iter().find(|m| m.param_id == id.val()) else { continue };
        let n: usize = shape.iter().product();
        if m.moment_1.len() != n * s || m.moment_2.len() != n * s {
            return Err(format!(
                "the optimizer state of parameter {} holds {} values, expected {} agents x {n}",
                m.param_id,
                m.moment_1.len(),
                s
            ));
        }
        out.push(AdamMoments {
            param_id: member_id,
            time: m.time,
            shape: shape.clone(),
            moment_1: m.moment_1[k * n..(k + 1) * n].to_vec(),
            moment_2: m.moment_2[k * n..(k + 1) * n].to_vec(),
        });
    }
    Ok(out)
}

/// The stacked optimizer state of agents whose own states are `members`
/// (each keyed by that agent's `member_ids`, checkpoint order). All agents
/// must be at the same update count, or all without state.
pub fn stack_moments(members: &[(&[AdamMoments], &[u64])], slots: &[(ParamId, Vec<usize>)]) -> Result<Vec<AdamMoments>, String> {
    let s = members.len();
    let mut out = Vec::new();
    for (p, (id, shape)) in slots.iter().enumerate() {
        let found: Vec<Option<&AdamMoments>> =
            members.iter().map(|(moments, ids)| ids.get(p).and_then(|pid| moments.iter().find(|m| m.param_id == *pid))).collect();
        if found.iter().all(|f| f.is_none()) {
            continue;
        }
        let Some(time) = found.first().copied().flatten().map(|m| m.time) else {
            return Err("agents with and without optimizer state cannot be batched".into());
        };
        let mut stacked_shape = vec![s];
        stacked_shape.extend(if shape.len() == 1 { vec![1, shape[0]] } else { shape.clone() });
        let (mut m1, mut m2) = (Vec::new(), Vec::new());
        for (k, f) in found.iter().enumerate() {
            let m =
                f.ok_or_else(|| format!("agent {k} has no optimizer state for parameter {p} while others do: they cannot be batched"))?;
            if m.time != time {
                return Err(format!(
                    "agent {k} is at Adam step {}, agent 0 at {time}: agents at different steps cannot be batched",
                    m.time
                ));
            }
            if &m.shape != shape {
                return Err(format!("agent {k}'s optimizer state of parameter {p} is {:?}, expected {shape:?}", m.shape));
            }
            m1.extend_from_slice(&m.moment_1);
            m2.extend_from_slice(&m.moment_2);
        }
        out.push(AdamMoments { param_id: id.val(), time, shape: stacked_shape, moment_1: m1, moment_2: m2 });
    }
    Ok(out)
}

/// Parameter ids for a member network in a checkpoint: stable, distinct per
/// network (`net_index`) and parameter.
pub fn member_param_ids(net_index: usize, n_params: usize) -> Vec<u64> {
    (0..n_params as u64).map(|p| (net_index as u64 + 1) * 1000 + p).collect()
}

/// The `[S, B, d]` tensor of `s` agents' `b` rows of `d` values each.
pub fn stack3(values: Vec<f32>, s: usize, b: usize, d: usize, device: &Device) -> Tensor<3> {
    Tensor::<3>::from_data(TensorData::new(values, [s, b, d]), device)
}

/// Host copies of a stacked network's members, read back once per change of
/// the weights (an evaluation, a checkpoint and a model file of every seed
/// at one step then cost one read-back, not one per seed).
#[derive(Default)]
pub struct HostCopy(std::cell::RefCell<Option<std::sync::Arc<Vec<MlpWeights>>>>);

impl HostCopy {
    pub fn get(&self, net: &StackedMlp) -> Result<std::sync::Arc<Vec<MlpWeights>>, String> {
        if let Some(v) = self.0.borrow().as_ref() {
            return Ok(v.clone());
        }
        let v = std::sync::Arc::new(net.to_members()?);
        *self.0.borrow_mut() = Some(v.clone());
        Ok(v)
    }

    /// Agent `k`'s weights.
    pub fn member(&self, net: &StackedMlp, k: usize) -> Result<MlpWeights, String> {
        let all = self.get(net)?;
        all.get(k).cloned().ok_or_else(|| format!("agent {k} of a batch of {}", all.len()))
    }

    /// The weights changed.
    pub fn clear(&mut self) {
        *self.0.get_mut() = None;
    }
}

/// Agent `k`'s acting network: a slice of the stacked one on the CPU; on a
/// GPU a CPU copy, since acting one env step at a time (evaluation, replays)
/// costs a GPU round trip (~1 ms) per step and the CPU computes these small
/// networks in microseconds.
pub fn acting_policy(net: &StackedMlp, host: &HostCopy, k: usize, head: super::PolicyHead, device: &Device) -> super::Policy {
    if is_host(device) {
        return super::Policy::new(net.member(k), head, device.clone());
    }
    let cpu = Device::flex();
    match host.member(net, k).and_then(|w| super::Policy::from_weights(&w, head, &cpu)) {
        Ok(p) => p,
        // A failed read-back: act on the device itself (slow but correct).
        Err(_) => super::Policy::new(net.member(k), head, device.clone()),
    }
}
