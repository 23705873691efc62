//! Vectorizable `f32` transcendental functions for the activation passes.
//!
//! Calls to libm's `tanhf` cannot be vectorized, and on small networks (W2: 8-64-64-1) the
//! activations then cost more than the matrix products. These are branch-free polynomial forms
//! (the Cephes `expf`/`tanhf` coefficients) that the compiler vectorizes; the AVX2 build of each
//! slice function is chosen at run time, with the portable build as the always-tested fallback.
//! Accuracy: within 3e-7 absolute of `f32::tanh` (tested below over [-20, 20]).

const LOG2E: f32 = std::f32::consts::LOG2_E;

/// `e^x` for `x` in about [-87, 88] (clamped outside), Cephes `expf` polynomial.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes coefficients as published
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let fx = (x * LOG2E + 0.5).floor();
    let r = x - fx * 0.693_359_4 - fx * -2.121_944_4e-4;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let y = p * r2 + r + 1.0;
    y * f32::from_bits(((fx as i32 + 127) as u32) << 23)
}

/// `tanh(x)`: an odd polynomial for `|x| < 0.625`, `1 - 2 / (e^(2|x|) + 1)` beyond.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes coefficients as published
pub fn tanh_f32(x: f32) -> f32 {
    let ax = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328_2e-1)
            * z
            * x
            + x;
    let e = exp_f32(2.0 * ax);
    let large = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    if ax < 0.625 { small } else { large }
}

#[inline(always)]
fn tanh_slice_portable(xs: &mut [f32]) {
    for x in xs {
        *x = tanh_f32(*x);
    }
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tanh_slice_avx2(xs: &mut [f32]) {
    tanh_slice_portable(xs)
}

/// `x = tanh(x)` over a slice.
pub fn tanh_slice(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        // AVX-512 CPUs take the AVX2 build too (`path` checked AVX2 for both).
        if super::simd::path() >= super::simd::SimdPath::Avx2 {
            // SAFETY: `path` checked AVX2, the one feature `tanh_slice_avx2` enables; the
            // function is safe Rust apart from that requirement.
            return unsafe { tanh_slice_avx2(xs) };
        }
    }
    tanh_slice_portable(xs)
}

/// `x = 1 / (1 + e^-x)` over a slice, as `0.5 + 0.5 tanh(x / 2)`.
pub fn sigmoid_slice(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x *= 0.5;
    }
    tanh_slice(xs);
    for x in xs.iter_mut() {
        *x = 0.5 + 0.5 * *x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_and_exp_are_accurate() {
        let mut worst = 0.0f64;
        // Every 1e-4 natively; a coarser grid under Miri (same range).
        let step = if cfg!(miri) { 997 } else { 1 };
        for i in (-200_000..=200_000).step_by(step) {
            let x = i as f32 * 1e-4;
            let got = tanh_f32(x) as f64;
            let want = (x as f64).tanh();
            worst = worst.max((got - want).abs());
        }
        assert!(worst < 3e-7, "tanh max error {worst}");
        for i in -870..=880 {
            let x = i as f32 * 0.1;
            let rel = ((exp_f32(x) as f64) / (x as f64).exp() - 1.0).abs();
            assert!(rel < 4e-7, "exp({x}) relative error {rel}");
        }
        assert_eq!(tanh_f32(100.0), 1.0);
        assert_eq!(tanh_f32(-100.0), -1.0);
        assert_eq!(tanh_f32(0.0), 0.0);
    }

    #[test]
    fn dispatched_slice_matches_portable_bit_for_bit() {
        eprintln!(
            "tanh_slice dispatched to the {} path",
            super::super::simd::path()
        );
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.0173).collect();
        let mut a = xs.clone();
        let mut b = xs.clone();
        tanh_slice(&mut a);
        tanh_slice_portable(&mut b);
        assert_eq!(a, b);
        let mut s = xs.clone();
        sigmoid_slice(&mut s);
        for (x, y) in xs.iter().zip(&s) {
            assert!((*y as f64 - 1.0 / (1.0 + (-*x as f64).exp())).abs() < 3e-7);
        }
    }
}
