//! Adam for our networks, with its state where a checkpoint can take it.
//!
//! The update is burn's own (`burn::optim::Adam::step`, applied parameter by
//! parameter exactly as `ModuleOptimizer` applies it), so training is bit for
//! bit what it was. Only the bookkeeping is ours: burn's optimizer record
//! loads its tensors onto burn's default device, which is the GPU whenever
//! wgpu is compiled in, so a checkpoint stores the moments as plain arrays and
//! puts them back on the run's own device.

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, GradientsParams, Optimizer};
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

pub struct AdamOptimizer {
    adam: Adam,
    /// Per parameter id, an `AdamState<D>` for the parameter's rank D.
    states: BTreeMap<u64, Box<dyn Any + Send>>,
}

impl AdamOptimizer {
    pub fn new(epsilon: f64) -> Self {
        Self { adam: AdamConfig::new().with_epsilon(epsilon as f32).build(), states: BTreeMap::new() }
    }

    /// One update of every parameter of `module` that has a gradient.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        module.map(&mut Stepper { opt: self, grads: &mut grads, lr })
    }

    /// The moments on the host, ordered by parameter id (a device sync).
    pub fn moments(&self) -> Result<Vec<AdamMoments>, String> {
        fn read<const D: usize>(id: u64, s: &AdamState<D>) -> Result<AdamMoments, String> {
            let m = &s.momentum;
            let vec = |t: &Tensor<D>| t.clone().try_into_vec_as::<f32>().map_err(|e| format!("reading Adam's moments: {e:?}"));
            Ok(AdamMoments { param_id: id, time: m.time as u64, shape: m.moment_1.dims().to_vec(), moment_1: vec(&m.moment_1)?, moment_2: vec(&m.moment_2)? })
        }
        self.states
            .iter()
            .map(|(&id, s)| {
                if let Some(s) = s.downcast_ref::<AdamState<1>>() {
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
            fn state<const D: usize>(m: &AdamMoments, device: &Device) -> Box<dyn Any + Send> {
                let shape: [usize; D] = std::array::from_fn(|i| m.shape[i]);
                let t = |v: &[f32]| Tensor::<D>::from_data(TensorData::new(v.to_vec(), shape), device);
                Box::new(AdamState::new(AdaptiveMomentumState::new(m.time as usize, t(&m.moment_1), t(&m.moment_2))))
            }
            let s = match shape.len() {
                1 => state::<1>(m, device),
                2 => state::<2>(m, device),
                3 => state::<3>(m, device),
                r => return Err(format!("parameter {} has rank {r}; only ranks 1 to 3 are used", m.param_id)),
            };
            states.insert(m.param_id, s);
        }
        self.states = states;
        Ok(())
    }
}

/// Applies `Adam::step` to each parameter as burn's `ModuleOptimizer` does:
/// on the inner (no-autodiff) tensors, then lifted back with the parameter's
/// gradient settings.
struct Stepper<'a> {
    opt: &'a mut AdamOptimizer,
    grads: &'a mut GradientsParams,
    lr: f64,
}

impl ModuleMapper for Stepper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else { return Param::from_mapped_value(id, tensor, mapper) };
        let (require_grad, checkpointing) = (tensor.is_require_grad(), tensor.gradient_checkpointing_strategy());
        let state = self.opt.states.remove(&id.val()).and_then(|s| s.downcast::<AdamState<D>>().ok()).map(|s| *s);
        let (updated, state) = self.opt.adam.step(self.lr, tensor.inner(), grad, state);
        if let Some(state) = state {
            self.opt.states.insert(id.val(), Box::new(state));
        }
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
