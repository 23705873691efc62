//! The int8 matrix product of quantized inference: `acc[r][j] = sum_k x[r][k] * w[j][k]` with
//! `x` unsigned 8-bit activations (`0..=255`), `w` signed 8-bit weights (`-127..=127`, the
//! symmetric range) and `i32` sums.
//!
//! Every path returns exactly the same integers (integer arithmetic has no rounding, and no path
//! saturates):
//! - `portable`: plain `i32` multiply-adds, the reference;
//! - `avx2`: both operands widened to 16 bits (`vpmovzxbw` for the activations; the weights are
//!   packed as `i16` once, when the network is built) and multiplied with `vpmaddwd`, which adds
//!   each pair of `i16` products into an `i32` lane. A pair is at most `2 * 255 * 127 = 64770` in
//!   magnitude, so nothing saturates. (`vpmaddubsw`, the direct u8 x i8 instruction, saturates its
//!   pair sums to `i16`: `255 * 127 * 2` overflows it, so it would need 7-bit activations or
//!   weights; widening keeps the full 8 bits for the same number of multiply-adds per
//!   instruction.)
//! - `avx512vnni`: `vpdpbusd` multiplies u8 by i8 and adds four products into an `i32` lane
//!   without intermediate saturation: the same integers. Taken only when the CPU reports
//!   `avx512f`, `avx512bw` and `avx512vnni`.
//!
//! `i32` cannot overflow: a row of `k <= MAX_INT8_DEPTH` products sums to at most
//! `255 * 127 * k < 2^31` in magnitude (and lane partial sums are smaller still; wrapping adds
//! would give the exact result anyway whenever the total fits).
//!
//! Activation rows and packed weight rows share one stride ([`PackedWeights::stride`]): the
//! depth `k` rounded up to the path's vector width, padded with zero weights (so padded
//! activations never contribute).

use std::sync::atomic::{AtomicU8, Ordering};

/// Deepest product (inputs per output) the `i32` sums hold exactly: `255 * 127 * 65536` is below
/// `2^31`.
pub const MAX_INT8_DEPTH: usize = 65_536;

/// The int8 code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Int8Path {
    /// Scalar `i32` multiply-adds (any CPU): the reference.
    Portable,
    /// AVX2 `vpmaddwd` on operands widened to 16 bits.
    Avx2,
    /// AVX-512 VNNI `vpdpbusd` (u8 x i8, four products per `i32` lane).
    Avx512Vnni,
}

