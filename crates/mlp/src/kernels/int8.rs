//! The int8 matrix product of quantized inference: `acc[r][j] = sum_k x[r][k] * w[j][k]` with
//! `x` unsigned 8-bit activations (`0..=255`), `w` signed 8-bit weights (`-127..=127`, the
//! symmetric range) and `i32` sums.
//!
//! Every path returns exactly the same integers (integer arithmetic has no rounding, and no path
//! saturates):
//! - `portable`: plain `i32` multiply-adds, the reference;
//! - `avx2`: both operands in 16 bits and `vpmaddwd`, which adds each pair of `i16` products
//!   into an `i32` lane. A pair is at most `2 * 255 * 127 = 64770` in magnitude, so nothing
//!   saturates. The weights are packed once, when the network is built, into panels of eight
//!   outputs (for each input pair, the eight outputs' two weights side by side); the activations
//!   are widened to 16 bits a chunk of rows at a time, and a register tile of six rows by two
//!   panels (twelve accumulators of eight sums) broadcasts one activation pair per row against
//!   two weight loads: the sums land in their output lanes, with no horizontal adds.
//!   Why not `vpmaddubsw`, the direct u8 x i8 instruction: it saturates its pair sums to `i16`
//!   (`255 * 127 * 2` overflows), so it is exact only with 7-bit activations or weights, and its
//!   `i16` results still need a `vpmaddwd` against ones to reach `i32`: two multiplies per 32
//!   products, the same rate as one `vpmaddwd` per 16 on a CPU (Zen 3) with two vector
//!   multiply pipes, for one bit less. (`mlp bench peak` measures both.)
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

/// Outputs per AVX2 panel: one `i32` lane each in a 256-bit accumulator.
const PANEL: usize = 8;

