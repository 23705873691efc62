//! Real FFTs with orthonormal scaling (`numpy`/`torch` `norm="ortho"`), and their adjoints.
//!
//! For a real signal `x` of length `n`, [`RealFft::forward`] returns the half spectrum
//! `X_k = n^{-1/2} sum_t x_t e^{-2 pi i k t / n}`, `k = 0..=n/2`, and [`RealFft::inverse`] maps a
//! half spectrum back to a real signal of length `n`:
//! `y_t = n^{-1/2} (Y_0 + sum_{0<k<n/2} 2 Re(Y_k e^{2 pi i k t / n}) + [n even] Y_{n/2} (-1)^t)`,
//! the imaginary parts of bins 0 and `n/2` (even `n`) being ignored, as `irfft` does.
//!
//! Gradients. Because only the half spectrum is kept, neither map is unitary on the half
//! spectrum, and the adjoints differ from the inverses by the weight of the bins that stand for
//! a conjugate pair (`0 < k < n/2`, the "middle" bins); bin 0 and the Nyquist bin stand for
//! themselves:
//! - adjoint of the forward transform: halve the middle bins, then [`RealFft::inverse`];
//! - adjoint of the inverse transform: [`RealFft::forward`], then double the middle bins.
//!
//! Plans are built once per length ([`PlanCache`]) and every transform runs on caller-provided
//! buffers, so the training path does not allocate.

use super::Real;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::{Arc, OnceLock};

/// A forward/inverse real FFT pair of one length.
#[derive(Clone)]
pub struct RealFft<T: Real> {
    n: usize,
    forward: Arc<dyn RealToComplex<T>>,
    inverse: Arc<dyn ComplexToReal<T>>,
    scale: T,
}

impl<T: Real> std::fmt::Debug for RealFft<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RealFft(n = {})", self.n)
    }
}

impl<T: Real> RealFft<T> {
    /// Plans both directions for signals of length `n` (at least 1).
    pub fn new(n: usize) -> Self {
        let mut planner = RealFftPlanner::<T>::new();
        RealFft {
            n,
            forward: planner.plan_fft_forward(n),
            inverse: planner.plan_fft_inverse(n),
            scale: T::one() / T::of(n as f64).sqrt(),
        }
    }

    /// Number of bins of the half spectrum, `n / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// Scratch length (complex values) the transforms need.
    pub fn scratch_len(&self) -> usize {
        self.forward
            .get_scratch_len()
            .max(self.inverse.get_scratch_len())
    }

    /// Whether bin `k` stands for a conjugate pair (counted twice in the inverse).
    pub fn is_paired(&self, k: usize) -> bool {
        k > 0 && 2 * k < self.n
    }

    /// Orthonormal rFFT: `spectrum` (`bins()`) from `signal` (`len()`, destroyed).
    pub fn forward(
        &self,
        signal: &mut [T],
        spectrum: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let done = self.forward.process_with_scratch(
            &mut signal[..self.n],
            &mut spectrum[..self.n / 2 + 1],
            scratch,
        );
        // Lengths are fixed by the plan and the layer's buffer layout: an error is a bug here.
        assert!(done.is_ok(), "rfft buffer lengths: {done:?}");
        for v in &mut spectrum[..self.n / 2 + 1] {
            *v = *v * self.scale;
        }
    }

    /// Orthonormal irFFT: `signal` (`len()`) from `spectrum` (`bins()`, destroyed). The imaginary
    /// parts of bin 0 and (even `n`) the Nyquist bin are ignored.
    pub fn inverse(
        &self,
        spectrum: &mut [Complex<T>],
        signal: &mut [T],
        scratch: &mut [Complex<T>],
    ) {
        let bins = self.n / 2 + 1;
        spectrum[0].im = T::zero();
        if self.n.is_multiple_of(2) {
            spectrum[bins - 1].im = T::zero();
        }
        let done = self.inverse.process_with_scratch(
            &mut spectrum[..bins],
            &mut signal[..self.n],
            scratch,
        );
        assert!(done.is_ok(), "irfft buffer lengths: {done:?}");
        for v in &mut signal[..self.n] {
            *v = *v * self.scale;
        }
    }
}

/// Plans for one signal length in both scalar types, built on first use and shared by clones.
///
/// Compares equal to every cache of the same length and prints as its length only, so a layer
/// holding one stays `PartialEq + Debug` on its configuration alone.
#[derive(Clone, Default)]
pub struct PlanCache {
    n: usize,
    plans: Arc<TypedPlans>,
}

#[derive(Default)]
struct TypedPlans {
    f32: OnceLock<RealFft<f32>>,
    f64: OnceLock<RealFft<f64>>,
}

impl PlanCache {
    /// An empty cache for signals of length `n`.
    pub fn new(n: usize) -> Self {
        PlanCache {
            n,
            ..PlanCache::default()
        }
    }