impl Int8Path {
    /// `portable`, `avx2` or `avx512vnni`.
    pub fn name(self) -> &'static str {
        match self {
            Int8Path::Portable => "portable",
            Int8Path::Avx2 => "avx2",
            Int8Path::Avx512Vnni => "avx512vnni",
        }
    }

    /// Elements per vector step: the stride of an activation row is a multiple of this.
    fn lanes(self) -> usize {
        match self {
            Int8Path::Portable => 1,
            Int8Path::Avx2 => 16,
            Int8Path::Avx512Vnni => 64,
        }
    }

    /// Whether this CPU can run the path (asked each time; [`path`] caches the widest).
    pub fn available(self) -> bool {
        match self {
            Int8Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Int8Path::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Int8Path::Avx512Vnni => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

impl std::fmt::Display for Int8Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Not yet detected; otherwise `1 + index` in [`ALL_PATHS`].
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// Every path, narrowest first.
pub const ALL_PATHS: [Int8Path; 3] = [Int8Path::Portable, Int8Path::Avx2, Int8Path::Avx512Vnni];

/// The widest int8 path this CPU runs (detected once, then cached).
pub fn path() -> Int8Path {
    match DETECTED.load(Ordering::Relaxed) {
        d @ 1..=3 => ALL_PATHS[d as usize - 1],
        _ => {
            let p = available_paths()
                .last()
                .copied()
                .unwrap_or(Int8Path::Portable);
            let i = ALL_PATHS.iter().position(|&q| q == p).unwrap_or(0);
            // Relaxed: every thread computes the same answer.
            DETECTED.store(1 + i as u8, Ordering::Relaxed);
            p
        }
    }
}

/// The paths this CPU runs, narrowest first (always starts with [`Int8Path::Portable`]).
pub fn available_paths() -> Vec<Int8Path> {
    ALL_PATHS.into_iter().filter(|p| p.available()).collect()
}

/// Weights `out x k` (i8, `-127..=127`) laid out for one path: rows padded with zeros to the
/// path's stride; `i16` for AVX2 (widened once here instead of in every product).
///
/// Built only for a path the CPU runs ([`PackedWeights::new`] checks), which is what makes the
/// `unsafe` calls of [`PackedWeights::product`] sound.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedWeights {
    path: Int8Path,
    out: usize,
    k: usize,
    stride: usize,
    bytes: Vec<i8>,
    words: Vec<i16>,
}

impl PackedWeights {
    /// Packs `w` (`out x k`, row-major) for `path`; `None` when this CPU cannot run `path`, `w`
    /// is shorter than `out * k`, or `k` exceeds [`MAX_INT8_DEPTH`].
    pub fn new(path: Int8Path, w: &[i8], out: usize, k: usize) -> Option<Self> {
        if !path.available() || k > MAX_INT8_DEPTH || out.checked_mul(k)? > w.len() {
            return None;
        }
        let lanes = path.lanes();
        let stride = k.div_ceil(lanes) * lanes;
        let mut packed = PackedWeights {
            path,
            out,
            k,
            stride,
            bytes: Vec::new(),
            words: Vec::new(),
        };
        let rows = w[..out * k].chunks_exact(k.max(1)).take(out);
        match path {
            Int8Path::Avx2 => {
                packed.words = vec![0; out * stride];
                for (dst, src) in packed.words.chunks_exact_mut(stride.max(1)).zip(rows) {
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d = i16::from(s);
                    }
                }
            }
            _ => {
                packed.bytes = vec![0; out * stride];
                for (dst, src) in packed.bytes.chunks_exact_mut(stride.max(1)).zip(rows) {
                    dst[..k].copy_from_slice(src);
                }
            }
        }
        Some(packed)
    }

    /// The path these weights are laid out for.
    pub fn path(&self) -> Int8Path {
        self.path
    }

    /// Elements per activation row the product reads: the depth rounded up to the path's vector
    /// width. Entries past the depth may hold anything (their weights are zero).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// `acc[r * out + j] = sum_{i < depth} x[r * stride + i] * w[j][i]` for `rows` rows.
    ///
    /// # Panics
    /// When `x` holds fewer than `rows * stride` values or `acc` fewer than `rows * out` (caller
    /// bugs: the buffers are sized from this struct).
    pub fn product(&self, x: &[u8], rows: usize, acc: &mut [i32]) {
        let (s, out) = (self.stride, self.out);
        assert!(
            rows.checked_mul(s).is_some_and(|n| x.len() >= n)
                && rows.checked_mul(out).is_some_and(|n| acc.len() >= n),
            "int8 product: {} activations, {} sums for {rows} rows of stride {s} and {out} outputs",
            x.len(),
            acc.len()
        );
        if rows == 0 || out == 0 {
            return;
        }
        match self.path {
            Int8Path::Portable => reference(x, rows, s, &self.bytes, out, self.k, acc),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `new` packed for AVX2 only after checking the CPU has it; the sizes were
            // asserted above and the packed rows hold `out * stride` values.
            Int8Path::Avx2 => unsafe { avx2::product(x, rows, s, &self.words, out, acc) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, for avx512f + avx512bw + avx512vnni.
            Int8Path::Avx512Vnni => unsafe { vnni::product(x, rows, s, &self.bytes, out, acc) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("only the portable path is available off x86-64"),
        }
    }
}

/// The scalar reference: `acc[r * out + j] = sum_{i < k} x[r * stride + i] * w[j * stride + i]`.
pub fn reference(
    x: &[u8],
    rows: usize,
    stride: usize,
    w: &[i8],
    out: usize,
    k: usize,
    acc: &mut [i32],
) {
    for r in 0..rows {
        let xr = &x[r * stride..r * stride + k];
        for j in 0..out {
            let wj = &w[j * stride..j * stride + k];
            let mut sum = 0i32;
            for (&a, &b) in xr.iter().zip(wj) {
                sum = sum.wrapping_add(i32::from(a) * i32::from(b));
            }
            acc[r * out + j] = sum;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Sum of the eight `i32` lanes.
    #[inline(always)]
    unsafe fn hsum(v: __m256i) -> i32 {
        unsafe {
            let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            _mm_cvtsi128_si32(s)
        }
    }

    /// `R` rows by `J` outputs, starting at row `r` and output `j`.
    #[inline(always)]
    unsafe fn tile<const R: usize, const J: usize>(
        x: *const u8,
        stride: usize,
        w: *const i16,
        out: usize,
        acc: *mut i32,
        r: usize,
        j: usize,
    ) {
        unsafe {
            let mut sums = [[_mm256_setzero_si256(); J]; R];
            let mut i = 0;
            while i < stride {
                let mut a = [_mm256_setzero_si256(); R];
                for (rr, ar) in a.iter_mut().enumerate() {
                    let p = x.add((r + rr) * stride + i) as *const __m128i;
                    *ar = _mm256_cvtepu8_epi16(_mm_loadu_si128(p));
                }
                for jj in 0..J {
                    let b = _mm256_loadu_si256(w.add((j + jj) * stride + i) as *const __m256i);
                    for (sr, &ar) in sums.iter_mut().zip(&a) {
                        sr[jj] = _mm256_add_epi32(sr[jj], _mm256_madd_epi16(ar, b));
                    }
                }
                i += 16;
            }
            for (rr, row) in sums.iter().enumerate() {
                for (jj, &s) in row.iter().enumerate() {
                    *acc.add((r + rr) * out + j + jj) = hsum(s);
                }
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2; `x` holds `rows * stride` values, `w` `out * stride`, `acc`
    /// `rows * out`; `stride` is a multiple of 16.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn product(
        x: &[u8],
        rows: usize,
        stride: usize,
        w: &[i16],
        out: usize,
        acc: &mut [i32],
    ) {
        debug_assert!(stride.is_multiple_of(16) && w.len() >= out * stride);
        let (xp, wp, ap) = (x.as_ptr(), w.as_ptr(), acc.as_mut_ptr());
        // Tiles of two rows by four outputs: eight accumulators, and each load serves two or
        // four multiply-adds. Outputs outside, rows inside: the four weight rows stay in L1
        // while every activation row streams past them (a block of activations is smaller than
        // a layer's weights, and each is read once per four outputs instead of the weights
        // once per two rows).
        unsafe {
            let mut j = 0;
            while j < out {
                let four = j + 4 <= out;
                let mut r = 0;
                while r + 2 <= rows {
                    if four {
                        tile::<2, 4>(xp, stride, wp, out, ap, r, j);
                    } else {
                        tile::<2, 1>(xp, stride, wp, out, ap, r, j);
                    }
                    r += 2;
                }
                if r < rows {
                    if four {
                        tile::<1, 4>(xp, stride, wp, out, ap, r, j);
                    } else {
                        tile::<1, 1>(xp, stride, wp, out, ap, r, j);
                    }
                }
                j += if four { 4 } else { 1 };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    /// `R` rows by `J` outputs, starting at row `r` and output `j`.
    #[inline(always)]
    unsafe fn tile<const R: usize, const J: usize>(
        x: *const u8,
        stride: usize,
        w: *const i8,
        out: usize,
        acc: *mut i32,
        r: usize,
        j: usize,
    ) {
        unsafe {
            let mut sums = [[_mm512_setzero_si512(); J]; R];
            let mut i = 0;
            while i < stride {
                let mut a = [_mm512_setzero_si512(); R];
                for (rr, ar) in a.iter_mut().enumerate() {
                    *ar = _mm512_loadu_si512(x.add((r + rr) * stride + i) as *const __m512i);
                }
                for jj in 0..J {
                    let b = _mm512_loadu_si512(w.add((j + jj) * stride + i) as *const __m512i);
                    for (sr, &ar) in sums.iter_mut().zip(&a) {
                        sr[jj] = _mm512_dpbusd_epi32(sr[jj], ar, b);
                    }
                }
                i += 64;
            }
            for (rr, row) in sums.iter().enumerate() {
                for (jj, &s) in row.iter().enumerate() {
                    *acc.add((r + rr) * out + j + jj) = _mm512_reduce_add_epi32(s);
                }
            }
        }
    }

    /// # Safety
    /// The CPU has avx512f, avx512bw and avx512vnni; `x` holds `rows * stride` values, `w`
    /// `out * stride`, `acc` `rows * out`; `stride` is a multiple of 64.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn product(
        x: &[u8],
        rows: usize,
        stride: usize,
        w: &[i8],
        out: usize,
        acc: &mut [i32],
    ) {
        debug_assert!(stride.is_multiple_of(64) && w.len() >= out * stride);
        let (xp, wp, ap) = (x.as_ptr(), w.as_ptr(), acc.as_mut_ptr());
        // The AVX2 tiling and loop order.
        unsafe {
            let mut j = 0;
            while j < out {
                let four = j + 4 <= out;
                let mut r = 0;
                while r + 2 <= rows {
                    if four {
                        tile::<2, 4>(xp, stride, wp, out, ap, r, j);
                    } else {
                        tile::<2, 1>(xp, stride, wp, out, ap, r, j);
                    }
                    r += 2;
                }
                if r < rows {
                    if four {
                        tile::<1, 4>(xp, stride, wp, out, ap, r, j);
                    } else {
                        tile::<1, 1>(xp, stride, wp, out, ap, r, j);
                    }
                }
                j += if four { 4 } else { 1 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Extreme and random operands (the full u8 range against -127 and 127, where a saturating
    /// instruction would clip), awkward shapes (0, 1, primes, non-multiples of the tiles).
    #[test]
    fn every_available_path_equals_the_reference_exactly() {
        let mut rng = Rng::seed_from(7);
        let paths = available_paths();
        println!("int8 paths on this CPU: {paths:?}");
        if !paths.contains(&Int8Path::Avx512Vnni) {
            println!("skipping avx512vnni: this CPU lacks avx512f/avx512bw/avx512vnni");
        }
        for &(rows, out, k) in &[
            (1, 1, 1),
            (0, 3, 5),
            (3, 0, 5),
            (2, 4, 16),
            (3, 5, 17),
            (7, 9, 63),
            (5, 13, 64),
            (4, 6, 129),
            (1, 10, 784),
            (3, 4, 0),
        ] {
            for case in 0..3 {
                let w: Vec<i8> = (0..out * k)
                    .map(|_| match case {
                        0 => 127,
                        1 => -127,
                        _ => (rng.below(255) as i32 - 127) as i8,
                    })
                    .collect();
                let xs: Vec<u8> = (0..rows * k)
                    .map(|_| if case < 2 { 255 } else { rng.below(256) as u8 })
                    .collect();
                let mut want = vec![0i32; rows * out];
                reference(&xs, rows, k, &w, out, k, &mut want);
                for &p in &paths {
                    let packed = PackedWeights::new(p, &w, out, k).expect("available path");
                    let s = packed.stride();
                    // Padding holds junk: the zero weights must make it irrelevant.
                    let mut x = vec![201u8; rows * s];
                    for r in 0..rows {
                        x[r * s..r * s + k].copy_from_slice(&xs[r * k..(r + 1) * k]);
                    }
                    let mut got = vec![-1i32; rows * out];
                    packed.product(&x, rows, &mut got);
                    assert_eq!(got, want, "{p} rows {rows} out {out} k {k} case {case}");
                }
            }
        }
    }

    #[test]
    fn extremes_do_not_overflow_at_the_deepest_supported_product() {
        let k = 4096;
        let w = vec![-127i8; k];
        let x = vec![255u8; k];
        let mut acc = [0i32];
        reference(&x, 1, k, &w, 1, k, &mut acc);
        assert_eq!(acc[0], -255 * 127 * k as i32);
        assert!(255i64 * 127 * MAX_INT8_DEPTH as i64 <= i32::MAX as i64);
        assert!(PackedWeights::new(Int8Path::Portable, &w, 1, MAX_INT8_DEPTH + 1).is_none());
    }

    #[test]
    fn the_detected_path_is_the_widest_available() {
        assert_eq!(Some(&path()), available_paths().last());
        assert_eq!(path().name(), path().to_string());
    }
}