/// `i16` weights per input pair of an AVX2 panel (two per output).
const PAIR_PANEL: usize = 2 * PANEL;

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
/// path's stride; for AVX2, `i16` panels of eight outputs (see the module notes).
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
                // Panels of eight outputs; within a panel, for each pair of inputs `(2i, 2i+1)`,
                // the eight outputs' two weights side by side: one 256-bit load per pair.
                let pairs = k.div_ceil(2);
                packed.words = vec![0; out.div_ceil(PANEL) * pairs * PAIR_PANEL];
                for (j, src) in rows.enumerate() {
                    let (panel, lane) = (j / PANEL, j % PANEL);
                    for (i, &s) in src.iter().enumerate() {
                        let at = (panel * pairs + i / 2) * PAIR_PANEL + 2 * lane + i % 2;
                        packed.words[at] = i16::from(s);
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
            Int8Path::Avx2 => unsafe {
                avx2::product(x, rows, s, &self.words, self.k.div_ceil(2), out, acc)
            },
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
    use super::{PAIR_PANEL, PANEL};
    use std::arch::x86_64::*;

    /// Rows of a register tile.
    const ROWS: usize = 6;
    /// Rows widened to 16 bits at a time: a chunk (at most `CHUNK x stride` values) stays in
    /// L2 while every panel of the weights passes over it.
    const CHUNK: usize = 48;

    thread_local! {
        /// The current chunk of activations, widened to 16 bits.
        static WIDE: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// `R` rows (from row `r` of `x`, chunk-local) by `P` panels of eight outputs (from panel
    /// `p0`): `R x P` accumulators of eight `i32` sums, no horizontal sums. Each step broadcasts
    /// one activation pair per row and multiplies it with a pair of weights per output
    /// (`vpmaddwd`: `x0 w0 + x1 w1` into each `i32` lane).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const R: usize, const P: usize>(
        x: *const u16,
        stride: usize,
        w: *const i16,
        pairs: usize,
        acc: *mut i32,
        out: usize,
        r: usize,
        p0: usize,
    ) {
        unsafe {
            let mut sums = [[_mm256_setzero_si256(); P]; R];
            let wp = w.add(p0 * pairs * PAIR_PANEL);
            for i in 0..pairs {
                let mut b = [_mm256_setzero_si256(); P];
                for (pp, bp) in b.iter_mut().enumerate() {
                    *bp =
                        _mm256_loadu_si256(wp.add((pp * pairs + i) * PAIR_PANEL) as *const __m256i);
                }
                for (rr, sr) in sums.iter_mut().enumerate() {
                    let pair = (x.add((r + rr) * stride + 2 * i) as *const i32).read_unaligned();
                    let a = _mm256_set1_epi32(pair);
                    for (s, &bp) in sr.iter_mut().zip(&b) {
                        *s = _mm256_add_epi32(*s, _mm256_madd_epi16(a, bp));
                    }
                }
            }
            for (rr, row) in sums.iter().enumerate() {
                for (pp, &s) in row.iter().enumerate() {
                    let j = (p0 + pp) * PANEL;
                    let dst = acc.add((r + rr) * out + j);
                    if j + PANEL <= out {
                        _mm256_storeu_si256(dst as *mut __m256i, s);
                    } else {
                        // The last, partial panel: its padded outputs are not stored.
                        let mut t = [0i32; PANEL];
                        _mm256_storeu_si256(t.as_mut_ptr() as *mut __m256i, s);
                        std::ptr::copy_nonoverlapping(t.as_ptr(), dst, out - j);
                    }
                }
            }
        }
    }

    /// Every row of a chunk of `n` against panels `p..p + P`: tiles of [`ROWS`] rows, then
    /// the remaining rows in one smaller tile.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel_rows<const P: usize>(
        x: *const u16,
        stride: usize,
        w: *const i16,
        pairs: usize,
        acc: *mut i32,
        out: usize,
        n: usize,
        p: usize,
    ) {
        unsafe {
            let mut r = 0;
            while r + ROWS <= n {
                tile::<ROWS, P>(x, stride, w, pairs, acc, out, r, p);
                r += ROWS;
            }
            match n - r {
                1 => tile::<1, P>(x, stride, w, pairs, acc, out, r, p),
                2 => tile::<2, P>(x, stride, w, pairs, acc, out, r, p),
                3 => tile::<3, P>(x, stride, w, pairs, acc, out, r, p),
                4 => tile::<4, P>(x, stride, w, pairs, acc, out, r, p),
                5 => tile::<5, P>(x, stride, w, pairs, acc, out, r, p),
                _ => {}
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2; `x` holds `rows * stride` values, `w` `panels * pairs * PAIR_PANEL`
    /// (the panel layout of `PackedWeights::new`), `acc` `rows * out`; `stride` is a multiple
    /// of 16 and at least `2 * pairs`; `panels * PANEL >= out`.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn product(
        x: &[u8],
        rows: usize,
        stride: usize,
        w: &[i16],
        pairs: usize,
        out: usize,
        acc: &mut [i32],
    ) {
        let panels = out.div_ceil(PANEL);
        debug_assert!(stride.is_multiple_of(16) && 2 * pairs <= stride);
        debug_assert!(w.len() >= panels * pairs * PAIR_PANEL && acc.len() >= rows * out);
        WIDE.with(|wide| {
            let mut wide = wide.borrow_mut();
            let mut r0 = 0;
            while r0 < rows {
                let n = CHUNK.min(rows - r0);
                let src = &x[r0 * stride..(r0 + n) * stride];
                wide.clear();
                wide.resize(n * stride, 0);
                // SAFETY (all below): `wide` holds `n * stride` values, read by rows `< n`
                // at offsets `< 2 * pairs <= stride`; `acc` is offset to the chunk's rows.
                unsafe {
                    let (s, d) = (src.as_ptr(), wide.as_mut_ptr());
                    let mut i = 0;
                    while i < n * stride {
                        let v = _mm_loadu_si128(s.add(i) as *const __m128i);
                        _mm256_storeu_si256(d.add(i) as *mut __m256i, _mm256_cvtepu8_epi16(v));
                        i += 16;
                    }
                    let (xp, wp) = (wide.as_ptr(), w.as_ptr());
                    let ap = acc.as_mut_ptr().add(r0 * out);
                    // Panels outside, rows inside: a pair of panels (16 outputs) stays in L1
                    // while the chunk's rows pass over it.
                    let mut p = 0;
                    while p + 2 <= panels {
                        panel_rows::<2>(xp, stride, wp, pairs, ap, out, n, p);
                        p += 2;
                    }
                    if p < panels {
                        panel_rows::<1>(xp, stride, wp, pairs, ap, out, n, p);
                    }
                }
                r0 += n;
            }
        });
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

/// A micro-benchmark of one multiply-add instruction: what the int8 kernels' peak is.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakRate {
    /// The instruction (sequence) timed, e.g. `vpmaddwd` or `vpmaddubsw+vpmaddwd`.
    pub instruction: &'static str,
    /// Multiply-adds one instruction (sequence) does on a full vector.
    pub macs_per_instruction: usize,
    /// Multiply-adds per second on the calling thread.
    pub macs_per_s: f64,
}

/// Times every multiply-add instruction this CPU has among `vpmaddwd` (AVX2, 16 `i16`
/// products), `vpmaddubsw` followed by `vpmaddwd` against ones (AVX2, 32 u8 x i8 products
/// reaching `i32`), `vpdpbusd` (AVX-512 VNNI, 64) and, for comparison, `vfmadd231ps` (FMA, 8
/// f32), on the calling thread: twelve independent accumulators (enough to hide the latency),
/// `iters` rounds, nothing else in the loop.
pub fn peak_rates(iters: usize) -> Vec<PeakRate> {
    let mut rates = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let time = |f: &dyn Fn() -> i64, macs: usize| {
            // The best of three: the peak is what the core can do, not the noise around it.
            let mut best = f64::INFINITY;
            for _ in 0..3 {
                let t0 = std::time::Instant::now();
                std::hint::black_box(f());
                best = best.min(t0.elapsed().as_secs_f64());
            }
            (12 * macs * iters) as f64 / best.max(1e-9)
        };
        if Int8Path::Avx2.available() {
            // SAFETY: avx2 checked just above.
            let rate = time(&|| unsafe { peak::madd(iters) }, 16);
            rates.push(PeakRate {
                instruction: "vpmaddwd",
                macs_per_instruction: 16,
                macs_per_s: rate,
            });
            // SAFETY: as above.
            let rate = time(&|| unsafe { peak::maddubs(iters) }, 32);
            rates.push(PeakRate {
                instruction: "vpmaddubsw+vpmaddwd",
                macs_per_instruction: 32,
                macs_per_s: rate,
            });
        }
        if Int8Path::Avx512Vnni.available() {
            // SAFETY: avx512f + avx512bw + avx512vnni checked by `available`.
            let rate = time(&|| unsafe { peak::dpbusd(iters) }, 64);
            rates.push(PeakRate {
                instruction: "vpdpbusd",
                macs_per_instruction: 64,
                macs_per_s: rate,
            });
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: avx2 and fma checked just above.
            let rate = time(&|| unsafe { peak::fma(iters) }, 8);
            rates.push(PeakRate {
                instruction: "vfmadd231ps",
                macs_per_instruction: 8,
                macs_per_s: rate,
            });
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = iters;
    rates
}

#[cfg(target_arch = "x86_64")]
mod peak {
    use std::arch::x86_64::*;

    /// Twelve accumulators of `vpmaddwd` + `vpaddd`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn madd(iters: usize) -> i64 {
        let a = _mm256_set1_epi16(std::hint::black_box(3));
        let b = _mm256_set1_epi16(std::hint::black_box(-5));
        let mut s = [_mm256_setzero_si256(); 12];
        for _ in 0..iters {
            for v in &mut s {
                *v = _mm256_add_epi32(*v, _mm256_madd_epi16(a, b));
            }
        }
        fold(&s)
    }

    /// Twelve accumulators of `vpmaddubsw` + `vpmaddwd` (against ones) + `vpaddd`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn maddubs(iters: usize) -> i64 {
        let a = _mm256_set1_epi8(std::hint::black_box(3));
        let b = _mm256_set1_epi8(std::hint::black_box(-5));
        let ones = _mm256_set1_epi16(1);
        let mut s = [_mm256_setzero_si256(); 12];
        for _ in 0..iters {
            for v in &mut s {
                let p = _mm256_maddubs_epi16(a, b);
                *v = _mm256_add_epi32(*v, _mm256_madd_epi16(p, ones));
            }
        }
        fold(&s)
    }

    /// Twelve accumulators of `vpdpbusd`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn dpbusd(iters: usize) -> i64 {
        let a = _mm512_set1_epi8(std::hint::black_box(3));
        let b = _mm512_set1_epi8(std::hint::black_box(-5));
        let mut s = [_mm512_setzero_si512(); 12];
        for _ in 0..iters {
            for v in &mut s {
                *v = _mm512_dpbusd_epi32(*v, a, b);
            }
        }
        s.iter()
            .map(|&v| i64::from(_mm512_reduce_add_epi32(v)))
            .sum()
    }

    /// Twelve accumulators of `vfmadd231ps`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fma(iters: usize) -> i64 {
        let a = _mm256_set1_ps(std::hint::black_box(1.0));
        let b = _mm256_set1_ps(std::hint::black_box(1e-9));
        let mut s = [_mm256_setzero_ps(); 12];
        for _ in 0..iters {
            for v in &mut s {
                *v = _mm256_fmadd_ps(a, b, *v);
            }
        }
        let mut t = [0.0f32; 8];
        let sum = s
            .iter()
            .fold(_mm256_setzero_ps(), |x, &y| _mm256_add_ps(x, y));
        // SAFETY: `t` holds eight f32.
        unsafe { _mm256_storeu_ps(t.as_mut_ptr(), sum) };
        t.iter().sum::<f32>() as i64
    }

    #[target_feature(enable = "avx2")]
    fn fold(s: &[__m256i; 12]) -> i64 {
        let mut t = [0i32; 8];
        let sum = s
            .iter()
            .fold(_mm256_setzero_si256(), |x, &y| _mm256_add_epi32(x, y));
        // SAFETY: `t` holds eight i32.
        unsafe { _mm256_storeu_si256(t.as_mut_ptr() as *mut __m256i, sum) };
        t.iter().map(|&v| i64::from(v)).sum()
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
            // Tiles of six rows, chunks of 48, panels of eight and pairs of panels, odd depths.
            (53, 17, 33),
            (97, 24, 7),
            (49, 9, 2),
            (13, 31, 255),
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
    fn the_peak_micro_benchmark_times_every_available_instruction() {
        let rates = peak_rates(10);
        assert_eq!(
            rates.iter().any(|r| r.instruction == "vpmaddwd"),
            Int8Path::Avx2.available()
        );
        assert!(
            rates
                .iter()
                .all(|r| r.macs_per_s > 0.0 && r.macs_per_instruction >= 8)
        );
    }

    #[test]
    fn the_detected_path_is_the_widest_available() {
        assert_eq!(Some(&path()), available_paths().last());
        assert_eq!(path().name(), path().to_string());
    }
}
