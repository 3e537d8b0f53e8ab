//! The machine's own FP32 ceiling, for `bench`: the FMA peak (a register-blocked loop of
//! independent fused multiply-adds, on one core and on every core at once) and the best
//! sgemm this build has (the `gemm` crate burn's CPU backend calls) at the networks' shapes.
//! A training job's GFLOP/s is then a fraction of what the CPU can do, not of burn's own rate.

use std::time::Instant;

/// The FMA peak on one core and on all of them, and the instructions that reached it.
pub struct Peak {
    pub isa: &'static str,
    pub one_core_gflops: f64,
    pub all_cores_gflops: f64,
    pub cores: usize,
}

impl Peak {
    /// The line every bench prints it as.
    pub fn describe(&self) -> String {
        format!(
            "CPU FP32 ceiling: FMA peak {:.0} GFLOP/s on one core, {:.0} on all {} cores ({}, register-blocked independent FMAs)",
            self.one_core_gflops, self.all_cores_gflops, self.cores, self.isa
        )
    }
}

/// Shapes of the small dense layers RL trains: (rows of the batch, inputs, outputs).
pub const SGEMM_SHAPES: [(usize, usize, usize); 4] = [(64, 64, 64), (256, 64, 64), (64, 256, 256), (256, 256, 256)];

/// Measures the FMA peak (about a second in all).
pub fn fma_peak() -> Peak {
    let (isa, kernel) = kernel();
    // Calibrate to about 0.3 s on one core.
    let (mut iters, mut secs) = (1u64 << 16, 0.0);
    while secs < 0.05 && iters < 1 << 40 {
        iters *= 4;
        secs = timed(|| kernel(iters));
    }
    let iters = ((iters as f64) * 0.3 / secs).max(1.0) as u64;
    let flops = iters as f64 * FLOPS_PER_ITER[isa_index(isa)];
    let one = (0..3).map(|_| flops / timed(|| kernel(iters))).fold(0.0, f64::max);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let all = (0..2)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..cores {
                    s.spawn(|| std::hint::black_box(kernel(iters)));
                }
            });
            flops * cores as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max);
    Peak { isa, one_core_gflops: one / 1e9, all_cores_gflops: all / 1e9, cores }
}

/// GFLOP/s of one-threaded sgemm (`gemm` crate, row-major, C = A·B) at `(m, k, n)`: the
/// best of several timed batches.
pub fn sgemm_gflops(m: usize, k: usize, n: usize) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; m * n];
    let mut once = || sgemm(&a, &b, &mut c, m, k, n);
    let flops = 2.0 * (m * k * n) as f64;
    let reps = ((2e7 / flops) as usize).max(1);
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                once();
            }
            flops * reps as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max);
    std::hint::black_box(&c);
    best / 1e9
}

/// C = A·B, row-major, one thread (the `gemm` crate's kernels for this CPU).
fn sgemm(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n, "sgemm shapes");
    // SAFETY: the lengths are checked above; all three are row-major and alive for the call.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Prints the ceiling; returns the FMA peak for the jobs' fractions.
pub fn print_ceiling() -> Peak {
    let p = fma_peak();
    println!("{}", p.describe());
    let rates: Vec<String> = SGEMM_SHAPES
        .iter()
        .map(|&(m, k, n)| {
            let g = sgemm_gflops(m, k, n);
            format!("{m}x{k}x{n} {g:.0} ({:.0}%)", 100.0 * g / p.one_core_gflops)
        })
        .collect();
    println!("  best sgemm on one core (gemm crate, as burn's CPU backend calls it), GFLOP/s (% of the FMA peak): {}", rates.join(", "));
    p
}

const FLOPS_PER_ITER: [f64; 3] = [
    (AVX512_ACC * 16 * 2) as f64, // 16 lanes, multiply + add
    (AVX2_ACC * 8 * 2) as f64,
    (PORTABLE_ACC * 2) as f64,
];

fn isa_index(isa: &str) -> usize {
    match isa {
        "AVX-512" => 0,
        "AVX2+FMA" => 1,
        _ => 2,
    }
}

fn timed(f: impl FnOnce() -> f32) -> f64 {
    let t = Instant::now();
    std::hint::black_box(f());
    t.elapsed().as_secs_f64()
}

/// The widest FMA loop this CPU runs, picked at run time.
fn kernel() -> (&'static str, fn(u64) -> f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return ("AVX-512", |n| unsafe { x86::fma_avx512(n) });
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return ("AVX2+FMA", |n| unsafe { x86::fma_avx2(n) });
        }
    }
    ("portable scalar", fma_portable)
}

/// Enough independent accumulators to cover the FMA latency on every issue port.
const AVX512_ACC: usize = 16;
const AVX2_ACC: usize = 12;
const PORTABLE_ACC: usize = 8;

/// A contracting recurrence (x·a + b with a < 1, from X0) stays finite and never denormal.
/// The loops read them through `black_box`, so the compiler cannot fold the recurrence.
const A: f32 = 0.999_999;
const B: f32 = 1e-6;
const X0: f32 = 0.5;

fn fma_portable(iters: u64) -> f32 {
    let (a, b) = (std::hint::black_box(A), std::hint::black_box(B));
    let mut acc = [std::hint::black_box(X0); PORTABLE_ACC];
    for _ in 0..iters {
        for x in &mut acc {
            *x = x.mul_add(a, b);
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{A, AVX2_ACC, AVX512_ACC, B, X0};
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(iters: u64) -> f32 {
        let (a, b) = (_mm512_set1_ps(black_box(A)), _mm512_set1_ps(black_box(B)));
        let mut acc = [_mm512_set1_ps(black_box(X0)); AVX512_ACC];
        for _ in 0..iters {
            for x in &mut acc {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for x in acc {
            s = _mm512_add_ps(s, x);
        }
        _mm512_reduce_add_ps(s)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iters: u64) -> f32 {
        let (a, b) = (_mm256_set1_ps(black_box(A)), _mm256_set1_ps(black_box(B)));
        let mut acc = [_mm256_set1_ps(black_box(X0)); AVX2_ACC];
        for _ in 0..iters {
            for x in &mut acc {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        let mut s = _mm256_setzero_ps();
        for x in acc {
            s = _mm256_add_ps(s, x);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds the 8 floats stored.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_compute_the_recurrence_they_count() {
        // Each lane runs x <- x·A + B from 1.0; the sum over lanes is what the loops return.
        let (isa, kernel) = kernel();
        let mut x = X0;
        for _ in 0..1000 {
            x = x.mul_add(A, B);
        }
        assert!(x > X0 + 1e-4, "the recurrence moves ({x}), so no loop can be folded away");
        let lanes = FLOPS_PER_ITER[isa_index(isa)] / 2.0;
        let got = kernel(1000);
        assert!((got - x * lanes as f32).abs() < 1e-3 * lanes as f32, "{isa}: {got} vs {}", x * lanes as f32);
        assert!((fma_portable(1000) - x * PORTABLE_ACC as f32).abs() < 1e-3);
    }

    #[test]
    fn sgemm_multiplies_row_major() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..k * n).map(|i| 1.0 - i as f32 * 0.5).collect();
        let mut c = vec![0.0; m * n];
        sgemm(&a, &b, &mut c, m, k, n);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
                assert_eq!(c[i * n + j], want, "({i}, {j})");
            }
        }
        assert!(sgemm_gflops(8, 8, 8) > 0.0);
    }
}
