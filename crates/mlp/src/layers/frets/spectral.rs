//! The spectral kernel of [`super::Frets`]: the complex frequency MLP (forward and backward)
//! and the moves between a layer's real signals and their orthonormal spectra along one axis
//! (time or channel), with the FFT adjoints the backward needs. The layer itself (embedding,
//! learners, head, buffers) is in `frets/mod.rs`.

use super::SOFTSHRINK_LAMBDA;
use crate::kernels::fft::RealFft;
use crate::kernels::{Real, Transpose, gemm};
use realfft::num_complex::Complex;

/// One frequency MLP's parameters (`D x D` weights applied as `X W`, `D` biases).
#[derive(Debug, Clone, Copy)]
pub struct FrequencyWeights<'a, T> {
    /// Real part of the weight.
    pub wr: &'a [T],
    /// Imaginary part of the weight.
    pub wi: &'a [T],
    /// Real part of the bias.
    pub br: &'a [T],
    /// Imaginary part of the bias.
    pub bi: &'a [T],
}

/// Frequency MLP forward on `rows` spectrum rows of width `d`: `Y = X W + B` in complex
/// arithmetic, then (when `nonlinear`) `softshrink(ReLU(.), 0.01)` on both parts. `x` and `y` are
/// (real, imaginary) planes. Without the nonlinearity, `Wr = I`, `Wi = 0` and a zero bias give
/// `Y = X`.
pub fn frequency_mlp<T: Real>(
    (xr, xi): (&[T], &[T]),
    rows: usize,
    d: usize,
    w: FrequencyWeights<'_, T>,
    (yr, yi): (&mut [T], &mut [T]),
    nonlinear: bool,
) {
    let n = rows * d;
    let (yr, yi) = (&mut yr[..n], &mut yi[..n]);
    let mm = |a: &[T], b: &[T], alpha: T, beta: T, c: &mut [T]| {
        gemm(
            Transpose::No,
            Transpose::No,
            rows,
            d,
            d,
            alpha,
            a,
            b,
            beta,
            c,
        );
    };
    mm(xr, w.wr, T::one(), T::zero(), yr);
    mm(xi, w.wi, -T::one(), T::one(), yr);
    mm(xi, w.wr, T::one(), T::zero(), yi);
    mm(xr, w.wi, T::one(), T::one(), yi);
    let lambda = T::of(SOFTSHRINK_LAMBDA);
    for (y, b) in [(yr, w.br), (yi, w.bi)] {
        for row in y.chunks_exact_mut(d) {
            for (v, &bj) in row.iter_mut().zip(b) {
                let a = *v + bj;
                *v = if nonlinear {
                    softshrink(a.max(T::zero()), lambda)
                } else {
                    a
                };
            }
        }
    }
}

pub(super) fn softshrink<T: Real>(v: T, lambda: T) -> T {
    if v > lambda {
        v - lambda
    } else if v < -lambda {
        v + lambda
    } else {
        T::zero()
    }
}

/// Frequency MLP backward (every pair is (real, imaginary) planes). On entry `da` holds
/// `dL/dY`; it is masked in place into `dL/dA` with the forward output `y` (`Y > 0` where the
/// nonlinearity passes), the parameter gradients accumulate into
/// `d_params = [dWr, dWi, dBr, dBi]`, and the spectrum planes `x` are overwritten with `dL/dX`
/// (after the weight gradients have read them).
pub(super) fn frequency_mlp_backward<T: Real>(
    (xr, xi): (&mut [T], &mut [T]),
    (yr, yi): (&[T], &[T]),
    rows: usize,
    d: usize,
    w: FrequencyWeights<'_, T>,
    (dar, dai): (&mut [T], &mut [T]),
    d_params: &mut [T],
) {
    let n = rows * d;
    for (g, &y) in dar[..n].iter_mut().zip(&yr[..n]) {
        if y <= T::zero() {
            *g = T::zero();
        }
    }
    for (g, &y) in dai[..n].iter_mut().zip(&yi[..n]) {
        if y <= T::zero() {
            *g = T::zero();
        }
    }
    let (dar, dai) = (&dar[..n], &dai[..n]);
    let dd = d * d;
    let (d_wr, rest) = d_params.split_at_mut(dd);
    let (d_wi, rest) = rest.split_at_mut(dd);
    let (d_br, rest) = rest.split_at_mut(d);
    let d_bi = &mut rest[..d];
    // Weight gradients: X^T dA (d x rows times rows x d).
    let tn = |a: &[T], b: &[T], alpha: T, c: &mut [T]| {
        gemm(
            Transpose::Yes,
            Transpose::No,
            d,
            d,
            rows,
            alpha,
            a,
            b,
            T::one(),
            c,
        );
    };
    tn(xr, dar, T::one(), d_wr);
    tn(xi, dai, T::one(), d_wr);
    tn(xr, dai, T::one(), d_wi);
    tn(xi, dar, -T::one(), d_wi);
    crate::kernels::elementwise::add_column_sums(d_br, dar, d);
    crate::kernels::elementwise::add_column_sums(d_bi, dai, d);
    // Input gradients: dA W^T (rows x d times d x d), over the spent X planes.
    let nt = |a: &[T], b: &[T], alpha: T, beta: T, c: &mut [T]| {
        gemm(
            Transpose::No,
            Transpose::Yes,
            rows,
            d,
            d,
            alpha,
            a,
            b,
            beta,
            c,
        );
    };
    nt(dar, w.wr, T::one(), T::zero(), &mut xr[..n]);
    nt(dai, w.wi, T::one(), T::one(), &mut xr[..n]);
    nt(dai, w.wr, T::one(), T::zero(), &mut xi[..n]);
    nt(dar, w.wi, -T::one(), T::one(), &mut xi[..n]);
}

