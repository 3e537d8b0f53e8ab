//! Adam and RMSprop on the host for the CPU backend: one pass over each
//! parameter instead of a dozen tensor ops (each allocating its result).
//!
//! Every element gets the f32 operations of the tensor path in `adam.rs`
//! (burn's Adam) in the same order, with no fused multiply-add, so both give
//! the same bits (tests below and in `adam.rs` check it). Elements never mix,
//! so agent k of a stacked parameter is updated exactly as it is alone.

use super::adam::AdamMoments;
use super::nets::with_widest_simd;
use super::stacked::PerAgent;

/// `sqrt(1 - beta_2^t) / (1 - beta_1^t)` and `epsilon * sqrt(1 - beta_2^t)`
/// at update count `time`, computed as the tensor path computes them.
fn bias_corrections(beta_1: f32, beta_2: f32, epsilon: f32, time: u64) -> (f32, f32) {
    let t = time.min(i32::MAX as u64) as i32;
    let bias_correction2_sqrt = (1.0 - beta_2.powi(t)).sqrt();
    (bias_correction2_sqrt / (1.0 - beta_1.powi(t)), epsilon * bias_correction2_sqrt)
}

/// Each agent's range of elements and its rate: parameters are stacked
/// along their first axis, so agent k owns the k-th of equal slices.
fn agent_chunks(lr: &PerAgent, n: usize) -> Vec<(std::ops::Range<usize>, f32)> {
    match lr {
        PerAgent::Same(r) => vec![(0..n, *r as f32)],
        PerAgent::Each(v) => {
            let per_agent = n / v.len().max(1);
            v.iter().enumerate().map(|(k, &r)| (k * per_agent..(k + 1) * per_agent, r as f32)).collect()
        }
    }
}

/// One step's constants, in f32 as the tensor path uses them.
#[derive(Clone, Copy)]
struct Consts {
    first: bool,
    /// Adam's beta_1 and beta_2 (RMSprop: beta_2 is alpha; beta_1 unused).
    b1: f32,
    b2: f32,
    combined_factor: f32,
    eps: f32,
    lr: f32,
}

/// One Adam step of `param` with gradient `grad`; `state` holds the moments
/// (empty before the first step, when they start as the first gradient's).
pub fn adam_step(lr: &PerAgent, param: &mut [f32], grad: &[f32], state: &mut AdamMoments, b1: f32, b2: f32, epsilon: f32) {
    let first = state.moment_1.is_empty();
    if first {
        state.moment_1 = vec![0.0; grad.len()];
        state.moment_2 = vec![0.0; grad.len()];
    }
    state.time += 1;
    let (combined_factor, eps) = bias_corrections(b1, b2, epsilon, state.time);
    for (range, rate) in agent_chunks(lr, param.len()) {
        let c = Consts { first, b1, b2, combined_factor, eps, lr: rate };
        let (m1, m2) = (&mut state.moment_1[range.clone()], &mut state.moment_2[range.clone()]);
        adam_chunk(&mut param[range.clone()], &grad[range], m1, m2, c);
    }
}

/// Elements from which a chunk's second half goes to the run's second core
/// (elements never mix, so the halves give the same bits as one pass).
const SPLIT_ELEMENTS: usize = 1 << 15;

fn adam_chunk(p: &mut [f32], g: &[f32], m1: &mut [f32], m2: &mut [f32], c: Consts) {
    if p.len() >= SPLIT_ELEMENTS && g.len() == p.len() && m1.len() == p.len() && m2.len() == p.len() {
        let half = p.len() / 2;
        let ((p0, p1), (g0, g1)) = (p.split_at_mut(half), g.split_at(half));
        let ((a0, a1), (b0, b1)) = (m1.split_at_mut(half), m2.split_at_mut(half));
        crate::threads::both(|| adam_pass(p0, g0, a0, b0, c), || adam_pass(p1, g1, a1, b1, c));
    } else {
        adam_pass(p, g, m1, m2, c);
    }
}

fn adam_pass(p: &mut [f32], g: &[f32], m1: &mut [f32], m2: &mut [f32], c: Consts) {
    with_widest_simd!(adam_body(p: &mut [f32], g: &[f32], m1: &mut [f32], m2: &mut [f32], c: Consts))
}

