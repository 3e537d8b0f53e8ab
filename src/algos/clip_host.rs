//! Per-agent gradient-norm clipping on the host, for the CPU backend: the
//! same f32 operations, in the same order, as the tensor version in
//! [`super::stacked::clip_grad_norm_per_agent`] (so the same bits), without
//! the ~4 graph ops per parameter that each allocate and dispatch for a few
//! hundred values. The sums call burn-flex's own row-sum kernel, the one its
//! `sum_dim` runs, so they add in its order on every SIMD width.

use super::stacked::PerAgent;
use burn::module::ParamId;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn_flex::simd::kernels::sum_rows_f32;

/// A gradient read to the host: its parameter, values, shape and device.
type HostGrad = (ParamId, Vec<f32>, [usize; 3], Device);

/// Scales every agent's gradients in `grads` (the parameters `ids`, each
/// `[S, a, b]`) so that their global norm is at most that agent's `max_norm`.
/// Returns false, touching nothing, when a gradient is not f32 or the agent
/// counts differ (the caller then takes the tensor path).
pub fn clip_grad_norm_host(grads: &mut GradientsParams, ids: &[ParamId], max_norm: &PerAgent) -> bool {
    let mut taken: Vec<HostGrad> = Vec::with_capacity(ids.len());
    let put_back = |grads: &mut GradientsParams, taken: Vec<HostGrad>| {
        for (id, values, shape, device) in taken {
            grads.register::<3>(id, Tensor::<3>::from_data(TensorData::new(values, shape), &device));
        }
    };
    for &id in ids {
        let Some(g) = grads.remove::<3>(id) else { continue };
        let (shape, device) = (g.dims(), g.device());
        match g.into_data().try_into_vec::<f32>() {
            Ok(values) => taken.push((id, values, shape, device)),
            Err(_) => {
                put_back(grads, taken);
                return false;
            }
        }
    }
    let Some(agents) = taken.first().map(|(_, _, shape, _)| shape[0]) else { return true };
    if taken.iter().any(|(_, _, shape, _)| shape[0] != agents) || agents == 0 {
        put_back(grads, taken);
        return false;
    }
    // `g.square().reshape([s, a*b]).sum_dim(1)` per parameter, laid out as
    // `Tensor::cat(.., 1)`: row k holds agent k's sums, parameter by parameter.
    let n_params = taken.len();
    let mut sq_sums = vec![0.0f32; agents * n_params];
    let (mut squares, mut per_agent) = (Vec::new(), vec![0.0f32; agents]);
    for (p, (_, values, _, _)) in taken.iter().enumerate() {
        squares.clear();
        squares.extend(values.iter().map(|&v| v * v));
        sum_rows_f32(&squares, &mut per_agent, agents, values.len() / agents);
        for (k, &s) in per_agent.iter().enumerate() {
            sq_sums[k * n_params + p] = s;
        }
    }
    let mut norms = vec![0.0f32; agents];
    sum_rows_f32(&sq_sums, &mut norms, agents, n_params);
    // sqrt, + 1e-6, recip, x max_norm, clamp_max(1): the tensor ops' order.
    let coefs: Vec<f32> = norms
        .iter()
        .enumerate()
        .map(|(k, &norm)| {
            let scaled = 1.0f32 / (norm.sqrt() + 1e-6f32) * max_norm.get(k) as f32;
            if scaled.is_nan() || scaled < 1.0 { scaled } else { 1.0 }
        })
        .collect();
    for (_, values, _, _) in &mut taken {
        let per = values.len() / agents;
        for (agent, &coef) in values.chunks_exact_mut(per).zip(&coefs) {
            for v in agent {
                *v *= coef;
            }
        }
    }
    put_back(grads, taken);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algos::stacked::clip_grad_norm_tensors;

    /// Gradients of three parameters (`ids`) for `scale.len()` agents, agent k's scaled by `scale[k]`.
    fn grads(ids: &[ParamId], scale: &[f32], device: &Device) -> GradientsParams {
        let s = scale.len();
        let mut grads = GradientsParams::new();
        for (p, (&id, [a, b])) in ids.iter().zip([[4usize, 64usize], [1, 64], [64, 2]]).enumerate() {
            let values: Vec<f32> = (0..s * a * b)
                .map(|i| {
                    let v = ((i as u32).wrapping_mul(2654435761) ^ (p as u32 * 40503)) % 2001;
                    (v as f32 / 1000.0 - 1.0) * scale[i / (a * b)]
                })
                .collect();
            grads.register::<3>(id, Tensor::<3>::from_data(TensorData::new(values, [s, a, b]), device));
        }
        grads
    }

    fn bits(grads: &GradientsParams, ids: &[ParamId]) -> Vec<u32> {
        ids.iter()
            .flat_map(|&id| grads.get::<3>(id).expect("registered").into_data().try_into_vec::<f32>().expect("f32"))
            .map(f32::to_bits)
            .collect()
    }

    /// Clipped agents, unclipped ones, a norm of 0 and per-agent or shared
    /// limits: the host pass gives the tensor ops' bits.
    #[test]
    fn host_clipping_is_the_tensor_ops_bit_for_bit() {
        let device = Device::flex();
        let scales = [1e-4f32, 3.0, 0.0, 0.37];
        let ids: Vec<ParamId> = (0..3).map(|_| ParamId::new()).collect();
        for max_norm in [PerAgent::Same(0.5), PerAgent::Each(vec![0.5, 2.0, 1.0, 1e6])] {
            let (mut host, mut tensors) = (grads(&ids, &scales, &device), grads(&ids, &scales, &device));
            let before = bits(&host, &ids);
            assert!(clip_grad_norm_host(&mut host, &ids, &max_norm));
            clip_grad_norm_tensors(&mut tensors, &ids, &max_norm);
            let (h, t) = (bits(&host, &ids), bits(&tensors, &ids));
            assert_eq!(h, t, "host clipping differs from the tensor ops");
            assert_ne!(h, before, "nothing was clipped: the test would not see a wrong scale");
        }
    }
}
