use super::*;
use burn::tensor::activation::log_softmax;

/// Values in [-spread, spread], a different sequence per seed.
fn values(len: usize, seed: u32, spread: f32) -> Vec<f32> {
    (0..len).map(|i| ((((i as u32).wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)) % 2001) as f32 / 1000.0 - 1.0) * spread).collect()
}

struct Case {
    s: usize,
    m: usize,
    n: usize,
    clip: PerAgent,
    ent: PerAgent,
    vf: PerAgent,
}

/// The loss, its parts and the gradients of the logits and values, as bits, fused or generic.
fn loss_bits(c: &Case, fused: bool) -> Vec<Vec<u32>> {
    let (s, m, n) = (c.s, c.m, c.n);
    let device = Device::flex().autodiff();
    let logits = Tensor::<3>::from_data(TensorData::new(values(s * m * n, 1, 3.0), [s, m, n]), &device).require_grad();
    let critic = Tensor::<2>::from_data(TensorData::new(values(s * m, 2, 2.0), [s, m]), &device).require_grad();
    let actions: Vec<f32> = values(s * m, 3, 1.0).iter().map(|v| ((v + 1.0) * 0.5 * n as f32).floor().min(n as f32 - 1.0)).collect();
    // Old log-probabilities near the current ones, so that some ratios leave the clip range.
    let old_log_prob: Vec<f32> = values(s * m, 4, 0.4).iter().map(|v| v - (n as f32).ln()).collect();
    let advantages = values(s * m, 5, 1.5);
    let returns = values(s * m, 6, 4.0);
    let mb = Minibatch { actions: &actions, old_log_prob: &old_log_prob, advantages: &advantages, returns: &returns };
    let coefs = Coefs { clip: &c.clip, ent: &c.ent, vf: &c.vf };
    let parts = if fused {
        categorical(&logits, &critic, &mb, &coefs).expect("flex autodiff tensors")
    } else {
        let log_probs_all = log_softmax(logits.clone(), 2);
        let index = Tensor::<3>::from_data(TensorData::new(actions.clone(), [s, m, 1]), &device).int();
        let log_prob = log_probs_all.clone().gather(2, index).reshape([s, m]);
        let entropy = (log_probs_all.clone().exp() * log_probs_all).sum_dim(2).reshape([s, m]).neg();
        generic(log_prob, entropy, critic.clone(), &mb, &coefs)
    };
    let grads = parts.loss.clone().sum().backward();
    let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let two = |t: Tensor<2>| bits(t.try_into_vec_as::<f32>().expect("f32"));
    vec![
        two(parts.loss.inner()),
        two(parts.stats),
        bits(logits.grad(&grads).expect("logits' gradient").try_into_vec_as::<f32>().expect("f32")),
        bits(critic.grad(&grads).expect("values' gradient").try_into_vec_as::<f32>().expect("f32")),
    ]
}

#[test]
fn fused_loss_is_the_generic_graph_bit_for_bit() {
    let cases = [
        // CartPole's default: one agent, 64 rows, 2 actions, no entropy bonus.
        Case { s: 1, m: 64, n: 2, clip: PerAgent::Same(0.2), ent: PerAgent::Same(0.0), vf: PerAgent::Same(0.5) },
        // Agents with their own coefficients; rows not a multiple of any SIMD width.
        Case {
            s: 3,
            m: 37,
            n: 4,
            clip: PerAgent::Each(vec![0.1, 0.2, 0.3]),
            ent: PerAgent::Each(vec![0.0, 0.01, 0.1]),
            vf: PerAgent::Each(vec![0.5, 1.0, 0.25]),
        },
        // More actions than a vector's lanes: flex's sums take their SIMD path.
        Case { s: 2, m: 5, n: 19, clip: PerAgent::Same(0.15), ent: PerAgent::Same(0.01), vf: PerAgent::Same(0.5) },
        Case { s: 1, m: 1, n: 3, clip: PerAgent::Same(0.2), ent: PerAgent::Same(0.02), vf: PerAgent::Same(1.0) },
    ];
    let names = ["loss", "diagnostics (losses, approx. KL, clip fraction)", "logits' gradient", "values' gradient"];
    for c in &cases {
        let (fused, generic) = (loss_bits(c, true), loss_bits(c, false));
        for ((f, g), name) in fused.iter().zip(&generic).zip(names) {
            assert_eq!(f, g, "{name} differs at S={} m={} n={}", c.s, c.m, c.n);
        }
    }
}

#[test]
fn other_devices_and_shapes_take_the_generic_path() {
    let device = Device::flex();
    let logits = Tensor::<3>::zeros([1, 4, 2], &device);
    let critic = Tensor::<2>::zeros([1, 4], &device);
    let v = vec![0.0f32; 4];
    let mb = Minibatch { actions: &v, old_log_prob: &v, advantages: &v, returns: &v };
    let one = PerAgent::Same(0.2);
    let coefs = Coefs { clip: &one, ent: &one, vf: &one };
    assert!(!fits(&logits), "plain flex has no graph to join");
    assert!(categorical(&logits, &critic, &mb, &coefs).is_none());
    let ad = Device::flex().autodiff();
    let short = Minibatch { actions: &v[..3], old_log_prob: &v, advantages: &v, returns: &v };
    let (logits, critic) = (Tensor::<3>::zeros([1, 4, 2], &ad), Tensor::<2>::zeros([1, 4], &ad));
    assert!(categorical(&logits, &critic, &short, &coefs).is_none(), "a minibatch of the wrong length");
    let outside = [0.0f32, 1.0, 2.0, 0.0];
    let bad = Minibatch { actions: &outside, old_log_prob: &v, advantages: &v, returns: &v };
    assert!(categorical(&logits, &critic, &bad, &coefs).is_none(), "action 2 of 2 classes");
    let good = Minibatch { actions: &[0.0, 1.0, 1.0, 0.0], old_log_prob: &v, advantages: &v, returns: &v };
    assert!(categorical(&logits, &critic, &good, &coefs).is_some());
}