/// burn's Adam per element: moments, then `p - lr * (m1 * cf) / (sqrt(m2) + eps)`.
#[inline(always)]
fn adam_body(p: &mut [f32], g: &[f32], m1: &mut [f32], m2: &mut [f32], c: Consts) {
    let n = p.len().min(g.len()).min(m1.len()).min(m2.len());
    let (p, g, m1, m2) = (&mut p[..n], &g[..n], &mut m1[..n], &mut m2[..n]);
    let (keep_1, keep_2) = (1.0 - c.b1, 1.0 - c.b2);
    for i in 0..n {
        let gi = g[i];
        let (a, b) =
            if c.first { (gi * keep_1, (gi * gi) * keep_2) } else { (m1[i] * c.b1 + gi * keep_1, m2[i] * c.b2 + (gi * gi) * keep_2) };
        m1[i] = a;
        m2[i] = b;
        p[i] -= ((a * c.combined_factor) / (b.sqrt() + c.eps)) * c.lr;
    }
}

/// One step of torch's RMSprop (no momentum, no centering); `moment_1` stays zeros.
pub fn rms_prop_step(lr: &PerAgent, param: &mut [f32], grad: &[f32], state: &mut AdamMoments, alpha: f32, epsilon: f32) {
    let first = state.moment_2.is_empty();
    if first {
        state.moment_1 = vec![0.0; grad.len()];
        state.moment_2 = vec![0.0; grad.len()];
    }
    state.time += 1;
    for (range, rate) in agent_chunks(lr, param.len()) {
        let c = Consts { first, b1: 0.0, b2: alpha, combined_factor: 1.0, eps: epsilon, lr: rate };
        rms_chunk(&mut param[range.clone()], &grad[range.clone()], &mut state.moment_2[range], c);
    }
}

fn rms_chunk(p: &mut [f32], g: &[f32], m2: &mut [f32], c: Consts) {
    with_widest_simd!(rms_body(p: &mut [f32], g: &[f32], m2: &mut [f32], c: Consts))
}

/// torch's RMSprop per element: `v = alpha v + (1 - alpha) g^2`, `p - lr * g / (sqrt(v) + eps)`.
#[inline(always)]
fn rms_body(p: &mut [f32], g: &[f32], m2: &mut [f32], c: Consts) {
    let n = p.len().min(g.len()).min(m2.len());
    let (p, g, m2) = (&mut p[..n], &g[..n], &mut m2[..n]);
    let keep = 1.0 - c.b2;
    for i in 0..n {
        let gi = g[i];
        let v = if c.first { (gi * gi) * keep } else { m2[i] * c.b2 + (gi * gi) * keep };
        m2[i] = v;
        p[i] -= (gi / (v.sqrt() + c.eps)) * c.lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parameter updated in two halves on two cores gets the bits of one pass over it.
    #[test]
    fn a_large_parameter_split_over_two_cores_gets_one_passes_bits() {
        std::thread::spawn(|| {
            assert!(crate::threads::own_pool(2));
            let n = 2 * SPLIT_ELEMENTS + 3;
            let wave = |k: usize, s: f32| (k as f32 * s).sin() * 0.3;
            let mut param: Vec<f32> = (0..n).map(|k| wave(k, 0.37)).collect();
            let mut state = AdamMoments { param_id: 0, time: 0, shape: vec![n], moment_1: Vec::new(), moment_2: Vec::new() };
            let (mut want, mut m1, mut m2) = (param.clone(), vec![0.0f32; n], vec![0.0f32; n]);
            let (b1, b2, eps, lr) = (0.9f32, 0.999f32, 1e-5f32, 3e-4f32);
            for time in 1..=3u64 {
                let grad: Vec<f32> = (0..n).map(|k| wave(k + time as usize, 0.11)).collect();
                adam_step(&PerAgent::Same(lr as f64), &mut param, &grad, &mut state, b1, b2, eps);
                let (combined_factor, eps) = bias_corrections(b1, b2, eps, time);
                let c = Consts { first: time == 1, b1, b2, combined_factor, eps, lr };
                adam_pass(&mut want, &grad, &mut m1, &mut m2, c);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&param), bits(&want));
            assert_eq!((bits(&state.moment_1), bits(&state.moment_2)), (bits(&m1), bits(&m2)));
        })
        .join()
        .unwrap();
    }
}