/// A strided family of 1-D signals inside a `batch x C x W x D` tensor: signal `s` of `count`
/// has its element `j` at `offset(s) + j * stride`. Signals are numbered
/// `s = (outer * inner_count + inner) * d + col`: the temporal axis has one inner group per
/// (sample, channel) as outer index; the channel axis has `W` inner groups (time steps) per
/// sample. Group `s / d` owns spectrum rows `(s / d) * bins + k`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Axis {
    /// Number of signals.
    pub(super) count: usize,
    /// Signal length.
    pub(super) len: usize,
    /// Distance between consecutive elements of one signal.
    pub(super) stride: usize,
    /// `D`: signals come in groups of `D` (one per embedding coordinate `col`).
    pub(super) d: usize,
    /// Distance between the first elements of consecutive outer indices.
    pub(super) outer: usize,
    /// Groups per outer index.
    pub(super) inner_count: usize,
    /// Distance between the first elements of consecutive inner groups.
    pub(super) inner_stride: usize,
}

impl Axis {
    /// Offset of signal `s`'s first element.
    pub(super) fn offset(&self, s: usize) -> usize {
        let col = s % self.d;
        let g = s / self.d;
        let (o, i) = (g / self.inner_count, g % self.inner_count);
        o * self.outer + i * self.inner_stride + col
    }
}

/// Work buffers for the per-signal transforms.
pub(super) struct FftWork<'a, T: Real> {
    pub(super) real: &'a mut [T],
    pub(super) spec: &'a mut [Complex<T>],
    pub(super) scratch: &'a mut [Complex<T>],
}

/// One learner's spectral pass: forward rFFT of every signal on `axis` of `src` into spectrum
/// rows (`row = group * bins + k`, column `j`), in separate real and imaginary planes.
pub(super) fn spectra_of<T: Real>(
    plan: &RealFft<T>,
    axis: Axis,
    src: &[T],
    sr: &mut [T],
    si: &mut [T],
    work: &mut FftWork<'_, T>,
) {
    let bins = plan.bins();
    let d = axis.d;
    for s in 0..axis.count {
        let base = axis.offset(s);
        for (j, v) in work.real[..axis.len].iter_mut().enumerate() {
            *v = src[base + j * axis.stride];
        }
        plan.forward(work.real, work.spec, work.scratch);
        let (g, col) = (s / d, s % d);
        for (k, c) in work.spec[..bins].iter().enumerate() {
            let at = (g * bins + k) * d + col;
            sr[at] = c.re;
            si[at] = c.im;
        }
    }
}

/// The inverse of [`spectra_of`]: irFFT every signal's spectrum rows and write the result along
/// `axis` of `dst`. `weight_paired` scales the paired bins first (1 for the inverse itself, 1/2
/// for the adjoint of the forward transform).
pub(super) fn signals_of<T: Real>(
    plan: &RealFft<T>,
    axis: Axis,
    sr: &[T],
    si: &[T],
    weight_paired: T,
    dst: &mut [T],
    work: &mut FftWork<'_, T>,
) {
    let bins = plan.bins();
    let d = axis.d;
    for s in 0..axis.count {
        let (g, col) = (s / d, s % d);
        for (k, c) in work.spec[..bins].iter_mut().enumerate() {
            let at = (g * bins + k) * d + col;
            let w = if plan.is_paired(k) {
                weight_paired
            } else {
                T::one()
            };
            *c = Complex::new(sr[at] * w, si[at] * w);
        }
        plan.inverse(work.spec, work.real, work.scratch);
        let base = axis.offset(s);
        for (j, &v) in work.real[..axis.len].iter().enumerate() {
            dst[base + j * axis.stride] = v;
        }
    }
}

/// Adjoint of [`signals_of`] with unit weights (irFFT): rFFT every signal on `axis` of `src`,
/// double the paired bins, and write the spectrum rows.
pub(super) fn adjoint_of_inverse<T: Real>(
    plan: &RealFft<T>,
    axis: Axis,
    src: &[T],
    sr: &mut [T],
    si: &mut [T],
    work: &mut FftWork<'_, T>,
) {
    spectra_of(plan, axis, src, sr, si, work);
    let bins = plan.bins();
    let two = T::of(2.0);
    for g in 0..axis.count / axis.d {
        for k in (0..bins).filter(|&k| plan.is_paired(k)) {
            let row = (g * bins + k) * axis.d;
            for v in &mut sr[row..row + axis.d] {
                *v = *v * two;
            }
            for v in &mut si[row..row + axis.d] {
                *v = *v * two;
            }
        }
    }
}
