//! One autodiff node per dense layer on the CPU backend: `act(x @ W + b)` for
//! stacked agents (`x [S, B, in]`, `W [S, in, out]`, `b [S, 1, out]`).
//!
//! Through burn's generic ops a hidden layer is six graph nodes (matmul, bias
//! add, and tanh as `x*g + offset`), each allocating its output and taking
//! its own pass over memory. Here the matmul is burn-flex's own kernel, the
//! bias and activation are one host pass written into the matmul's output,
//! and the backward is one step: the activation's gradient, the bias sum and
//! the two matmuls, each through the very flex kernel burn's graph would call
//! for it. Every f32 operation and its order is the one the generic graph
//! performs, so a run gives the same bits as through it (`tests` below and
//! the whole-run equivalence tests check it). Acting (plain flex, no graph)
//! is the same gemm and one pass. Other devices (wgpu) take the generic path.

use super::nets::{fast_tanh, with_widest_simd};
use super::thin_gemm::Strided;
use crate::config::Activation;
use burn::prelude::*;
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_backend::{BackendTypes, TensorData as BackendData};
use burn_flex::{Flex, FlexTensor};

type Ad = Autodiff<Flex>;
type AdTensor = <Ad as BackendTypes>::FloatTensorPrimitive;

/// The layer's nonlinearity (`None`: an output layer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    None,
    Tanh,
    Relu,
}

impl From<Activation> for Act {
    fn from(a: Activation) -> Self {
        match a {
            Activation::Tanh => Act::Tanh,
            Activation::Relu => Act::Relu,
        }
    }
}

/// `act(x @ w + b)` on the CPU backend: one node of flex's autodiff graph, or
/// on plain flex one pass (acting); `None` (the inputs untouched) on another
/// device or for shapes the generic ops must judge.
pub fn dense(x: &Tensor<3>, w: &Tensor<3>, b: &Tensor<3>, act: Act) -> Option<Tensor<3>> {
    if let (Ok(x), Ok(w), Ok(b)) =
        (x.clone().try_into_primitive::<Ad>(), w.clone().try_into_primitive::<Ad>(), b.clone().try_into_primitive::<Ad>())
    {
        fits(x.primitive(), w.primitive(), b.primitive()).then(|| Tensor::from_primitive::<Ad>(forward(x, w, b, act)))
    } else if let (Ok(x), Ok(w), Ok(b)) =
        (x.clone().try_into_primitive::<Flex>(), w.clone().try_into_primitive::<Flex>(), b.clone().try_into_primitive::<Flex>())
    {
        fits(&x, &w, &b).then(|| Tensor::from_primitive::<Flex>(bias_act(matmul(&x, false, &w, false), &b, act, false).0))
    } else {
        None
    }
}

/// f32 `x [S, B, in]`, `w [S, in, out]`, `b [S, 1, out]`, one S.
fn fits(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor) -> bool {
    let f32_3d = |t: &FlexTensor| t.dtype() == burn::tensor::DType::F32 && t.layout().shape().num_dims() == 3;
    if !(f32_3d(x) && f32_3d(w) && f32_3d(b)) {
        return false;
    }
    let (x, w, b) = (x.layout().shape(), w.layout().shape(), b.layout().shape());
    x[0] == w[0] && w[0] == b[0] && x[2] == w[1] && b[1] == 1 && b[2] == w[2]
}

#[derive(Debug)]
struct Dense;

/// What the backward step needs: the layer's input (for W's gradient), its
/// weight (for the input's), and the activation's local gradient.
#[derive(Clone, Debug)]
struct DenseState {
    x: Option<FlexTensor>,
    w: Option<FlexTensor>,
    local: Local,
}

#[derive(Clone, Debug)]
enum Local {
    /// The output layer: the gradient passes through.
    Identity,
    /// tanh: `1 - tanh(v)^2`, multiplied in.
    Scale(FlexTensor),
    /// relu: the output, where it is 0 the gradient is.
    Mask(FlexTensor),
}

impl Backward<Flex, 3> for Dense {
    type State = DenseState;

