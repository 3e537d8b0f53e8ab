//! The plain MLP that acts (evaluation, replays, saved models), SB3's weight
//! init (training stacks these networks: `stacked.rs`), and a plain weight format for checkpoints (no burn types in it,
//! so files stay readable whatever burn version wrote them).

use crate::config::Activation;
use crate::rng::Rng;
pub use crate::runs::model_file::{LayerWeights, MlpWeights};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::prelude::*;
use std::mem::MaybeUninit;

/// A fully connected network: `sizes[0]` inputs, hidden layers, `sizes.last()` outputs.
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    #[module(skip)]
    pub activation: Activation,
    /// Evaluate tanh on the host (the CPU backend's own tanh calls libm per element).
    #[module(skip)]
    host_tanh: bool,
}

/// How to initialise an [`Mlp`].
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// PyTorch's default `nn.Linear` init (kaiming-uniform, bound 1/sqrt(fan_in)), SB3's DQN.
    TorchDefault,
    /// SB3's `ortho_init`: orthogonal weights with `hidden_gain` for hidden layers and
    /// `output_gain` for the last one, zero biases.
    Orthogonal { hidden_gain: f64, output_gain: f64 },
}

impl Mlp {
    pub fn new(sizes: &[usize], activation: Activation, init: Init, rng: &mut Rng, device: &Device) -> Self {
        let w = init_weights(sizes, activation, init, rng);
        let layers = w.sizes.windows(2).zip(w.layers).map(|(s, l)| linear_from(s[0], s[1], l.weight, l.bias, device)).collect();
        Self { layers, activation, host_tanh: is_host(device) }
    }

    /// An MLP of these layers (one agent of a stacked network).
    pub fn from_layers(layers: Vec<Linear>, activation: Activation) -> Self {
        let host_tanh = layers.first().map(|l| is_host(&l.weight.val().device())).unwrap_or(false);
        Self { layers, activation, host_tanh }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_latent(x).1
    }

    /// The last hidden layer's activations (gSDE's features) and the output.
    pub fn forward_latent(&self, mut x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let last = self.layers.len() - 1;
        let mut latent = None;
        for (i, layer) in self.layers.iter().enumerate() {
            if i == last {
                latent = Some(x.clone());
            }
            x = layer.forward(x);
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

    pub fn sizes(&self) -> Vec<usize> {
        let mut s = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let [d_in, d_out] = l.weight.dims();
            if i == 0 {
                s.push(d_in);
            }
            s.push(d_out);
        }
        s
    }

    /// Copies the weights out to the host (a device sync).
    pub fn to_weights(&self) -> Result<MlpWeights, String> {
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let weight = l.weight.val().try_into_vec_as::<f32>().map_err(|e| format!("reading weights: {e:?}"))?;
            let bias = match &l.bias {
                Some(b) => b.val().try_into_vec_as::<f32>().map_err(|e| format!("reading biases: {e:?}"))?,
                None => vec![0.0; l.weight.dims()[1]],
            };
            layers.push(LayerWeights { weight, bias });
        }
        Ok(MlpWeights { sizes: self.sizes(), activation: self.activation, layers })
    }

    pub fn from_weights(w: &MlpWeights, device: &Device) -> Result<Self, String> {
        w.check()?;
        let layers =
            w.sizes.windows(2).zip(&w.layers).map(|(s, l)| linear_from(s[0], s[1], l.weight.clone(), l.bias.clone(), device)).collect();
        Ok(Self { layers, activation: w.activation, host_tanh: is_host(device) })
    }
}

/// Freshly initialised weights for `sizes` (host side, so one network of a
/// stacked batch is drawn exactly as it would be alone).
/// A learned vector (a Gaussian policy's `log_std`, SAC's `log_ent_coef`) kept as a
/// one-layer network `1 -> n` whose input is always 0 (weight 0, bias = the values):
/// it stacks, checkpoints, saves and trains like any network, and its weight never
/// moves (its gradient is input x upstream = 0).
pub fn constant_weights(n: usize, value: f64) -> MlpWeights {
    MlpWeights {
        sizes: vec![1, n],
        activation: Activation::Tanh,
        layers: vec![LayerWeights { weight: vec![0.0; n], bias: vec![value as f32; n] }],
    }
}

