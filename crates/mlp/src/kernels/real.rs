//! The scalar types the engine computes in.

use super::dot::dot_lanes;
use num_traits::Float;

mod sealed {
    /// Only this crate implements [`super::Real`]: its `unsafe fn gemm_raw` hands raw pointers
    /// to the GEMM, and the safe [`fn@crate::kernels::gemm`] relies on every implementation
    /// honouring the documented contract exactly.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point scalar the engine can run on: `f32` (production) or `f64` (gradient checks).
///
/// `realfft::FftNum` lets spectral layers (FreTS) run real FFTs in the same generic code.
/// The trait is sealed (implemented for `f32` and `f64` only): the engine's safe `gemm`
/// passes raw pointers to [`Real::gemm_raw`], so an outside implementation could turn a safe
/// call into undefined behaviour.
pub trait Real:
    sealed::Sealed
    + Float
    + Default
    + Send
    + Sync
    + std::fmt::Debug
    + std::iter::Sum
    + realfft::FftNum
    + 'static
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
    /// `out[j] = dot(x, w[j*k..(j+1)*k])` for every `j < out.len()`, where `k = x.len()`: a
    /// row-major `out.len() x k` matrix times a vector. Each entry is bit-identical to
    /// [`Real::dot`] of that row (vectorized across rows for `f32`).
    fn dot_rows(x: &[Self], w: &[Self], out: &mut [Self]) {
        let k = x.len();
        for (j, o) in out.iter_mut().enumerate() {
            *o = Self::dot(x, &w[j * k..(j + 1) * k]);
        }
    }
    /// `C <- alpha * A * B + beta * C` on raw strided matrices (the BLAS contract), `A` being
    /// `m x k`, `B` `k x n` and `C` `m x n`; element `(i, j)` of a matrix `X` with strides
    /// `(rsx, csx)` is at `x.offset(i * rsx + j * csx)`. When `beta` is zero, `C` is only written.
    ///
    /// # Safety
    /// (`matrixmultiply`'s contract, which both implementations forward to.) For every index
    /// pair in range, the element address computed above must be in bounds of one live
    /// allocation (`a` and `b` readable, `c` readable and writable), each offset fitting in
    /// `isize`; distinct `(i, j)` of `C` must be distinct elements; `C` must not overlap `A` or
    /// `B`; and no other thread may access `C` (or write `A` or `B`) during the call. When
    /// `m`, `k` or `n` is zero, no element is accessed.
    // why: `matrixmultiply`'s raw strided contract (m, k, n, alpha, A with its strides, B with
    // its strides, beta, C with its strides), forwarded as is.
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
        super::dot::dot_f32(a, b)
    }
    fn dot_rows(x: &[f32], w: &[f32], out: &mut [f32]) {
        super::dot::dot_rows_f32(x, w, out)
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
        // SAFETY: our contract is `sgemm`'s, which the caller upholds.
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
        // SAFETY: our contract is `dgemm`'s, which the caller upholds.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}
