//! Performance probes: how fast the engine's matrix product runs on this machine, and which
//! vector code path its kernels took.
//!
//! The kernels themselves are engine internals (their signatures change with the engine); these
//! two questions are what a benchmark needs from them (`mlp bench` compares its training time
//! with the GEMM rate measured here).
//!
//! ```
//! use mlp::perf::{Transpose, gemm_gflops, simd_path, simd_report};
//! let rate = gemm_gflops(Transpose::No, Transpose::Yes, 32, 32, 32).unwrap();
//! assert!(rate > 0.0);
//! assert!(["portable", "avx2", "avx512"].contains(&simd_path()));
//! assert!(simd_report().starts_with("simd path: "));
//! ```

use crate::{Error, Result};
use std::time::Instant;

/// Whether a GEMM operand is read as stored or transposed.
pub use crate::kernels::Transpose;

/// Runs of the product timed by [`gemm_gflops`]; the fastest counts.
const RUNS: usize = 5;
/// Products per timed run (one product of a small shape is too short to time alone).
const REPS: usize = 3;

/// GFLOP/s of the engine's `f32` matrix product `C (m x n) = op(A) (m x k) * op(B) (k x n)` on
/// this machine: the best of several timed runs, on the current rayon pool (call it inside
/// `ThreadPool::install` to measure a given thread count), so the rate is the one training at
/// that thread count gets for this shape. `2 m n k` floating-point operations per product.
///
/// An error if a matrix of the shape would not fit in memory's address space; a zero-sized
/// shape measures nothing and gives 0.
pub fn gemm_gflops(ta: Transpose, tb: Transpose, m: usize, n: usize, k: usize) -> Result<f64> {
    let len = |a: usize, b: usize, what: &str| {
        a.checked_mul(b)
            .filter(|&l| l <= isize::MAX as usize / std::mem::size_of::<f32>())
            .ok_or_else(|| {
                Error::shape(
                    "gemm_gflops",
                    "matrices that fit in memory",
                    format!("{what} of {a} x {b} values"),
                )
            })
    };
    let (la, lb, lc) = (len(m, k, "A")?, len(k, n, "B")?, len(m, n, "C")?);
    if la == 0 || lb == 0 || lc == 0 {
        return Ok(0.0);
    }
    let a = vec![0.5f32; la];
    let b = vec![0.25f32; lb];
    let mut c = vec![0.0f32; lc];
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        for _ in 0..REPS {
            crate::kernels::gemm(ta, tb, m, n, k, 1.0, &a, &b, 0.0, &mut c);
        }
        best = best.min(t0.elapsed().as_secs_f64() / REPS as f64);
    }
    std::hint::black_box(&c);
    // A product too fast for the clock still did its work: report it as one tick.
    let seconds = best.max(1e-9);
    Ok(2.0 * m as f64 * n as f64 * k as f64 / seconds / 1e9)
}

/// The vector code path the kernels take on this CPU: `portable`, `avx2` or `avx512` (detected
/// once per process, then cached).
pub fn simd_path() -> &'static str {
    crate::kernels::simd::path().name()
}

/// One line naming the vector code path and the CPU features behind it, e.g.
/// `simd path: avx2 (avx2 yes; avx512f no, avx512vl no, avx512bw no, avx512dq no)`, for logs.
pub fn simd_report() -> String {
    crate::kernels::simd::report()
}

/// The code path of the bf16 products of mixed-precision training (`--precision bf16`) on this
/// CPU: `portable`, `avx2` or `avx512bf16` (detected once per process, then cached).
pub fn bf16_path() -> &'static str {
    crate::kernels::bf16::path().name()
}

/// The peak rate of the bf16 path's core instruction on one core of this machine: its name
/// (`vfmadd231ps ymm` on AVX2, `vdpbf16ps zmm` on AVX-512 BF16, a scalar FMA otherwise), the
/// multiply-adds one instruction performs, and the multiply-adds per second a loop of independent
/// instructions reaches (best of a few rounds, about `millis` ms in all). The ceiling against
/// which [`bf16_product_macs_per_second`] and a bf16 training run are a fraction.
pub fn bf16_peak(millis: u64) -> (&'static str, usize, f64) {
    use crate::kernels::bf16;
    let path = bf16::path();
    let rate = bf16::peak_macs_per_second(path, millis).unwrap_or(0.0);
    (path.instruction(), path.macs_per_instruction(), rate)
}

/// Multiply-adds per second of the bf16 product `C (m x n) = A (m x k) B^T` (both operands
/// already packed, as weights are during training) on this CPU's bf16 path and the current
/// rayon pool: the best of several timed runs. A zero-sized shape measures nothing and gives 0.
///
/// An error if a matrix of the shape would not fit in memory's address space.
pub fn bf16_product_macs_per_second(m: usize, n: usize, k: usize) -> Result<f64> {
    use crate::kernels::bf16::{PackedRows, product};
    let fits = |a: usize, b: usize| {
        a.checked_mul(b)
            .filter(|&l| l <= isize::MAX as usize / std::mem::size_of::<f32>())
            .ok_or_else(|| {
                Error::shape(
                    "bf16_product_macs_per_second",
                    "matrices that fit in memory",
                    format!("{a} x {b} values"),
                )
            })
    };
    let (la, lb, lc) = (fits(m, k)?, fits(n, k)?, fits(m, n)?);
    if la == 0 || lb == 0 || lc == 0 {
        return Ok(0.0);
    }
    let a = PackedRows::from_f32(Transpose::No, m, k, &vec![0.5f32; la]);
    let b = PackedRows::from_f32(Transpose::No, n, k, &vec![0.25f32; lb]);
    let mut c = vec![0.0f32; lc];
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        for _ in 0..REPS {
            product(&a, &b, &mut c, false);
        }
        best = best.min(t0.elapsed().as_secs_f64() / REPS as f64);
    }
    std::hint::black_box(&c);
    Ok(m as f64 * n as f64 * k as f64 / best.max(1e-9))
}