pub fn init_weights(sizes: &[usize], activation: Activation, init: Init, rng: &mut Rng) -> MlpWeights {
    let n_layers = sizes.len().saturating_sub(1);
    let mut layers = Vec::with_capacity(n_layers);
    for (i, w) in sizes.windows(2).enumerate() {
        let (fan_in, fan_out) = (w[0], w[1]);
        let (weight, bias) = match init {
            Init::TorchDefault => {
                let bound = 1.0 / (fan_in as f64).sqrt();
                let weight: Vec<f32> = (0..fan_in * fan_out).map(|_| rng.uniform(-bound, bound) as f32).collect();
                let bias: Vec<f32> = (0..fan_out).map(|_| rng.uniform(-bound, bound) as f32).collect();
                (weight, bias)
            }
            Init::Orthogonal { hidden_gain, output_gain } => {
                let gain = if i + 1 == n_layers { output_gain } else { hidden_gain };
                (orthogonal_in_out(fan_in, fan_out, gain, rng), vec![0.0; fan_out])
            }
        };
        layers.push(LayerWeights { weight, bias });
    }
    MlpWeights { sizes: sizes.to_vec(), activation, layers }
}

pub(crate) fn is_host(device: &Device) -> bool {
    device.clone().without_autodiff() == Device::flex()
}

/// `(a(), b())` for two independent pieces of a step on `device`: on the CPU on
/// two cores at once where the run has them (`crate::threads::both`); on a
/// GPU one after the other from this thread, whose queue already overlaps them.
pub(crate) fn both_on<A, B, RA, RB>(device: &Device, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    if is_host(device) { crate::threads::both(a, b) } else { (a(), b()) }
}

/// tanh computed on the host with a vectorisable rational approximation, then
/// put back into the graph with the right gradient: `y = x*g + (tanh(x) - x*g)`
/// with `g = 1 - tanh(x)^2` constant, so the value is tanh(x) and dy/dx = g.
/// On burn's flex backend libm's `tanhf` was 60% of a PPO run; this is ~10x cheaper.
/// The offset `tanh(x) - x*g` is computed on the host too (the same f32
/// product burn computes), which saves a device op per call.
pub(crate) fn host_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let dims = x.dims();
    let tracked = x.is_tracked();
    let plain = x.device().without_autodiff();
    // Untracked (acting), the tensor is read in place; tracked, the graph keeps x.
    let source = if tracked { x.clone().inner() } else { x.clone() };
    let data = match source.try_into_data() {
        Ok(d) => d,
        Err(_) => return x.tanh(),
    };
    let Ok(values) = data.as_slice::<f32>() else { return x.tanh() };
    let n = values.len();
    if !tracked {
        let y = filled(n, |y| tanh_slice(values, y));
        return Tensor::<D>::from_data(TensorData::new(y, dims), &plain);
    }
    let mut offset = Vec::with_capacity(n);
    let g = filled(n, |g| tanh_grad_slice(values, g, &mut offset.spare_capacity_mut()[..n]));
    // SAFETY: tanh_grad_slice wrote all n values of `offset` (one per input value).
    unsafe { offset.set_len(n) };
    let g_t = Tensor::<D>::from_data(TensorData::new(g, dims), &plain);
    let offset_t = Tensor::<D>::from_data(TensorData::new(offset, dims), &plain);
    x * g_t + offset_t
}

