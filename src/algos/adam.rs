//! Adam (and torch's RMSprop, A2C's optimizer) for our networks, with its
//! state where a checkpoint can take it.
//!
//! The update is burn's Adam (`burn::optim::Adam::step` without weight decay
//! or AMSGrad) op for op, applied parameter by parameter as `ModuleOptimizer`
//! applies it, so training is bit for bit what burn computes (a test checks
//! it); ours only because the learning rate may differ per agent of a batch
//! (`PerAgent`), which burn's scalar `lr` cannot say. The bookkeeping is ours
//! too: burn's optimizer record
//! loads its tensors onto burn's default device, which is the GPU whenever
//! wgpu is compiled in, so a checkpoint stores the moments as plain arrays and
//! puts them back on the run's own device.

use super::adam_host;
use super::stacked::PerAgent;
use burn::module::{Module, ModuleMapper, Param};
use burn::optim::{AdamState, AdaptiveMomentumState, GradientsParams};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::BTreeMap;

/// One parameter's Adam state as a checkpoint holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamMoments {
    pub param_id: u64,
    /// Updates applied so far (bias correction).
    pub time: u64,
    pub shape: Vec<usize>,
    pub moment_1: Vec<f32>,
    pub moment_2: Vec<f32>,
}

/// Which update rule an algorithm trains with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// burn's (torch's) Adam, betas 0.9 and 0.999.
    Adam { eps: f64 },
    /// torch's `RMSprop` without momentum or centering: `v = alpha v + (1 - alpha) g^2`,
    /// `p -= lr g / (sqrt(v) + eps)` (its state is `moment_2`; `moment_1` stays 0).
    RmsProp { alpha: f64, eps: f64 },
}

pub struct AdamOptimizer {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// RMSprop's smoothing constant, when this optimizer is RMSprop.
    rms_alpha: Option<f32>,
    /// Per parameter id, an `AdamState<D>` for the parameter's rank D.
    states: BTreeMap<u64, Box<dyn Any + Send>>,
}

impl AdamOptimizer {
    pub fn new(kind: OptimizerKind) -> Self {
        match kind {
            // burn's AdamConfig defaults (torch's).
            OptimizerKind::Adam { eps } => {
                Self { beta_1: 0.9, beta_2: 0.999, epsilon: eps as f32, rms_alpha: None, states: BTreeMap::new() }
            }
            OptimizerKind::RmsProp { alpha, eps } => {
                Self { beta_1: 0.0, beta_2: alpha as f32, epsilon: eps as f32, rms_alpha: Some(alpha as f32), states: BTreeMap::new() }
            }
        }
    }

    /// One update of every parameter of `module` that has a gradient; `lr`
    /// per agent (axis 0 of every parameter).
    pub fn step<M: Module>(&mut self, lr: &PerAgent, module: M, mut grads: GradientsParams) -> M {
        module.map(&mut Stepper { opt: self, grads: &mut grads, lr, lr_values: None })
    }

    /// burn's `Adam::step` (its `AdaptiveMomentum::transform`, then `tensor - lr * update`).
    fn update<const D: usize>(
        &self,
        lr: &PerAgent,
        lr_values: &mut Option<Tensor<1>>,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        if let Some(alpha) = self.rms_alpha {
            return self.rms_prop(alpha, lr, lr_values, tensor, grad, state);
        }
        let (b1, b2) = (self.beta_1, self.beta_2);
        let momentum = match state {
            Some(s) => {
                let mut m = s.momentum;
                m.moment_1 = m.moment_1.mul_scalar(b1).add(grad.clone().mul_scalar(1.0 - b1));
                m.moment_2 = m.moment_2.mul_scalar(b2).add(grad.square().mul_scalar(1.0 - b2));
                m.time += 1;
                m
            }
            None => AdaptiveMomentumState::new(1, grad.clone().mul_scalar(1.0 - b1), grad.square().mul_scalar(1.0 - b2)),
        };
        let time = momentum.time as i32;
        let bias_correction2_sqrt = (1.0 - b2.powi(time)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - b1.powi(time));
        let update = momentum
            .moment_1
            .clone()
            .mul_scalar(combined_factor)
            .div(momentum.moment_2.clone().sqrt().add_scalar(self.epsilon * bias_correction2_sqrt));
        (tensor - lr.mul_reusing(update, lr_values), AdamState::new(momentum))
    }

