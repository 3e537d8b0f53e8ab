//! The thin products of a small network's output layer, computed to gemm's
//! own bits in a fraction of its time.
//!
//! An actor's output layer has 2 to 8 columns. For the backward's products
//! through it (the weight's gradient `hᵀ @ g`, 2 to 8 columns deep 64 to
//! 512; the input's `g @ Wᵀ`, only 1 or 2 deep) gemm packs both operands and
//! runs its 16-lane kernels with two lanes in use, or loops over strided
//! scalars: each costs several times its arithmetic. Here, for the shapes
//! where gemm's arithmetic is known, the same arithmetic runs vectorised:
//! - `k <= 2` (gemm's `gevv`): `a0*b0`, or `a1*b1 + a0*b0`, unfused;
//! - otherwise (gemm's packed micro-kernel, one depth block for `k <= 512`):
//!   each output is a chain of fused multiply-adds over `k` in order, from 0,
//!   taken over only where `a`'s rows are adjacent (64 of them one vector load).
//!
//! Every other shape (the forward `x @ W` included), and a CPU without FMA,
//! stays with gemm. `tests` compare both bit for bit over every route and layout.

use std::mem::MaybeUninit;

/// Runs `body` compiled for AVX-512 or AVX2 with FMA, whichever the CPU has
/// (callers checked [`fma_available`]; `mul_add` is one instruction in both).
macro_rules! with_fma {
    ($body:ident $(::<$g:ident>)? ($($arg:ident: $ty:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,fma")]
            fn avx512$(<const $g: usize>)?($($arg: $ty),*) {
                $body$(::<$g>)?($($arg),*)
            }
            #[target_feature(enable = "avx2,fma")]
            fn avx2$(<const $g: usize>)?($($arg: $ty),*) {
                $body$(::<$g>)?($($arg),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F and FMA (checked here and by the caller).
                return unsafe { avx512$(::<$g>)?($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                return unsafe { avx2$(::<$g>)?($($arg),*) };
            }
        }
        $body$(::<$g>)?($($arg),*)
    }};
}

/// Output columns up to which [`product`] takes over gemm's packed path.
const MAX_COLUMNS: usize = 8;
/// gemm's packed path runs the whole depth as one block up to this `k`.
const MAX_DEPTH: usize = 512;
/// Rows computed at once: independent FMA chains enough to hide their latency.
const LANES: usize = 64;

/// A matrix operand: element `(i, j)` at `ptr + i*rs + j*cs`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Strided {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

impl Strided {
    /// SAFETY (caller's): `(i, j)` lies inside the operand's storage.
    #[inline(always)]
    unsafe fn at(&self, i: usize, j: usize) -> f32 {
        unsafe { *self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }
}

/// gemm 0.19's route for `dst[m, n] = a[m, k] @ b[k, n]` into a row-major
/// `dst` (not read), as `gemm_basic_generic` picks it.
#[derive(Debug, PartialEq)]
enum Route {
    /// gemm's horizontal, gemv or empty-depth kernels: left to gemm.
    Other,
    /// `gevv`: `k` is 1 or 2.
    Outer,
    /// The packed micro-kernel.
    Chain,
}

fn route(m: usize, n: usize, k: usize, a: &Strided, b: &Strided) -> Route {
    // gemm transposes the problem when dst is row-oriented (dst_cs < dst_rs).
    let (m, n, dst_cs, dst_rs, lhs_cs, lhs_rs, rhs_cs, rhs_rs) =
        if 1 < n { (n, m, n as isize, 1, b.rs, b.cs, a.rs, a.cs) } else { (m, n, 1, n as isize, a.cs, a.rs, b.cs, b.rs) };
    if k == 0 || m == 0 || n == 0 || [lhs_cs, lhs_rs, rhs_cs, rhs_rs].iter().any(|&s| s < 0) {
        return Route::Other;
    }
    if m * n <= 16 * 16 && lhs_cs == 1 && rhs_rs == 1 {
        return Route::Other;
    }
    if k <= 2 {
        return Route::Outer;
    }
    let gemv = (n <= 1 && lhs_rs == 1 && dst_rs == 1)
        || (n <= 1 && lhs_cs == 1 && rhs_rs == 1)
        || (m <= 1 && rhs_cs == 1 && dst_cs == 1)
        || (m <= 1 && rhs_rs == 1 && lhs_cs == 1);
    if gemv { Route::Other } else { Route::Chain }
}

/// `dst[m, n] = a @ b` (row-major, every value written) with gemm's bits, for
/// the thin shapes above; `false` (dst untouched) for gemm to do it.
///
/// SAFETY (caller's): every `(i, p)` of `a` and `(p, j)` of `b` below
/// `(m, k)` and `(k, n)` is readable, and `dst` has room for `m * n` values.
pub(super) unsafe fn product(m: usize, n: usize, k: usize, dst: *mut f32, a: Strided, b: Strided) -> bool {
    if !fma_available() {
        return false;
    }
    // SAFETY: dst has room for m*n values (the caller's promise).
    let out = unsafe { std::slice::from_raw_parts_mut(dst as *mut MaybeUninit<f32>, m * n) };
    match route(m, n, k, &a, &b) {
        Route::Outer => {
            // b's k rows, contiguous (one of them is often a strided column of W).
            let rows = gather(k, n, &b);
            outer(m, k, n, a, &rows, out);
            true
        }
        // Only where a's rows are adjacent (a transposed activation, as in a
        // weight's gradient): LANES of them are one vector load per depth step.
        Route::Chain if (2..=MAX_COLUMNS).contains(&n) && k <= MAX_DEPTH && a.rs == 1 => {
            let rhs = gather(k, n, &b);
            // The last block's columns are copied into a full-width panel.
            let mut panel: Vec<f32> = Vec::new();
            for i0 in (0..m).step_by(LANES) {
                let rows = LANES.min(m - i0);
                let (cols, stride) = if rows == LANES {
                    (a.ptr.wrapping_offset(i0 as isize), a.cs)
                } else {
                    panel.resize(k * LANES, 0.0);
                    fill_panel(&a, i0, rows, k, &mut panel);
                    (panel.as_ptr(), LANES as isize)
                };
                let cols = Strided { ptr: cols, rs: 1, cs: stride };
                chains(n, k, cols, &rhs, &mut out[i0 * n..(i0 + rows) * n]);
            }
            true
        }
        _ => false,
    }
}

/// The `[rows, cols]` operand's values, row-major.
fn gather(rows: usize, cols: usize, x: &Strided) -> Vec<f32> {
    let mut v = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        if x.cs == 1 {
            // SAFETY: row i has `cols` adjacent values (product's caller's promise).
            v.extend_from_slice(unsafe { std::slice::from_raw_parts(x.ptr.wrapping_offset(i as isize * x.rs), cols) });
        } else {
            // SAFETY: (i, j) is inside the operand (product's caller's promise).
            v.extend((0..cols).map(|j| unsafe { x.at(i, j) }));
        }
    }
    v
}

/// `panel[p * LANES + l] = a[i0 + l, p]` for `l < rows`, a's rows adjacent.
fn fill_panel(a: &Strided, i0: usize, rows: usize, k: usize, panel: &mut [f32]) {
    for (p, col) in panel.chunks_exact_mut(LANES).enumerate().take(k) {
        // SAFETY: column p of `a` has rows i0..i0 + rows, adjacent (product's caller's promise).
        let src = unsafe { std::slice::from_raw_parts(a.ptr.wrapping_offset(i0 as isize + p as isize * a.cs), rows) };
        col[..rows].copy_from_slice(src);
    }
}

/// `dst[m, n] = a @ b` through gemm, called as flex's batched matmul calls
/// it (dst row-major and not read, alpha 0, beta 1): the products
/// [`product`] does not take, and the reference its tests compare with.
///
/// SAFETY (caller's): as for [`product`].
pub(super) unsafe fn gemm_into(m: usize, n: usize, k: usize, dst: *mut f32, a: Strided, b: Strided, parallelism: gemm::Parallelism) {
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            false,
            a.ptr,
            a.cs,
            a.rs,
            b.ptr,
            b.cs,
            b.rs,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// gemm picks FMA kernels exactly when the CPU has FMA; without it its
/// products round twice, so they are left to it.
fn fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[i, j] = a[i,1]*b[1,j] + a[i,0]*b[0,j]` (or the one product for `k == 1`),
/// `rows` row-major `[k, n]`.
fn outer(m: usize, k: usize, n: usize, a: Strided, rows: &[f32], out: &mut [MaybeUninit<f32>]) {
    #[inline(always)]
    fn body(m: usize, k: usize, n: usize, a: Strided, rows: &[f32], out: &mut [MaybeUninit<f32>]) {
        let (b0, b1) = rows.split_at(n);
        for (i, o) in out.chunks_exact_mut(n).enumerate().take(m) {
            // SAFETY: (i, 0) and (i, k - 1) are inside `a` (product's caller's promise).
            let (a0, a1) = unsafe { (a.at(i, 0), a.at(i, k - 1)) };
            if k == 1 {
                o.iter_mut().zip(b0).for_each(|(o, &b)| {
                    o.write(a0 * b);
                });
            } else {
                o.iter_mut().zip(b0.iter().zip(b1)).for_each(|(o, (&x, &y))| {
                    o.write(a1 * y + a0 * x);
                });
            }
        }
    }
    with_fma!(body(m: usize, k: usize, n: usize, a: Strided, rows: &[f32], out: &mut [MaybeUninit<f32>]))
}

/// For up to [`LANES`] rows: `out[l, j]` = the FMA chain over `p` of
/// `panel(l, p) * rhs[p][j]`, from 0; `out` row-major `[rows, n]`; the
/// panel's LANES rows adjacent (`rs == 1`).
fn chains(n: usize, k: usize, panel: Strided, rhs: &[f32], out: &mut [MaybeUninit<f32>]) {
    match n {
        2 => chains_n::<2>(k, panel, rhs, out),
        3 => chains_n::<3>(k, panel, rhs, out),
        4 => chains_n::<4>(k, panel, rhs, out),
        5 => chains_n::<5>(k, panel, rhs, out),
        6 => chains_n::<6>(k, panel, rhs, out),
        7 => chains_n::<7>(k, panel, rhs, out),
        _ => chains_n::<8>(k, panel, rhs, out),
    }
}

fn chains_n<const N: usize>(k: usize, panel: Strided, rhs: &[f32], out: &mut [MaybeUninit<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F and FMA (checked here and by product).
        return unsafe { chains_avx512::<N>(k, panel, rhs, out) };
    }
    #[inline(always)]
    fn body<const N: usize>(k: usize, panel: Strided, rhs: &[f32], out: &mut [MaybeUninit<f32>]) {
        let mut acc = [[0.0f32; LANES]; N];
        for (p, b) in rhs.chunks_exact(N).enumerate().take(k) {
            // SAFETY: the panel's column p has LANES values (a block of a, or the copy).
            let col = unsafe { &*(panel.ptr.wrapping_offset(p as isize * panel.cs) as *const [f32; LANES]) };
            for (acc, &b) in acc.iter_mut().zip(b) {
                for (v, &x) in acc.iter_mut().zip(col) {
                    *v = x.mul_add(b, *v);
                }
            }
        }
        for (l, o) in out.chunks_exact_mut(N).enumerate() {
            for (j, o) in o.iter_mut().enumerate() {
                o.write(acc[j][l]);
            }
        }
    }
    with_fma!(body::<N>(k: usize, panel: Strided, rhs: &[f32], out: &mut [MaybeUninit<f32>]))
}

/// [`chains_n`] with the accumulators pinned in AVX-512 registers (the
/// portable form keeps them on the stack): the same FMAs in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn chains_avx512<const N: usize>(k: usize, panel: Strided, rhs: &[f32], out: &mut [MaybeUninit<f32>]) {
    use std::arch::x86_64::*;
    const V: usize = LANES / 16;
    let mut acc = [[_mm512_setzero_ps(); V]; N];
    for (p, b) in rhs.chunks_exact(N).enumerate().take(k) {
        let col = panel.ptr.wrapping_offset(p as isize * panel.cs);
        // SAFETY: the panel's column p has LANES values (a block of a, or the copy).
        let x: [__m512; V] = std::array::from_fn(|q| unsafe { _mm512_loadu_ps(col.add(16 * q)) });
        for (acc, &b) in acc.iter_mut().zip(b) {
            let b = _mm512_set1_ps(b);
            for (acc, &x) in acc.iter_mut().zip(&x) {
                *acc = _mm512_fmadd_ps(x, b, *acc);
            }
        }
    }
    let mut lanes = [[0.0f32; LANES]; N];
    for (dst, acc) in lanes.iter_mut().zip(&acc) {
        for (q, &v) in acc.iter().enumerate() {
            // SAFETY: dst has LANES = 16 * V values.
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr().add(16 * q), v) };
        }
    }
    for (l, o) in out.chunks_exact_mut(N).enumerate() {
        for (j, o) in o.iter_mut().enumerate() {
            o.write(lanes[j][l]);
        }
    }
}

#[cfg(test)]
mod tests;
