//! Dot products with a fixed summation order, and the matrix-vector product built from them.
//!
//! Every dot product here sums into [`DOT_LANES`] interleaved partial sums (lane `i` takes the
//! elements `i, i + 32, i + 64, ...`, the last partial block included) and combines them in a
//! fixed halving tree. Multiplies and adds are separate
//! instructions (no FMA). The portable code, the AVX2 code and the AVX-512 code therefore return
//! the same bits on every CPU, which keeps single-sample inference and batch-1 training
//! reproducible across machines.
//!
//! [`dot_rows_f32`] is single-sample inference through a dense layer (`x W^T`): it streams the
//! weight rows once, several rows per pass so each load of `x` serves all of them.

use super::simd::{self, SimdPath};
use num_traits::Float;

/// Independent partial sums per dot product: four 8-wide (AVX2) or two 16-wide (AVX-512) vector
/// accumulators, enough to hide the add latency (one accumulator would serialize every add).
pub(crate) const DOT_LANES: usize = 32;

/// The portable dot product: `DOT_LANES` partial sums, combined in a fixed tree at the end.
#[inline(always)]
pub(crate) fn dot_lanes<T: Float + Default>(a: &[T], b: &[T]) -> T {
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
    for (i, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        acc[i] = acc[i] + *x * *y;
    }
    reduce_lanes(acc)
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

/// `f32` dot product of two slices (over the shorter length), dispatched to the widest vector
/// unit the CPU has; bit-identical to [`dot_lanes`].
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(target_arch = "x86_64")]
    {
        match simd::path() {
            SimdPath::Avx512 => {
                let mut out = [0.0f32];
                // SAFETY: `path` checked every AVX-512 feature (the function needs avx512f); one
                // row of `n = a.len()` elements (`b`) and one output, as its contract asks.
                unsafe { dot_rows_f32_avx512::<1>(a, b, &mut out) };
                return out[0];
            }
            // SAFETY: `path` checked AVX2; the function reads only inside its two slices.
            SimdPath::Avx2 => return unsafe { dot_f32_avx2(a, b) },
            SimdPath::Portable => {}
        }
    }
    dot_lanes(a, b)
}

/// `out[j] = dot(x, w[j*k..(j+1)*k])` with `k = x.len()`, each entry bit-identical to
/// [`dot_f32`] of that row.
///
/// # Panics
/// When `w` holds fewer than `out.len() * x.len()` elements (a caller bug).
pub(crate) fn dot_rows_f32(x: &[f32], w: &[f32], out: &mut [f32]) {
    let k = x.len();
    let rows = out.len();
    // `checked_mul`: a wrapped product could pass the check with a short `w`.
    assert!(
        rows.checked_mul(k).is_some_and(|need| w.len() >= need),
        "dot_rows: {} weights for {rows} rows of {k}",
        w.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        if simd::path() == SimdPath::Avx512 {
            // Eight rows per pass: 16 accumulators, and each load of `x` serves eight rows.
            const R: usize = 8;
            for (block, o) in out.chunks_mut(R).enumerate() {
                // In range: `(block * R + o.len()) * k <= rows * k <= w.len()` (asserted above).
                let rows_w = &w[block * R * k..(block * R + o.len()) * k];
                // SAFETY: `path` checked every AVX-512 feature; each call gets exactly the rows
                // of `w` and the outputs it reads and writes (`R` or `1` of each).
                unsafe {
                    if o.len() == R {
                        dot_rows_f32_avx512::<R>(x, rows_w, o);
                    } else {
                        for (j, oj) in o.chunks_mut(1).enumerate() {
                            dot_rows_f32_avx512::<1>(x, &rows_w[j * k..(j + 1) * k], oj);
                        }
                    }
                }
            }
            return;
        }
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot_f32(x, &w[j * k..(j + 1) * k]);
    }
}

/// AVX2 twin of [`dot_lanes`] for `f32`: the same 32 partial sums in four 8-wide registers,
/// multiplied and added separately (no FMA), reduced in the same tree.
///
/// # Safety
/// The CPU must support AVX2. (The slices may have any lengths: only the first
/// `min(a.len(), b.len())` elements of each are read.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let chunks = n / DOT_LANES;
    let rem = n % DOT_LANES;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // SAFETY: every pointer formed below points inside its slice: full loads start at
    // `base + 8r <= n - 8` and read 8 floats of the first `chunks * 32 <= n` elements; a masked
    // load is formed only for a register with live lanes (`base + 8r < n`, the loop breaks
    // before the first register without), and `_mm256_maskload_ps` reads only the live lanes
    // (`base + 8r + live <= n`): masked-off lanes are neither read nor faulted on.
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
        if rem > 0 {
            let base = chunks * DOT_LANES;
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let live = rem.saturating_sub(8 * r).min(8) as i32;
                if live == 0 {
                    break;
                }
                // Lanes below `live` are loaded and added; the others keep their sums, exactly
                // as in the portable code.
                let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), lane);
                let x = _mm256_maskload_ps(pa.add(base + 8 * r), mask);
                let y = _mm256_maskload_ps(pb.add(base + 8 * r), mask);
                let sum = _mm256_add_ps(*acc_r, _mm256_mul_ps(x, y));
                *acc_r = _mm256_blendv_ps(*acc_r, sum, _mm256_castsi256_ps(mask));
            }
        }
        // Tree rounds: width 16 (lanes i and i+16), then 8, 4, 2, 1.
        let v8 = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
        let v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
        let v2 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
        let v1 = _mm_add_ss(v2, _mm_shuffle_ps(v2, v2, 1));
        _mm_cvtss_f32(v1)
    }
}