    /// torch's `RMSprop` step (square average from 0, eps added after the root).
    fn rms_prop<const D: usize>(
        &self,
        alpha: f32,
        lr: &PerAgent,
        lr_values: &mut Option<Tensor<1>>,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        let momentum = match state {
            Some(s) => {
                let mut m = s.momentum;
                m.moment_2 = m.moment_2.mul_scalar(alpha).add(grad.clone().square().mul_scalar(1.0 - alpha));
                m.time += 1;
                m
            }
            None => AdaptiveMomentumState::new(1, grad.zeros_like(), grad.clone().square().mul_scalar(1.0 - alpha)),
        };
        let update = grad.div(momentum.moment_2.clone().sqrt().add_scalar(self.epsilon));
        (tensor - lr.mul_reusing(update, lr_values), AdamState::new(momentum))
    }

    /// The CPU backend's update ([`adam_host`]): the parameter and its
    /// gradient read as host slices (no copy for a buffer nobody else holds),
    /// updated in one pass, put back as a tensor. Gives the inputs back where
    /// the tensor path must run (a GPU, or a state the tensor path made).
    #[allow(clippy::type_complexity)]
    fn host_update<const D: usize>(
        &mut self,
        id: u64,
        lr: &PerAgent,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Box<dyn Any + Send>>,
    ) -> Result<Tensor<D>, (Tensor<D>, Tensor<D>, Option<Box<dyn Any + Send>>)> {
        let device = tensor.device();
        if !super::nets::is_host(&device) {
            return Err((tensor, grad, state));
        }
        let mut moments = match state.map(|s| s.downcast::<AdamMoments>()) {
            None => AdamMoments { param_id: id, time: 0, shape: tensor.dims().to_vec(), moment_1: Vec::new(), moment_2: Vec::new() },
            Some(Ok(m)) => *m,
            Some(Err(other)) => return Err((tensor, grad, Some(other))),
        };
        let (mut data, grad_data) = (tensor.into_data(), grad.into_data());
        let (Ok(param), Ok(g)) = (data.as_mut_slice::<f32>(), grad_data.as_slice::<f32>()) else {
            // Not f32 (never for our networks): the tensor path, from a state it can read.
            let t = |d: TensorData| Tensor::<D>::from_data(d, &device);
            let state = (moments.time > 0).then(|| tensor_state::<D>(&moments, &device));
            return Err((t(data), t(grad_data), state));
        };
        match self.rms_alpha {
            Some(alpha) => adam_host::rms_prop_step(lr, param, g, &mut moments, alpha, self.epsilon),
            None => adam_host::adam_step(lr, param, g, &mut moments, self.beta_1, self.beta_2, self.epsilon),
        }
        self.states.insert(id, Box::new(moments));
        Ok(Tensor::<D>::from_data(data, &device))
    }

    /// The moments on the host, ordered by parameter id (a device sync).
    pub fn moments(&self) -> Result<Vec<AdamMoments>, String> {
        fn read<const D: usize>(id: u64, s: &AdamState<D>) -> Result<AdamMoments, String> {
            let m = &s.momentum;
            let vec = |t: &Tensor<D>| t.clone().try_into_vec_as::<f32>().map_err(|e| format!("reading Adam's moments: {e:?}"));
            Ok(AdamMoments {
                param_id: id,
                time: m.time as u64,
                shape: m.moment_1.dims().to_vec(),
                moment_1: vec(&m.moment_1)?,
                moment_2: vec(&m.moment_2)?,
            })
        }
        self.states
            .iter()
            .map(|(&id, s)| {
                if let Some(m) = s.downcast_ref::<AdamMoments>() {
                    Ok(m.clone())
                } else if let Some(s) = s.downcast_ref::<AdamState<1>>() {
                    read(id, s)
                } else if let Some(s) = s.downcast_ref::<AdamState<2>>() {
                    read(id, s)
                } else if let Some(s) = s.downcast_ref::<AdamState<3>>() {
                    read(id, s)
                } else {
                    Err(format!("parameter {id} has an Adam state of an unexpected rank"))
                }
            })
            .collect()
    }

    /// Replaces the state with checkpointed `moments`, each checked against
    /// the parameter it belongs to (`params`: id and shape), on `device`.
    pub fn restore(&mut self, moments: &[AdamMoments], params: &[(u64, Vec<usize>)], device: &Device) -> Result<(), String> {
        let mut states: BTreeMap<u64, Box<dyn Any + Send>> = BTreeMap::new();
        for m in moments {
            let Some((_, shape)) = params.iter().find(|(id, _)| *id == m.param_id) else {
                return Err(format!("the checkpoint's optimizer state names parameter {} that the networks do not have", m.param_id));
            };
            let n: usize = shape.iter().product();
            if &m.shape != shape || m.moment_1.len() != n || m.moment_2.len() != n || m.time == 0 || m.time > i32::MAX as u64 {
                return Err(format!("the checkpoint's Adam state of parameter {} does not fit its shape {shape:?}", m.param_id));
            }
            if m.moment_1.iter().chain(&m.moment_2).any(|v| !v.is_finite()) || m.moment_2.iter().any(|&v| v < 0.0) {
                return Err(format!("the checkpoint's Adam state of parameter {} holds invalid values", m.param_id));
            }
            if super::nets::is_host(device) {
                states.insert(m.param_id, Box::new(m.clone()));
                continue;
            }
            let s = match shape.len() {
                1 => tensor_state::<1>(m, device),
                2 => tensor_state::<2>(m, device),
                3 => tensor_state::<3>(m, device),
                r => return Err(format!("parameter {} has rank {r}; only ranks 1 to 3 are used", m.param_id)),
            };
            states.insert(m.param_id, s);
        }
        self.states = states;
        Ok(())
    }
}