/// Calls `body(args..)` (an `#[inline(always)]` fn) compiled for the widest SIMD
/// this CPU has: AVX-512F, AVX2, else the baseline. The same operations run in
/// every lane and nothing is contracted into FMA, so every path gives identical results.
macro_rules! with_widest_simd {
    ($body:ident($($arg:ident: $ty:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) {
                $body($($arg),*)
            }
            #[target_feature(enable = "avx2")]
            fn avx2($($arg: $ty),*) {
                $body($($arg),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { avx512($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { avx2($($arg),*) };
            }
        }
        $body($($arg),*)
    }};
}

pub(crate) use with_widest_simd;

/// A vector of `n` values all written by `fill` (which must write each of
/// them): no zeroing first, which for a batch of seeds' activations (MBs,
/// beyond the caches) cost as much as the tanh itself.
fn filled(n: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    fill(&mut v.spare_capacity_mut()[..n]);
    // SAFETY: `fill` wrote all n values (tanh_slice / tanh_grad_slice write one per input).
    unsafe { v.set_len(n) };
    v
}

/// `y[i] = tanh(x[i])`, vectorised as wide as the CPU allows.
fn tanh_slice(x: &[f32], y: &mut [MaybeUninit<f32>]) {
    #[inline(always)]
    fn body(x: &[f32], y: &mut [MaybeUninit<f32>]) {
        assert_eq!(x.len(), y.len());
        for (o, &v) in y.iter_mut().zip(x) {
            o.write(fast_tanh(v));
        }
    }
    with_widest_simd!(body(x: &[f32], y: &mut [MaybeUninit<f32>]))
}

/// The gradient `g = 1 - tanh(x)^2` and the offset `tanh(x) - x*g` of [`host_tanh`].
fn tanh_grad_slice(x: &[f32], g: &mut [MaybeUninit<f32>], offset: &mut [MaybeUninit<f32>]) {
    #[inline(always)]
    fn body(x: &[f32], g: &mut [MaybeUninit<f32>], offset: &mut [MaybeUninit<f32>]) {
        assert!(x.len() == g.len() && x.len() == offset.len());
        for ((gi, off), &v) in g.iter_mut().zip(offset.iter_mut()).zip(x) {
            let t = fast_tanh(v);
            let d = 1.0 - t * t;
            gi.write(d);
            off.write(t - v * d);
        }
    }
    with_widest_simd!(body(x: &[f32], g: &mut [MaybeUninit<f32>], offset: &mut [MaybeUninit<f32>]))
}

/// tanh for f32 to within a few ulp: Eigen's `generic_fast_tanh_float`
/// (odd 13/6 rational approximation on a clamped input); branch-free, so it vectorises.
/// Plain `*`/`+`, not `mul_add`: without a target FMA feature that is a libm call.
#[inline]
pub fn fast_tanh(a: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = a.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = p * x2 + 2.000_188e-13;
    p = p * x2 + -8.604_672e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    p *= x;
    let mut q = 1.198_258_4e-6_f32;
    q = q * x2 + 1.185_347_1e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    if a.abs() < 0.0004 { a } else { p / q }
}

fn linear_from(fan_in: usize, fan_out: usize, weight: Vec<f32>, bias: Vec<f32>, device: &Device) -> Linear {
    let w = Tensor::<2>::from_data(TensorData::new(weight, [fan_in, fan_out]), device);
    let b = Tensor::<1>::from_data(TensorData::new(bias, [fan_out]), device);
    Linear { weight: Param::from_tensor(w), bias: Some(Param::from_tensor(b)) }
}

/// `torch.nn.init.orthogonal_` for a torch weight of shape [out, in], returned
/// transposed as burn's row-major [in, out].
pub fn orthogonal_in_out(fan_in: usize, fan_out: usize, gain: f64, rng: &mut Rng) -> Vec<f32> {
    // torch: flatten to (rows=out, cols=in); if rows < cols QR the transpose.
    let (rows, cols) = (fan_out, fan_in);
    let (m, n) = if rows < cols { (cols, rows) } else { (rows, cols) };
    // Gaussian m x n, then Gram-Schmidt on columns (= QR with R's diagonal positive,
    // which is what torch's sign correction `q *= sign(diag(r))` produces).
    let mut a: Vec<f64> = (0..m * n).map(|_| rng.normal()).collect(); // row-major m x n
    for j in 0..n {
        for _pass in 0..2 {
            for k in 0..j {
                let dot: f64 = (0..m).map(|i| a[i * n + j] * a[i * n + k]).sum();
                for i in 0..m {
                    a[i * n + j] -= dot * a[i * n + k];
                }
            }
        }
        let norm = (0..m).map(|i| a[i * n + j].powi(2)).sum::<f64>().sqrt().max(1e-12);
        for i in 0..m {
            a[i * n + j] /= norm;
        }
    }
    // q is m x n with orthonormal columns. torch weight W (rows x cols) = q or q^T.
    let mut out = vec![0.0f32; fan_in * fan_out];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows < cols { a[c * n + r] } else { a[r * n + c] };
            out[c * fan_out + r] = (gain * v) as f32; // burn [in, out]: index [c][r]
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_is_accurate() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let err = (fast_tanh(x) as f64 - (x as f64).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "max abs error {worst}");
        assert_eq!(fast_tanh(100.0), fast_tanh(7.905_311));
        assert!((fast_tanh(100.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn simd_tanh_paths_match_the_scalar_formula_bit_for_bit() {
        // 1003 values: not a multiple of any vector width, so the tails run too.
        let x: Vec<f32> = (0..1003).map(|i| (i as f32 - 501.0) * 0.0173).chain([0.0, -0.0, 1e-5, 9.0, -9.0]).collect();
        let y = filled(x.len(), |y| tanh_slice(&x, y));
        let mut off = Vec::with_capacity(x.len());
        let g = filled(x.len(), |g| tanh_grad_slice(&x, g, &mut off.spare_capacity_mut()[..x.len()]));
        unsafe { off.set_len(x.len()) };
        for i in 0..x.len() {
            let t = fast_tanh(x[i]);
            let d = 1.0 - t * t;
            assert_eq!(y[i].to_bits(), t.to_bits(), "tanh({})", x[i]);
            assert_eq!(g[i].to_bits(), d.to_bits());
            assert_eq!(off[i].to_bits(), (t - x[i] * d).to_bits());
        }
    }

    #[test]
    fn host_tanh_has_the_value_and_gradient_of_tanh() {
        let device = Device::flex().autodiff();
        let xs = [-3.0f32, -0.5, 0.0, 0.2, 1.5];
        let x = Tensor::<2>::from_data(TensorData::new(xs.to_vec(), [1, 5]), &device).require_grad();
        let y = host_tanh(x.clone());
        let grads = y.clone().sum().backward();
        let gx = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        let yv = y.inner().try_into_vec_as::<f32>().unwrap();
        for i in 0..5 {
            let t = (xs[i] as f64).tanh();
            assert!((yv[i] as f64 - t).abs() < 1e-6, "value {i}");
            assert!((gx[i] as f64 - (1.0 - t * t)).abs() < 1e-6, "grad {i}");
        }
    }

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal() {
        let mut rng = Rng::seed_from_u64(3);
        for (fi, fo) in [(4, 64), (64, 64), (64, 2)] {
            let w = orthogonal_in_out(fi, fo, 1.0, &mut rng);
            // W_torch is fo x fi; the smaller dimension's vectors are orthonormal.
            let get = |r: usize, c: usize| w[c * fo + r] as f64; // torch [r][c]
            let (k, len, by_row) = if fo <= fi { (fo, fi, true) } else { (fi, fo, false) };
            for a in 0..k {
                for b in 0..k {
                    let dot: f64 = (0..len).map(|t| if by_row { get(a, t) * get(b, t) } else { get(t, a) * get(t, b) }).sum();
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{fi}x{fo}: <{a},{b}> = {dot}");
                }
            }
        }
    }
}
