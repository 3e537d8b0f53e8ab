use super::*;

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Some exact zeros and negative zeros: the sign of a zero sum is part of the bits.
            match i % 29 {
                3 => 0.0,
                11 => -0.0,
                _ => ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0,
            }
        })
        .collect()
}

/// `a[m, k] @ b[k, n]` through gemm as `fused::matmul` calls it.
fn by_gemm(m: usize, n: usize, k: usize, a: Strided, b: Strided) -> Vec<f32> {
    let mut out = vec![f32::NAN; m * n];
    // SAFETY: the operands cover (m, k) and (k, n) at their strides; out has m*n values.
    unsafe { gemm_into(m, n, k, out.as_mut_ptr(), a, b, gemm::Parallelism::None) };
    out
}

/// A `rows x cols` operand over `data`, row-major or stored transposed.
fn operand(data: &[f32], rows: usize, cols: usize, transposed: bool) -> Strided {
    let (rs, cs) = if transposed { (1, rows as isize) } else { (cols as isize, 1) };
    assert!(data.len() >= rows * cols);
    Strided { ptr: data.as_ptr(), rs, cs }
}

#[test]
fn thin_products_have_gemms_bits_on_every_route_and_layout() {
    if !fma_available() {
        return;
    }
    let (mut taken, mut checked) = (0, 0);
    for m in [1, 2, 3, 16, 63, 64, 65, 130, 256] {
        for n in 1..=9 {
            for k in [1, 2, 3, 4, 7, 64, 256, 512, 513] {
                let (a_data, b_data) = (values(m * k, (m * 31 + k) as u64), values(k * n, (n * 17 + k) as u64));
                for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                    let (a, b) = (operand(&a_data, m, k, a_t), operand(&b_data, k, n, b_t));
                    let want = by_gemm(m, n, k, a, b);
                    let mut got = vec![f32::NAN; m * n];
                    // SAFETY: as for by_gemm.
                    if unsafe { product(m, n, k, got.as_mut_ptr(), a, b) } {
                        taken += 1;
                        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                            assert_eq!(g.to_bits(), w.to_bits(), "[{m}x{k}]@[{k}x{n}] a_t={a_t} b_t={b_t} at {i}: {g} vs {w}");
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(taken > checked / 4, "only {taken} of {checked} products were taken over");
}

#[test]
fn the_output_layers_products_are_taken_over() {
    if !fma_available() {
        return;
    }
    let (x, w, g) = (values(256 * 64, 1), values(64 * 2, 2), values(256 * 2, 3));
    let mut out = vec![0.0f32; 256 * 64];
    // SAFETY: each operand covers its shape; out has room for the largest product.
    unsafe {
        // The forward x[256, 64] @ W[64, 2] stays with gemm (x's rows are not adjacent).
        assert!(!product(256, 2, 64, out.as_mut_ptr(), operand(&x, 256, 64, false), operand(&w, 64, 2, false)));
        // W's gradient: x^T[64, 256] @ g[256, 2].
        assert!(product(64, 2, 256, out.as_mut_ptr(), operand(&x, 64, 256, true), operand(&g, 256, 2, false)));
        // The input's gradient: g[256, 2] @ W^T[2, 64].
        assert!(product(256, 64, 2, out.as_mut_ptr(), operand(&g, 256, 2, false), operand(&w, 2, 64, true)));
        // A hidden layer stays with gemm.
        assert!(!product(256, 64, 64, out.as_mut_ptr(), operand(&x, 256, 64, false), operand(&x, 64, 64, false)));
    }
}
