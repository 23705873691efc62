//! The scalar types the engine computes in.

use num_traits::Float;

/// A floating-point scalar the engine can run on: `f32` (production) or `f64` (gradient checks).
///
/// `realfft::FftNum` lets spectral layers (FreTS) run real FFTs in the same generic code.
pub trait Real:
    Float + Default + Send + Sync + std::fmt::Debug + std::iter::Sum + realfft::FftNum + 'static
{
    /// Converts from `f64` (rounding for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64`.
    fn to_f64_lossless(self) -> f64;
    /// `x = tanh(x)` over a slice (vectorized for `f32`).
    fn tanh_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = x.tanh();
        }
    }
    /// `x = sigmoid(x)` over a slice (vectorized for `f32`).
    fn sigmoid_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = crate::kernels::elementwise::sigmoid(*x);
        }
    }
    /// Dot product of two equal-length slices (32 interleaved partial sums; the summation order
    /// is fixed, so results are identical on every CPU).
    fn dot(a: &[Self], b: &[Self]) -> Self {
        dot_lanes(a, b)
    }
    /// `C <- alpha * A * B + beta * C` on raw strided matrices (the BLAS contract).
    ///
    /// # Safety
    /// The pointers and strides must describe valid, non-overlapping (for `c`) matrices of the
    /// given sizes.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

/// Independent partial sums in [`Real::dot`]: four 8-wide vector accumulators, enough to hide the
/// add latency (one accumulator would serialize every add).
const DOT_LANES: usize = 32;

/// The portable dot product: `DOT_LANES` partial sums, combined in a fixed tree at the end.
#[inline(always)]
fn dot_lanes<T: Float + Default>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::zero(); DOT_LANES];
    let mut ca = a.chunks_exact(DOT_LANES);
    let mut cb = b.chunks_exact(DOT_LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..DOT_LANES {
            acc[i] = acc[i] + x[i] * y[i];
        }
    }
    let mut tail = T::zero();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail = tail + *x * *y;
    }
    reduce_lanes(acc) + tail
}

/// Sums the partial sums in a fixed tree (halving the width each round).
#[inline(always)]
fn reduce_lanes<T: Float>(mut acc: [T; DOT_LANES]) -> T {
    let mut width = DOT_LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] = acc[i] + acc[i + width];
        }
    }
    acc[0]
}

/// AVX2 twin of [`dot_lanes`] for `f32`: the same 32 partial sums in four 8-wide registers,
/// multiplied and added separately (no FMA), so it is bit-identical to the portable version.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let chunks = n / DOT_LANES;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // SAFETY: every load reads 8 floats inside the first `chunks * 32` elements of both slices.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        for c in 0..chunks {
            let base = c * DOT_LANES;
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_ps(pa.add(base + 8 * r));
                let y = _mm256_loadu_ps(pb.add(base + 8 * r));
                *acc_r = _mm256_add_ps(*acc_r, _mm256_mul_ps(x, y));
            }
        }
        let mut lanes = [0.0f32; DOT_LANES];
        for (r, acc_r) in acc.iter().enumerate() {
            _mm256_storeu_ps(lanes.as_mut_ptr().add(8 * r), *acc_r);
        }
        let mut tail = 0.0f32;
        for i in chunks * DOT_LANES..n {
            tail += a[i] * b[i];
        }
        reduce_lanes(lanes) + tail
    }
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn tanh_in_place(xs: &mut [f32]) {
        super::fast_math::tanh_slice(xs)
    }
    fn sigmoid_in_place(xs: &mut [f32]) {
        super::fast_math::sigmoid_slice(xs)
    }
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked above); the function only reads slices.
                return unsafe { dot_f32_avx2(a, b) };
            }
        }
        dot_lanes(a, b)
    }
    fn to_f64_lossless(self) -> f64 {
        self as f64
    }
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn to_f64_lossless(self) -> f64 {
        self
    }
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded contract.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_and_portable_dot_agree_bit_for_bit() {
        let a: Vec<f32> = (0..1003)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let b: Vec<f32> = (0..1003)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 11.0)
            .collect();
        for len in [0, 1, 7, 8, 9, 64, 1003] {
            let fast = <f32 as Real>::dot(&a[..len], &b[..len]);
            let portable = dot_lanes(&a[..len], &b[..len]);
            assert_eq!(fast.to_bits(), portable.to_bits(), "len {len}");
            let exact: f64 = a[..len]
                .iter()
                .zip(&b[..len])
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum();
            assert!((fast as f64 - exact).abs() < 1e-3, "len {len}");
        }
    }
}