/// The tensor path's state (burn's `AdamState<D>`) holding `m`'s moments on `device`.
fn tensor_state<const D: usize>(m: &AdamMoments, device: &Device) -> Box<dyn Any + Send> {
    let shape: [usize; D] = std::array::from_fn(|i| m.shape[i]);
    let t = |v: &[f32]| Tensor::<D>::from_data(TensorData::new(v.to_vec(), shape), device);
    Box::new(AdamState::new(AdaptiveMomentumState::new(m.time as usize, t(&m.moment_1), t(&m.moment_2))))
}

/// Applies `Adam::step` to each parameter as burn's `ModuleOptimizer` does:
/// on the inner (no-autodiff) tensors, then lifted back with the parameter's
/// gradient settings.
struct Stepper<'a> {
    opt: &'a mut AdamOptimizer,
    grads: &'a mut GradientsParams,
    lr: &'a PerAgent,
    /// Per-agent rates, uploaded once per step for all parameters.
    lr_values: Option<Tensor<1>>,
}

impl ModuleMapper for Stepper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else { return Param::from_mapped_value(id, tensor, mapper) };
        let (require_grad, checkpointing) = (tensor.is_require_grad(), tensor.gradient_checkpointing_strategy());
        let state = self.opt.states.remove(&id.val());
        let updated = match self.opt.host_update(id.val(), self.lr, tensor.inner(), grad, state) {
            Ok(updated) => updated,
            Err((tensor, grad, state)) => {
                let state = state.and_then(|s| s.downcast::<AdamState<D>>().ok()).map(|s| *s);
                let (updated, state) = self.opt.update(self.lr, &mut self.lr_values, tensor, grad, state);
                self.opt.states.insert(id.val(), Box::new(state));
                updated
            }
        };
        let mut lifted = Tensor::from_inner(updated);
        if let Some(strategy) = checkpointing {
            lifted = lifted.with_gradient_checkpointing_strategy(strategy);
        }
        if require_grad {
            lifted = lifted.require_grad();
        }
        Param::from_mapped_value(id, lifted, mapper)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use burn::optim::{AdamConfig, Optimizer};

    /// 24 fixed values in [-1, 1) (a `[2, 3, 4]` parameter or gradient).
    pub fn values(seed: u32) -> Vec<f32> {
        (0..24u32).map(|i| (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)) % 1000).map(|v| v as f32 / 500.0 - 1.0).collect()
    }

    /// Trains `stacked` (`[2, 3, 4]`, starting at `values(2)`) for `steps`
    /// steps on the gradients `values(step + 11)` with `ours`, and checks that
    /// each agent's slice is burn's own Adam at that agent's rate, bit for bit.
    pub fn assert_agents_are_burns(steps: u32, lrs: [f64; 2], eps: f32, mut ours: impl FnMut(Tensor<3>, Tensor<3>) -> Tensor<3>) {
        let device = Device::flex();
        let t = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, [2, 3, 4]), &device);
        let burn_adam = AdamConfig::new().with_epsilon(eps).build();
        let mut stacked = t(values(2));
        let mut alone: Vec<(Tensor<3>, Option<AdamState<3>>)> = (0..2).map(|k| (t(values(2)).slice([k..k + 1]), None)).collect();
        for step in 0..steps {
            let g = t(values(step + 11));
            stacked = ours(stacked, g.clone());
            for (k, (p, st)) in alone.iter_mut().enumerate() {
                let (n, s) = burn_adam.step(lrs[k], p.clone(), g.clone().slice([k..k + 1]), st.take());
                *p = n;
                *st = s;
            }
        }
        for (k, (p, _)) in alone.into_iter().enumerate() {
            assert_eq!(
                stacked.clone().slice([k..k + 1]).into_data().try_to_vec::<f32>().expect("f32 data"),
                p.into_data().try_to_vec::<f32>().expect("f32 data"),
                "agent {k}"
            );
        }
    }

    /// Ours is burn's Adam bit for bit with one learning rate, and agent k of
    /// a per-agent learning rate is burn's Adam at agent k's rate.
    #[test]
    fn adam_update_is_burns_bit_for_bit() {
        let device = Device::flex();
        let t = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, [2, 3, 4]), &device);
        let burn_adam = AdamConfig::new().with_epsilon(1e-5).build();
        let ours = AdamOptimizer::new(OptimizerKind::Adam { eps: 1e-5 });
        let (mut a, mut b) = (t(values(1)), t(values(1)));
        let (mut sa, mut sb) = (None, None);
        for step in 0..5u32 {
            let g = t(values(step + 7));
            let (na, s) = burn_adam.step(3e-3, a, g.clone(), sa);
            let (nb, s2) = ours.update(&PerAgent::Same(3e-3), &mut None, b, g, sb);
            a = na;
            b = nb;
            sa = s;
            sb = Some(s2);
        }
        assert_eq!(a.into_data().try_to_vec::<f32>().expect("f32 data"), b.into_data().try_to_vec::<f32>().expect("f32 data"));

        // Two agents at different rates: each slice is burn's at that rate.
        let lrs = [1e-3, 7e-4];
        let mut state = None;
        // The rates' upload is reused from step to step, as it is across one step's parameters.
        let mut lr_values = None;
        assert_agents_are_burns(4, lrs, 1e-5, |p, g| {
            let (n, s) = ours.update(&PerAgent::Each(lrs.to_vec()), &mut lr_values, p, g, state.take());
            state = Some(s);
            n
        });
    }
}