    /// The plans for `T` (planned on the first call for that type).
    pub fn get<T: Real>(&self) -> std::borrow::Cow<'_, RealFft<T>> {
        use std::any::Any;
        let n = self.n;
        if let Some(cell) = (&self.plans.f32 as &dyn Any).downcast_ref::<OnceLock<RealFft<T>>>() {
            return std::borrow::Cow::Borrowed(cell.get_or_init(|| RealFft::new(n)));
        }
        if let Some(cell) = (&self.plans.f64 as &dyn Any).downcast_ref::<OnceLock<RealFft<T>>>() {
            return std::borrow::Cow::Borrowed(cell.get_or_init(|| RealFft::new(n)));
        }
        // A scalar type other than f32/f64: plan per call (slow, but correct).
        std::borrow::Cow::Owned(RealFft::new(n))
    }

    /// Scratch (complex values) either scalar type's plans need.
    pub fn scratch_len(&self) -> usize {
        self.get::<f32>()
            .scratch_len()
            .max(self.get::<f64>().scratch_len())
    }
}

impl std::fmt::Debug for PlanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlanCache(n = {})", self.n)
    }
}

impl PartialEq for PlanCache {
    /// Plans are derived state: two caches of the same length are interchangeable.
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
    }
}

/// Views an even-length real buffer as complex numbers (`re, im` interleaved).
pub fn as_complex<T: Real>(buf: &mut [T]) -> &mut [Complex<T>] {
    let len = buf.len() / 2;
    // SAFETY: `Complex<T>` is `#[repr(C)]` with two `T` fields, so it has `T`'s alignment and
    // twice its size; the first `2 * len` elements of `buf` are valid, initialized `T`s, and the
    // returned slice borrows `buf` mutably for its whole lifetime.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<Complex<T>>(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(n: usize) -> f64 {
        let plan = RealFft::<f64>::new(n);
        let x: Vec<f64> = (0..n).map(|t| ((t * 7 + 3) % 11) as f64 - 4.5).collect();
        let mut signal = x.clone();
        let mut spec = vec![Complex::new(0.0, 0.0); plan.bins()];
        let mut scratch = vec![Complex::new(0.0, 0.0); plan.scratch_len()];
        plan.forward(&mut signal, &mut spec, &mut scratch);
        let mut back = vec![0.0; n];
        plan.inverse(&mut spec, &mut back, &mut scratch);
        x.iter()
            .zip(&back)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn rfft_then_irfft_reproduces_the_signal_for_odd_and_even_lengths() {
        // (The long lengths natively only: planning and running them is slow under Miri.)
        let long = if cfg!(miri) { 0 } else { 2 };
        for n in [1, 2, 3, 7, 8, 24]
            .into_iter()
            .chain([96, 97].into_iter().take(long))
        {
            let err = round_trip(n);
            assert!(err < 1e-6, "n = {n}: max error {err}");
        }
        // f32 too (the production type), to a looser bound.
        let plan = RealFft::<f32>::new(15);
        let x: Vec<f32> = (0..15).map(|t| (t as f32 * 0.37).sin()).collect();
        let mut s = x.clone();
        let mut spec = vec![Complex::new(0.0f32, 0.0); plan.bins()];
        let mut scratch = vec![Complex::new(0.0f32, 0.0); plan.scratch_len()];
        plan.forward(&mut s, &mut spec, &mut scratch);
        let mut back = vec![0.0f32; 15];
        plan.inverse(&mut spec, &mut back, &mut scratch);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn forward_is_orthonormal_and_matches_the_direct_sum() {
        let n = 6;
        let plan = RealFft::<f64>::new(n);
        let x = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0];
        let mut s = x.to_vec();
        let mut spec = vec![Complex::new(0.0, 0.0); plan.bins()];
        let mut scratch = vec![Complex::new(0.0, 0.0); plan.scratch_len()];
        plan.forward(&mut s, &mut spec, &mut scratch);
        for (k, got) in spec.iter().enumerate() {
            let (mut re, mut im) = (0.0, 0.0);
            for (t, &v) in x.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                re += v * a.cos();
                im += v * a.sin();
            }
            let s = 1.0 / (n as f64).sqrt();
            assert!((got.re - re * s).abs() < 1e-12 && (got.im - im * s).abs() < 1e-12);
        }
    }

    #[test]
    fn caches_compare_by_length_and_reuse_plans() {
        let a = PlanCache::new(12);
        let b = a.clone();
        assert_eq!(a, b);
        assert_ne!(a, PlanCache::new(13));
        assert_eq!(a.get::<f32>().bins(), 7);
        assert!(matches!(a.get::<f64>(), std::borrow::Cow::Borrowed(_)));
    }
}