/// `R` dot products of `x` with consecutive rows of `w` (row length `x.len()`), in AVX-512:
/// two 16-wide accumulators per row (the 32 partial sums of [`dot_lanes`]), reduced in its tree.
///
/// # Safety
/// The CPU must support AVX-512F. (`w` must hold `R * x.len()` elements and `out` `R`; that is
/// asserted, so a short slice panics rather than reading out of bounds.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_rows_f32_avx512<const R: usize>(x: &[f32], w: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let k = x.len();
    // Checked in release too: the loads below rely on it, and it costs one compare per `R` rows.
    assert!(
        R.checked_mul(k).is_some_and(|need| w.len() >= need) && out.len() >= R,
        "dot_rows_f32_avx512: {} weights, {} outputs for {R} rows of {k}",
        w.len(),
        out.len()
    );
    let chunks = k / DOT_LANES;
    let rem = k % DOT_LANES;
    let (px, pw) = (x.as_ptr(), w.as_ptr());
    // SAFETY: every pointer formed below points inside its slice (`x`: `k` elements; row `r` of
    // `w`: `r * k .. (r + 1) * k`, inside `w` by the assert). Full loads read 16 floats at
    // offsets `base` and `base + 16 <= k - 16` of `x` and of the row. In the partial block
    // (`rem = k - base` in 1..32) the low half's pointer is at `base < k`, and the high half's
    // (`base + 16`) is formed only when `rem > 16`, i.e. `base + 16 < k`: offsetting past the
    // end of a slice is undefined behaviour even when the masked load would read nothing. The
    // masked loads read only the live lanes (`base + rem = k`), and masked-off lanes neither
    // read nor fault.
    unsafe {
        let mut lo = [_mm512_setzero_ps(); R];
        let mut hi = [_mm512_setzero_ps(); R];
        for c in 0..chunks {
            let base = c * DOT_LANES;
            let x0 = _mm512_loadu_ps(px.add(base));
            let x1 = _mm512_loadu_ps(px.add(base + 16));
            for r in 0..R {
                let row = pw.add(r * k + base);
                lo[r] = _mm512_add_ps(lo[r], _mm512_mul_ps(x0, _mm512_loadu_ps(row)));
                hi[r] = _mm512_add_ps(hi[r], _mm512_mul_ps(x1, _mm512_loadu_ps(row.add(16))));
            }
        }
        if rem > 0 {
            // The partial block: masked-off lanes keep their sums, exactly as in the portable
            // code.
            let base = chunks * DOT_LANES;
            let m0: __mmask16 = if rem >= 16 { 0xffff } else { (1u16 << rem) - 1 };
            let m1: __mmask16 = if rem > 16 {
                (1u16 << (rem - 16)) - 1
            } else {
                0
            };
            let x0 = _mm512_maskz_loadu_ps(m0, px.add(base));
            for (r, lo_r) in lo.iter_mut().enumerate() {
                let row = pw.add(r * k + base);
                let p0 = _mm512_mul_ps(x0, _mm512_maskz_loadu_ps(m0, row));
                *lo_r = _mm512_mask_add_ps(*lo_r, m0, *lo_r, p0);
            }
            if m1 != 0 {
                let x1 = _mm512_maskz_loadu_ps(m1, px.add(base + 16));
                for (r, hi_r) in hi.iter_mut().enumerate() {
                    let row = pw.add(r * k + base + 16);
                    let p1 = _mm512_mul_ps(x1, _mm512_maskz_loadu_ps(m1, row));
                    *hi_r = _mm512_mask_add_ps(*hi_r, m1, *hi_r, p1);
                }
            }
        }
        for r in 0..R {
            // Tree rounds: width 16 (lanes i and i+16), then 8, 4, 2, 1.
            let v16 = _mm512_add_ps(lo[r], hi[r]);
            let v8 = _mm256_add_ps(
                _mm512_castps512_ps256(v16),
                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v16), 1)),
            );
            let v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
            let v2 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
            let v1 = _mm_add_ss(v2, _mm_shuffle_ps(v2, v2, 1));
            out[r] = _mm_cvtss_f32(v1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, mul: usize, modulo: usize, shift: f32, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * mul % modulo) as f32 - shift) / scale)
            .collect()
    }

    /// Lengths around the 8-, 16- and 32-lane blocks, so every masked tail width runs.
    const LENGTHS: [usize; 14] = [0, 1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 1003];

    #[test]
    fn dispatched_and_portable_dot_agree_bit_for_bit() {
        eprintln!("dot_f32 dispatched to the {} path", simd::path());
        let a = data(1003, 37, 101, 50.0, 7.0);
        let b = data(1003, 53, 97, 48.0, 11.0);
        for len in LENGTHS.into_iter().chain([64, 784]) {
            let fast = dot_f32(&a[..len], &b[..len]);
            let portable = dot_lanes(&a[..len], &b[..len]);
            assert_eq!(fast.to_bits(), portable.to_bits(), "len {len}");
            let exact: f64 = a[..len]
                .iter()
                .zip(&b[..len])
                .map(|(x, y)| *x as f64 * *y as f64)
                .sum();
            assert!((fast as f64 - exact).abs() < 1e-3, "len {len}");
        }
        // Unequal lengths: the shorter one counts.
        let short = dot_f32(&a[..40], &b[..33]);
        assert_eq!(short.to_bits(), dot_lanes(&a[..33], &b[..33]).to_bits());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_dot_matches_portable_bit_for_bit() {
        if simd::path() < SimdPath::Avx2 {
            eprintln!("SKIP avx2_dot_matches_portable_bit_for_bit: this CPU has no AVX2");
            return;
        }
        eprintln!("dot: testing the avx2 path");
        // Each slice is its own allocation of exactly `len` elements, so a load past the end
        // would read outside it (and Miri, running this with AVX2 enabled, would say so).
        for len in LENGTHS.into_iter().chain([784]) {
            let a = data(len, 37, 101, 50.0, 7.0);
            let b = data(len, 53, 97, 48.0, 11.0);
            // SAFETY: `path` checked AVX2.
            let fast = unsafe { dot_f32_avx2(&a, &b) };
            assert_eq!(fast.to_bits(), dot_lanes(&a, &b).to_bits(), "len {len}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_dot_rows_match_portable_bit_for_bit() {
        if simd::path() < SimdPath::Avx512 {
            eprintln!(
                "SKIP avx512_dot_rows_match_portable_bit_for_bit: this CPU lacks AVX-512 ({})",
                simd::report()
            );
            return;
        }
        eprintln!("dot: testing the avx512 path");
        for len in LENGTHS {
            let x = data(len, 37, 101, 50.0, 7.0);
            let w = data(8 * len, 53, 97, 48.0, 11.0);
            let mut one = [f32::NAN];
            // SAFETY: `path` checked every AVX-512 feature; sizes as the contract asks.
            unsafe { dot_rows_f32_avx512::<1>(&x, &w[..len], &mut one) };
            assert_eq!(one[0].to_bits(), dot_lanes(&x, &w[..len]).to_bits());
            let mut eight = [f32::NAN; 8];
            // SAFETY: as above.
            unsafe { dot_rows_f32_avx512::<8>(&x, &w, &mut eight) };
            for (j, o) in eight.iter().enumerate() {
                let want = dot_lanes(&x, &w[j * len..(j + 1) * len]);
                assert_eq!(o.to_bits(), want.to_bits(), "len {len} row {j}");
            }
        }
    }

    #[test]
    fn dot_rows_equals_row_by_row_portable_dots() {
        eprintln!("dot_rows_f32 dispatched to the {} path", simd::path());
        // Row counts around the 8-row block and lengths around the 32-lane block (the two large
        // shapes are left to native runs: Miri is some 1000 times slower).
        let large = if cfg!(miri) { 0 } else { 2 };
        for (rows, k) in [
            (0, 5),
            (1, 0),
            (1, 5),
            (7, 32),
            (8, 33),
            (17, 64),
            (3, 17),
            (10, 128),
        ]
        .into_iter()
        .chain([(9, 784), (256, 784)].into_iter().take(large))
        {
            let x = data(k, 37, 101, 50.0, 7.0);
            let w = data(rows * k, 53, 97, 48.0, 11.0);
            let mut out = vec![f32::NAN; rows];
            dot_rows_f32(&x, &w, &mut out);
            for (j, o) in out.iter().enumerate() {
                let want = dot_lanes(&x, &w[j * k..(j + 1) * k]);
                assert_eq!(o.to_bits(), want.to_bits(), "rows {rows} k {k} row {j}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "dot_rows")]
    fn dot_rows_refuses_a_short_weight_slice() {
        let mut out = [0.0f32; 3];
        dot_rows_f32(&[1.0; 4], &[1.0; 11], &mut out);
    }
}