#[cfg(test)]
mod host_tests {
    use super::tests::{assert_agents_are_burns, values};
    use super::*;

    /// The host pass gives burn's Adam bit for bit, per agent at its own rate,
    /// and its state reads back as the tensor path's would.
    #[test]
    fn host_adam_is_burns_bit_for_bit() {
        let mut ours = AdamOptimizer::new(OptimizerKind::Adam { eps: 1e-8 });
        let lrs = [1e-3, 7e-4];
        assert_agents_are_burns(6, lrs, 1e-8, |p, g| {
            let state = ours.states.remove(&7);
            ours.host_update(7, &PerAgent::Each(lrs.to_vec()), p, g, state).expect("host path on the CPU")
        });
        let moments = ours.moments().expect("host moments");
        assert_eq!((moments.len(), moments[0].time, moments[0].shape.clone()), (1, 6, vec![2, 3, 4]));
    }

    /// RMSprop on the host equals the tensor path bit for bit.
    #[test]
    fn host_rms_prop_is_the_tensor_path() {
        let device = Device::flex();
        let t = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, [2, 3, 4]), &device);
        let kind = OptimizerKind::RmsProp { alpha: 0.99, eps: 1e-5 };
        let (mut host, tensor_path) = (AdamOptimizer::new(kind), AdamOptimizer::new(kind));
        let lr = PerAgent::Same(7e-4);
        let (mut a, mut b, mut state) = (t(values(3)), t(values(3)), None);
        for step in 0..4u32 {
            let g = t(values(step + 5));
            let prev = host.states.remove(&1);
            a = host.host_update(1, &lr, a, g.clone(), prev).expect("host path on the CPU");
            let (n, s) = tensor_path.update(&lr, &mut None, b, g, state);
            b = n;
            state = Some(s);
        }
        assert_eq!(a.into_data().try_to_vec::<f32>().expect("f32 data"), b.into_data().try_to_vec::<f32>().expect("f32 data"));
    }
}

#[cfg(test)]
mod rms_prop_tests {
    use super::*;

    /// torch's RMSprop, written out on the host in f32 for three steps.
    #[test]
    fn rms_prop_is_torchs_update() {
        let device = Device::flex();
        let (alpha, eps, lr) = (0.99f32, 1e-5f32, 7e-4f32);
        let opt = AdamOptimizer::new(OptimizerKind::RmsProp { alpha: alpha as f64, eps: eps as f64 });
        let mut p = vec![0.5f32, -1.0, 2.0];
        let mut v = vec![0.0f32; 3];
        let mut t = Tensor::<1>::from_data(TensorData::new(p.clone(), [3]), &device);
        let mut state = None;
        for step in 0..3 {
            let g: Vec<f32> = (0..3).map(|i| (i as f32 - 1.0) * 0.3 + step as f32 * 0.1).collect();
            for i in 0..3 {
                v[i] = alpha * v[i] + (1.0 - alpha) * g[i] * g[i];
                p[i] -= lr * (g[i] / (v[i].sqrt() + eps));
            }
            let gt = Tensor::<1>::from_data(TensorData::new(g, [3]), &device);
            let (n, s) = opt.update(&PerAgent::Same(lr as f64), &mut None, t, gt, state);
            t = n;
            state = Some(s);
        }
        let got = t.into_data().try_to_vec::<f32>().expect("f32 data");
        for (a, b) in got.iter().zip(&p) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{got:?} vs {p:?}");
        }
    }
}