    fn backward(self, ops: Ops<DenseState, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [x_node, w_node, b_node] = ops.parents;
        let DenseState { x, w, local } = ops.state;
        let (grad, bias_grad) = local_grad(grads.consume::<Flex>(&ops.node), &local, b_node.is_some());
        if let (Some(node), Some(bias_grad)) = (b_node, bias_grad) {
            grads.register::<Flex>(node.id, bias_grad);
        }
        // W's and the input's gradients are independent products: large ones
        // go to two cores at once when the run has them (each the same bits).
        let w_grad = || w_node.as_ref().zip(x.as_ref()).map(|(node, x)| (node.id, matmul(x, true, &grad, false)));
        let x_grad = || x_node.as_ref().zip(w.as_ref()).map(|(node, w)| (node.id, matmul(&grad, false, w, true)));
        let (w_grad, x_grad) = if x_node.is_some() && w_node.is_some() && ops_of(&grad, &x, &w) >= JOIN_THRESHOLD {
            crate::threads::both(w_grad, x_grad)
        } else {
            (w_grad(), x_grad())
        };
        for (id, g) in [w_grad, x_grad].into_iter().flatten() {
            grads.register::<Flex>(id, g);
        }
    }
}

/// Multiply-adds from which each of two products is worth a second core: the
/// hand-off to a spinning partner costs about a microsecond, a product of
/// this size (a 64-wide layer over a 256-row minibatch) ten or more.
const JOIN_THRESHOLD: usize = 1 << 20;

/// Multiply-adds of each of the backward's two products (both are agents x
/// rows x in x out), 0 when either operand was not kept.
fn ops_of(grad: &FlexTensor, x: &Option<FlexTensor>, w: &Option<FlexTensor>) -> usize {
    match (x, w) {
        (Some(x), Some(_)) => grad.layout().shape().num_elements() * x.layout().shape()[2],
        _ => 0,
    }
}

/// The gradient at the pre-activation and, with `want_bias`, its sum over
/// each agent's rows (the bias's gradient), in one pass over the gradient's
/// own buffer. As the generic graph: tanh's `x*g + offset` hands `x*g` the
/// gradient, multiplied by g; relu keeps it where its output is positive (or
/// NaN); the bias sum starts at 0 and adds rows in order, as flex's `sum_dim`.
fn local_grad(grad: FlexTensor, local: &Local, want_bias: bool) -> (FlexTensor, Option<FlexTensor>) {
    let shape = grad.layout().shape().clone();
    let (n_agents, n, len) = (shape[0], shape[2], shape.num_elements());
    let packed = grad.is_contiguous() && grad.layout().start_offset() == 0;
    let mut grad = if packed { grad } else { grad.to_contiguous() };
    let mut bias = want_bias.then(|| vec![0.0f32; n_agents * n]);
    let rows = len / n_agents.max(1);
    if let Local::Identity = local {
        // Read only: a gradient shared with another consumer is not copied.
        if let Some(b) = bias.as_mut() {
            let d = &grad.storage::<f32>()[..len];
            for s in 0..n_agents {
                sum_rows(&d[s * rows..(s + 1) * rows], &mut b[s * n..(s + 1) * n]);
            }
        }
    } else {
        let d = &mut grad.storage_mut::<f32>()[..len];
        for s in 0..n_agents {
            let ds = &mut d[s * rows..(s + 1) * rows];
            let acc = bias.as_mut().map(|b| &mut b[s * n..(s + 1) * n]).unwrap_or(&mut []);
            match local {
                Local::Scale(g) => scale_rows(ds, &g.storage::<f32>()[s * rows..(s + 1) * rows], acc),
                Local::Mask(y) => mask_rows(ds, &y.storage::<f32>()[s * rows..(s + 1) * rows], acc),
                Local::Identity => {}
            }
        }
    }
    let bias = bias.map(|b| FlexTensor::from_data(BackendData::new(b, [n_agents, 1, n])));
    (grad, bias)
}

fn sum_rows(d: &[f32], acc: &mut [f32]) {
    #[inline(always)]
    fn body(d: &[f32], acc: &mut [f32]) {
        for row in d.chunks_exact(acc.len()) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v;
            }
        }
    }
    with_widest_simd!(body(d: &[f32], acc: &mut [f32]))
}

/// `d *= g`, and the rows of the result summed into `acc` unless it is empty.
fn scale_rows(d: &mut [f32], g: &[f32], acc: &mut [f32]) {
    #[inline(always)]
    fn body(d: &mut [f32], g: &[f32], acc: &mut [f32]) {
        if acc.is_empty() {
            d.iter_mut().zip(g).for_each(|(v, &k)| *v *= k);
            return;
        }
        for (row, grow) in d.chunks_exact_mut(acc.len()).zip(g.chunks_exact(acc.len())) {
            for ((v, &k), a) in row.iter_mut().zip(grow).zip(acc.iter_mut()) {
                *v *= k;
                *a += *v;
            }
        }
    }
    with_widest_simd!(body(d: &mut [f32], g: &[f32], acc: &mut [f32]))
}

/// `d = 0` where `y` is neither positive nor NaN (flex's `relu_backward`), rows summed as [`scale_rows`].
fn mask_rows(d: &mut [f32], y: &[f32], acc: &mut [f32]) {
    #[inline(always)]
    fn body(d: &mut [f32], y: &[f32], acc: &mut [f32]) {
        let keep = |v: f32, out: f32| if out.is_nan() || out > 0.0 { v } else { 0.0 };
        if acc.is_empty() {
            d.iter_mut().zip(y).for_each(|(v, &o)| *v = keep(*v, o));
            return;
        }
        for (row, yrow) in d.chunks_exact_mut(acc.len()).zip(y.chunks_exact(acc.len())) {
            for ((v, &o), a) in row.iter_mut().zip(yrow).zip(acc.iter_mut()) {
                *v = keep(*v, o);
                *a += *v;
            }
        }
    }
    with_widest_simd!(body(d: &mut [f32], y: &[f32], acc: &mut [f32]))
}

fn forward(x: AdTensor, w: AdTensor, b: AdTensor, act: Act) -> AdTensor {
    let (x_tracked, w_tracked) = (x.is_tracked(), w.is_tracked());
    let prep = Dense.prepare::<NoCheckpointing>([x.node(), w.node(), b.node()]).compute_bound().stateful();
    let (xp, wp, bp) = (x.into_primitive(), w.into_primitive(), b.into_primitive());
    let z = matmul(&xp, false, &wp, false);
    match prep {
        OpsKind::Tracked(prep) => {
            let (y, local) = bias_act(z, &bp, act, true);
            let state = DenseState { x: w_tracked.then_some(xp), w: x_tracked.then_some(wp), local };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(bias_act(z, &bp, act, false).0),
    }
}

/// `act(z + b)` in place in `z` (the matmul's fresh output), and the
/// activation's local gradient when `tracked`. Tracked tanh gives
/// `v*g + (tanh(v) - v*g)` as the generic graph's `host_tanh` does, untracked
/// `tanh(v)`; relu is flex's (NaN kept, -0 to 0).
fn bias_act(mut z: FlexTensor, b: &FlexTensor, act: Act, tracked: bool) -> (FlexTensor, Local) {
    let shape = z.layout().shape().clone();
    let (n_agents, n) = (shape[0], shape[2]);
    let b = if b.is_contiguous() && b.layout().start_offset() == 0 { b.clone() } else { b.to_contiguous() };
    let bias: &[f32] = &b.storage::<f32>()[..n_agents * n];
    let mut scale = (act == Act::Tanh && tracked).then(|| Vec::<f32>::with_capacity(shape.num_elements()));
    {
        let y: &mut [f32] = z.storage_mut();
        let rows = y.len() / n_agents.max(1);
        for s in 0..n_agents {
            let (ys, bs) = (&mut y[s * rows..(s + 1) * rows], &bias[s * n..(s + 1) * n]);
            match (act, scale.as_mut()) {
                (Act::Tanh, Some(g)) => {
                    let g = &mut g.spare_capacity_mut()[s * rows..(s + 1) * rows];
                    tanh_tracked(ys, g, bs)
                }
                (Act::Tanh, None) => tanh_rows(ys, bs),
                (Act::Relu, _) => relu_rows(ys, bs),
                (Act::None, _) => bias_rows(ys, bs),
            }
        }
    }
    let local = match (act, scale) {
        _ if !tracked => Local::Identity,
        (Act::Tanh, Some(mut g)) => {
            // SAFETY: tanh_tracked wrote every value (one per output element).
            unsafe { g.set_len(shape.num_elements()) };
            Local::Scale(FlexTensor::from_data(BackendData::new(g, shape)))
        }
        (Act::Relu, _) => Local::Mask(z.clone()),
        _ => Local::Identity,
    };
    (z, local)
}

/// One operand of [`matmul`]: f32 storage and 3-D strides, the last two
/// swapped for a transposed view (as `float_transpose` swaps them).
struct Operand<'a> {
    data: &'a [f32],
    start: usize,
    agents: usize,
    agent_stride: isize,
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Operand<'a> {
    fn of(t: &'a FlexTensor, transposed: bool) -> Self {
        let (shape, st) = (t.layout().shape(), t.layout().strides());
        let (rows, cols, row_stride, col_stride) =
            if transposed { (shape[2], shape[1], st[2], st[1]) } else { (shape[1], shape[2], st[1], st[2]) };
        Self {
            data: t.storage::<f32>(),
            start: t.layout().start_offset(),
            agents: shape[0],
            // A batch of one is broadcast in flex's matmul: its stride is never used.
            agent_stride: if shape[0] == 1 { 0 } else { st[0] },
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// Agent `s`'s matrix.
    fn ptr(&self, s: usize) -> *const f32 {
        let offset = self.start as isize + s as isize * self.agent_stride;
        // SAFETY (of the caller's reads): flex's layout keeps every strided
        // element of every agent inside the storage.
        self.data.as_ptr().wrapping_offset(offset)
    }
}

/// flex's matmul thresholds (burn-flex 0.22.1 `ops/matmul.rs`): gemm threads
/// one product from this size, and the agents run in parallel from the second.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;
const BATCH_PARALLEL_THRESHOLD: usize = 128 * 128 * 128;

/// `a[s] @ b[s]` for every agent `s` into a fresh `[S, m, n]` tensor: gemm
/// called with the arguments and threading rule of flex's batched matmul (so
/// the same bits) but into an uninitialised buffer, where flex zeroes its
/// output and then copies it once more to realign it.
fn matmul(a: &FlexTensor, a_t: bool, b: &FlexTensor, b_t: bool) -> FlexTensor {
    let (a, b) = (Operand::of(a, a_t), Operand::of(b, b_t));
    let (agents, m, k, n) = (a.agents.max(b.agents), a.rows, a.cols, b.cols);
    assert!(b.rows == k && (a.agents == b.agents || a.agents == 1 || b.agents == 1), "fused matmul: shapes do not chain");
    let per = m * n;
    let mut out: Vec<f32> = Vec::with_capacity(agents * per);
    let one = |dst: *mut f32, s: usize, parallelism: gemm::Parallelism| {
        let (a_s, b_s) =
            (Strided { ptr: a.ptr(s), rs: a.row_stride, cs: a.col_stride }, Strided { ptr: b.ptr(s), rs: b.row_stride, cs: b.col_stride });
        // SAFETY: `dst` has room for m x n values; a and b are read within their
        // storage at their own strides (Operand::ptr).
        unsafe {
            if !super::thin_gemm::product(m, n, k, dst, a_s, b_s) {
                super::thin_gemm::gemm_into(m, n, k, dst, a_s, b_s, parallelism);
            }
        }
    };
    let per_ops = m * n * k;
    let total_ops = agents * per_ops;
    let base = out.spare_capacity_mut().as_mut_ptr() as usize;
    if crate::threads::second_core_taken() {
        // The other half of a `both` has the run's second core.
        (0..agents).for_each(|s| one((base as *mut f32).wrapping_add(s * per), s, gemm::Parallelism::None));
    } else if per_ops >= PARALLEL_THRESHOLD && !(agents >= 4 && total_ops >= BATCH_PARALLEL_THRESHOLD) {
        (0..agents).for_each(|s| one((base as *mut f32).wrapping_add(s * per), s, gemm::Parallelism::Rayon(0)));
    } else if total_ops >= BATCH_PARALLEL_THRESHOLD && agents > 1 {
        use rayon::prelude::*;
        (0..agents).into_par_iter().for_each(|s| one((base as *mut f32).wrapping_add(s * per), s, gemm::Parallelism::None));
    } else {
        (0..agents).for_each(|s| one((base as *mut f32).wrapping_add(s * per), s, gemm::Parallelism::None));
    }
    // SAFETY: gemm (read_dst = false) wrote all m x n values of every agent.
    unsafe { out.set_len(agents * per) };
    FlexTensor::from_data(BackendData::new(out, [agents, m, n]))
}

fn bias_rows(y: &mut [f32], b: &[f32]) {
    #[inline(always)]
    fn body(y: &mut [f32], b: &[f32]) {
        for row in y.chunks_exact_mut(b.len()) {
            for (v, &c) in row.iter_mut().zip(b) {
                *v += c;
            }
        }
    }
    with_widest_simd!(body(y: &mut [f32], b: &[f32]))
}

fn relu_rows(y: &mut [f32], b: &[f32]) {
    #[inline(always)]
    fn body(y: &mut [f32], b: &[f32]) {
        for row in y.chunks_exact_mut(b.len()) {
            for (v, &c) in row.iter_mut().zip(b) {
                let s = *v + c;
                *v = if s.is_nan() || s > 0.0 { s } else { 0.0 };
            }
        }
    }
    with_widest_simd!(body(y: &mut [f32], b: &[f32]))
}

fn tanh_rows(y: &mut [f32], b: &[f32]) {
    #[inline(always)]
    fn body(y: &mut [f32], b: &[f32]) {
        for row in y.chunks_exact_mut(b.len()) {
            for (v, &c) in row.iter_mut().zip(b) {
                *v = fast_tanh(*v + c);
            }
        }
    }
    with_widest_simd!(body(y: &mut [f32], b: &[f32]))
}

fn tanh_tracked(y: &mut [f32], g: &mut [std::mem::MaybeUninit<f32>], b: &[f32]) {
    #[inline(always)]
    fn body(y: &mut [f32], g: &mut [std::mem::MaybeUninit<f32>], b: &[f32]) {
        assert_eq!(y.len(), g.len());
        for (row, grow) in y.chunks_exact_mut(b.len()).zip(g.chunks_exact_mut(b.len())) {
            for ((v, gi), &c) in row.iter_mut().zip(grow).zip(b) {
                let s = *v + c;
                let t = fast_tanh(s);
                let d = 1.0 - t * t;
                gi.write(d);
                *v = s * d + (t - s * d);
            }
        }
    }
    with_widest_simd!(body(y: &mut [f32], g: &mut [std::mem::MaybeUninit<f32>], b: &[f32]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algos::nets::host_tanh;
    use burn::module::Param;

    /// The generic graph the fused node replaces (as `StackedMlp` built it).
    fn generic(x: Tensor<3>, w: Tensor<3>, b: Tensor<3>, act: Act) -> Tensor<3> {
        let z = x.matmul(w) + b;
        match act {
            Act::None => z,
            Act::Tanh => host_tanh(z),
            Act::Relu => burn::tensor::activation::relu(z),
        }
    }

    fn values(s: usize, r: usize, c: usize, seed: u32) -> TensorData {
        let v: Vec<f32> =
            (0..s * r * c).map(|i| ((((i as u32).wrapping_mul(2654435761) ^ seed) % 2001) as f32 / 1000.0 - 1.0) * 1.7).collect();
        TensorData::new(v, [s, r, c])
    }

    /// Value and gradients of `sum(act(x@w+b) * probe)` (or of a plain sum),
    /// fused or generic, as bits: the output, then the gradients of w, b and x
    /// (None: not computed); x tracked or not (a first layer's observations).
    fn layer_bits((s, r, i, o, act): (usize, usize, usize, usize, Act), x_tracked: bool, fused: bool) -> [Option<Vec<u32>>; 4] {
        let device = Device::flex().autodiff();
        let x = Tensor::<3>::from_data(values(s, r, i, 1), &device);
        let x = if x_tracked { x.require_grad() } else { x };
        let w = Param::from_tensor(Tensor::<3>::from_data(values(s, i, o, 2), &device));
        let b = Param::from_tensor(Tensor::<3>::from_data(values(s, 1, o, 3), &device));
        let probe = Tensor::<3>::from_data(values(s, r, o, 4), &device);
        let y = if fused {
            dense(&x, &w.val(), &b.val(), act).expect("flex autodiff tensors")
        } else {
            generic(x.clone(), w.val(), b.val(), act)
        };
        // A plain sum hands the layer a broadcast gradient (all strides 0).
        let loss = if x_tracked { (y.clone() * probe).sum() } else { y.clone().sum() };
        let grads = loss.backward();
        let bits = |t: Tensor<3>| t.try_into_vec_as::<f32>().expect("f32").iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        let grad = |t: &Tensor<3>| t.grad(&grads).map(bits);
        [Some(bits(y)), grad(&w.val()), grad(&b.val()), grad(&x)]
    }

    #[test]
    fn fused_dense_is_the_generic_graph_bit_for_bit() {
        // (agents, rows, in, out): tiny; agents in parallel; one product gemm threads.
        let shapes = [
            (2, 5, 3, 4, Act::None),
            (2, 5, 3, 4, Act::Tanh),
            (2, 5, 3, 4, Act::Relu),
            (8, 64, 64, 64, Act::Tanh),
            (1, 256, 192, 256, Act::Relu),
        ];
        for shape in shapes {
            for x_tracked in [false, true] {
                let (fused, generic) = (layer_bits(shape, x_tracked, true), layer_bits(shape, x_tracked, false));
                assert!(fused[1].is_some() && fused[2].is_some() && fused[3].is_some() == x_tracked);
                assert_eq!(fused, generic, "{shape:?}, x tracked: {x_tracked}");
            }
        }
    }

    /// A thread with a second core (a partner for `threads::both`) computes
    /// the backward's two products at once: the same bits as one core.
    #[test]
    fn backward_on_two_cores_gives_the_bits_of_one() {
        let shapes = [(1, 64, 256, 256, Act::Relu), (4, 256, 64, 64, Act::Tanh), (1, 256, 256, 256, Act::None)];
        let run = move || shapes.map(|shape| layer_bits(shape, true, true));
        let one = std::thread::spawn(move || {
            assert!(crate::threads::keep_parallel_work_on_this_thread());
            run()
        })
        .join()
        .unwrap();
        let two = std::thread::spawn(move || {
            assert!(crate::threads::own_pool(2));
            run()
        })
        .join()
        .unwrap();
        assert!(one == two, "two cores changed the backward's bits");
    }

    #[test]
    fn untracked_tanh_is_the_plain_tanh() {
        let device = Device::flex().autodiff();
        let x = Tensor::<3>::from_data(values(1, 4, 3, 5), &device);
        let w = Tensor::<3>::from_data(values(1, 3, 2, 6), &device);
        let b = Tensor::<3>::from_data(values(1, 1, 2, 7), &device);
        let fused = dense(&x, &w, &b, Act::Tanh).expect("flex autodiff tensors").try_into_vec_as::<f32>().expect("f32");
        let plain = host_tanh(x.matmul(w) + b).try_into_vec_as::<f32>().expect("f32");
        assert_eq!(fused, plain);
    }

    #[test]
    fn acting_on_plain_flex_is_the_generic_ops_bit_for_bit() {
        let device = Device::flex();
        for act in [Act::None, Act::Tanh, Act::Relu] {
            let x = Tensor::<3>::from_data(values(2, 8, 4, 8), &device);
            let w = Tensor::<3>::from_data(values(2, 4, 64, 9), &device);
            let b = Tensor::<3>::from_data(values(2, 1, 64, 10), &device);
            let fused = dense(&x, &w, &b, act).expect("plain flex tensors").try_into_vec_as::<f32>().expect("f32");
            let plain = generic(x, w, b, act).try_into_vec_as::<f32>().expect("f32");
            assert_eq!(fused.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }

    /// A seed batch that keeps its parallel sections on its own thread
    /// (`crate::threads`) gets the bits of one that hands them to the pool:
    /// agents in parallel (4 x 256x64x64) and one threaded product (256^3).
    #[test]
    fn own_thread_and_pool_give_the_same_bits() {
        let run = || {
            let device = Device::flex();
            [(4, 256, 64, 64), (1, 256, 256, 256)]
                .into_iter()
                .map(|(s, m, k, n)| {
                    let x = Tensor::<3>::from_data(values(s, m, k, 11), &device);
                    let w = Tensor::<3>::from_data(values(s, k, n, 12), &device);
                    let b = Tensor::<3>::from_data(values(s, 1, n, 13), &device);
                    let y = dense(&x, &w, &b, Act::Tanh).expect("plain flex tensors");
                    y.try_into_vec_as::<f32>().expect("f32").iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
                })
                .collect::<Vec<_>>()
        };
        let pooled = run();
        let inline = std::thread::spawn(move || {
            assert!(crate::threads::keep_parallel_work_on_this_thread());
            run()
        })
        .join()
        .unwrap();
        assert!(pooled == inline, "the own thread's products differ from the pool's");
    }

    #[test]
    fn mismatched_shapes_take_the_generic_path() {
        let device = Device::flex().autodiff();
        let t = Tensor::<3>::zeros([1, 2, 2], &device);
        let bias_rows = Tensor::<3>::zeros([1, 2, 2], &device);
        assert!(dense(&t, &t, &bias_rows, Act::Relu).is_none());
        assert!(dense(&t, &Tensor::<3>::zeros([2, 2, 2], &device), &t.clone().slice([0..1, 0..1]), Act::Relu).is_none());
    }
}
