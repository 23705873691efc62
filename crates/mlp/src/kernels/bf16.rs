//! bf16 products with `f32` accumulation, for mixed-precision training (`--precision bf16`).
//!
//! A bf16 number is the upper half of an `f32`: the same sign and 8-bit exponent, 7 stored
//! mantissa bits. [`to_bf16`] rounds to nearest, ties to even; NaN stays NaN (quieted), the
//! infinities stay infinite, finite values past the largest bf16 round to infinity, and
//! subnormals round like any other value (no flush).
//!
//! # The product
//! Every product here is `C[i][j] (+)= sum_p A[i][p] * B[j][p]`: both operands are
//! [`PackedRows`], rows of bf16 values whose depth `k` is padded with zeros to a multiple of 32
//! (the "kernel layout"; packing also performs any transpose). A dense layer's three products
//! all take this form (see [`dense_forward`], [`dense_weight_grad`], [`dense_input_grad`]).
//!
//! # Summation order (the same in every path)
//! Each output has 16 `f32` lane accumulators, all starting at `+0`. For every block of 32
//! elements starting at `q`, lane `l` adds the pair `(q + 2l, q + 2l + 1)`: first the product of
//! the odd element, then the even one, each added with a single rounding (a fused multiply-add).
//! Then the lanes are summed as a tree: `s[l] += s[l + 8]`, then `+4`, `+2`, `+1`; finally
//! `C = sum` or `C = C + sum`.
//!
//! A product of two bf16 values has at most 16 significant bits, so it is exact in `f32` unless it
//! leaves the `f32` range (below `2^-126`, i.e. subnormal, or overflow).
//!
//! # Paths
//! - `portable`: scalar [`f32::mul_add`] in the order above; the reference. (On an x86-64 CPU
//!   without FMA it calls the C library's correctly rounded `fmaf`: slow, but the same bits.)
//! - `avx2`: `avx2` and `fma`; 16 bf16 values are loaded at once and widened to `f32` by a
//!   16-bit left shift (even elements) and a mask (odd elements); `vfmadd231ps` into two 8-lane
//!   registers holding lanes 0-7 and 8-15. **Bit-identical to `portable` for all inputs** (the
//!   same fused multiply-adds in the same order; the tests compare bits).
//! - `avx512bf16`: `avx512bf16` and `avx512f`; `vdpbf16ps` adds, per lane, the odd product and
//!   then the even product of a pair into the accumulator, which is the order above. It differs
//!   where the instruction differs from two fused multiply-adds: it treats subnormal inputs as
//!   zero and flushes subnormal results (products or sums below `2^-126`) to zero, always rounds
//!   to nearest-even whatever MXCSR says, and Intel documents the two additions as rounded each,
//!   which is what makes the normal-range results equal to the portable path's. Outside the
//!   subnormal range the results are then bit-identical; the test
//!   `avx512bf16_matches_the_reference` checks them against the reference within a stated bound
//!   (and reports how many differ in any bit) on CPUs that have the instruction, and prints a
//!   skip line elsewhere.
//!
//! # Threads
//! Large products split the rows of `C` into one block per thread (the helper core for two);
//! each element is computed by one thread in the order above, so the result does not depend on
//! the split: same inputs, same bits, for any thread count.

use super::Transpose;
use super::gemm::threads_here;
use std::sync::atomic::{AtomicU8, Ordering};

/// Depth granule of the kernel layout: rows of [`PackedRows`] are padded to a multiple of this
/// (one `vdpbf16ps` operand: 32 bf16 values).
pub const BLOCK: usize = 32;

/// Lane accumulators per output (16 `f32`: one 512-bit register, two 256-bit ones).
pub const LANES: usize = 16;

/// Rounds an `f32` to bf16 (its bit pattern): nearest, ties to even. NaN stays NaN (the quiet bit
/// is set so that a signalling NaN whose payload lies in the dropped bits does not become
/// infinity); infinities and signed zeros are kept; finite values above the largest bf16
/// (`3.3895314e38`) round to infinity.
#[inline]
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x0040;
    }
    // Adding 0x7FFF plus the kept part's lowest bit rounds to nearest with ties to even; the
    // carry may run into the exponent, which is exactly the rounding up to the next binade (or
    // to infinity). No overflow of `u32`: the largest non-NaN pattern is 0xFF80_0000.
    let round = 0x7FFF + ((bits >> 16) & 1);
    ((bits + round) >> 16) as u16
}

/// The `f32` a bf16 bit pattern stands for (exact).
#[inline]
pub fn from_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// `x` rounded to the nearest bf16 value, as an `f32` (`from_bf16(to_bf16(x))`).
#[cfg(test)]
pub fn round_bf16(x: f32) -> f32 {
    from_bf16(to_bf16(x))
}

/// The bf16 code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bf16Path {
    /// Scalar fused multiply-adds (any CPU): the reference.
    Portable,
    /// AVX2 + FMA on operands widened to `f32` by a shift.
    Avx2,
    /// AVX-512 BF16 `vdpbf16ps`.
    Avx512Bf16,
}

/// Every path, narrowest first.
pub const ALL_PATHS: [Bf16Path; 3] = [Bf16Path::Portable, Bf16Path::Avx2, Bf16Path::Avx512Bf16];

impl Bf16Path {
    /// `portable`, `avx2` or `avx512bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Bf16Path::Portable => "portable",
            Bf16Path::Avx2 => "avx2",
            Bf16Path::Avx512Bf16 => "avx512bf16",
        }
    }

    /// Whether this CPU has every feature the path's functions enable (asked each time; [`path`]
    /// caches the widest). Every `unsafe` call of a path's `#[target_feature]` functions is
    /// justified by this answer.
    pub fn available(self) -> bool {
        match self {
            Bf16Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Bf16Path::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Bf16Path::Avx512Bf16 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bf16")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Multiply-adds one instruction of the path's inner loop performs: 1 for the scalar FMA,
    /// 8 for `vfmadd231ps ymm`, 32 for `vdpbf16ps zmm`.
    pub fn macs_per_instruction(self) -> usize {
        match self {
            Bf16Path::Portable => 1,
            Bf16Path::Avx2 => 8,
            Bf16Path::Avx512Bf16 => 32,
        }
    }

    /// The core instruction the peak rate ([`peak_macs_per_second`]) measures.
    pub fn instruction(self) -> &'static str {
        match self {
            Bf16Path::Portable => "scalar f32 mul_add",
            Bf16Path::Avx2 => "vfmadd231ps ymm",
            Bf16Path::Avx512Bf16 => "vdpbf16ps zmm",
        }
    }
}

impl std::fmt::Display for Bf16Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Not yet detected; otherwise `1 + index` in [`ALL_PATHS`].
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// The widest bf16 path this CPU runs (detected once, then cached).
pub fn path() -> Bf16Path {
    match DETECTED.load(Ordering::Relaxed) {
        d @ 1..=3 => ALL_PATHS[d as usize - 1],
        _ => {
            let i = ALL_PATHS.iter().rposition(|p| p.available()).unwrap_or(0);
            // Relaxed: every thread computes the same answer.
            DETECTED.store(1 + i as u8, Ordering::Relaxed);
            ALL_PATHS[i]
        }
    }
}

/// The paths this CPU runs, narrowest first (always starts with [`Bf16Path::Portable`]).
#[cfg(test)]
pub fn available_paths() -> Vec<Bf16Path> {
    ALL_PATHS.into_iter().filter(|p| p.available()).collect()
}

/// A matrix laid out for the bf16 kernels: `rows` rows of `k` bf16 values, each row padded with
/// zeros to [`PackedRows::stride`] (a multiple of [`BLOCK`]). Reusable: packing again into the
/// same value keeps its allocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackedRows {
    rows: usize,
    k: usize,
    stride: usize,
    data: Vec<u16>,
}

impl PackedRows {
    /// An empty matrix (0 x 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Packs `op(S)` (`rows x k`) rounded to bf16, where `src` holds `S` row-major: `rows x k`
    /// for [`Transpose::No`], `k x rows` for [`Transpose::Yes`].
    ///
    /// # Panics
    /// When `src` holds fewer than `rows * k` values (a caller bug).
    pub fn pack(&mut self, t: Transpose, rows: usize, k: usize, src: &[f32]) {
        let need = rows
            .checked_mul(k)
            .unwrap_or_else(|| panic!("bf16 pack: {rows}x{k} overflows usize"));
        assert!(
            src.len() >= need,
            "bf16 pack: {} values, needs {rows}x{k}",
            src.len()
        );
        let stride = k.div_ceil(BLOCK) * BLOCK;
        self.rows = rows;
        self.k = k;
        self.stride = stride;
        self.data.clear();
        self.data.resize(rows * stride, 0);
        if stride == 0 {
            return;
        }
        match t {
            Transpose::No => {
                for (dst, s) in self.data.chunks_exact_mut(stride).zip(src.chunks_exact(k)) {
                    for (d, &v) in dst.iter_mut().zip(s) {
                        *d = to_bf16(v);
                    }
                }
            }
            Transpose::Yes => {
                // Blocks of 8 destination rows: each source row is read once per block, and
                // the 8 writes per source value land in 8 rows that stay in cache.
                for r0 in (0..rows).step_by(8) {
                    let r1 = (r0 + 8).min(rows);
                    for (p, s) in src.chunks_exact(rows).take(k).enumerate() {
                        for (r, &v) in s[r0..r1].iter().enumerate() {
                            self.data[(r0 + r) * stride + p] = to_bf16(v);
                        }
                    }
                }
            }
        }
    }

    /// A packed copy of `op(S)` (see [`PackedRows::pack`]).
    pub fn from_f32(t: Transpose, rows: usize, k: usize, src: &[f32]) -> Self {
        let mut p = Self::new();
        p.pack(t, rows, k, src);
        p
    }

    /// The bf16 bit pattern of element `(r, p)` (`p < depth`).
    #[cfg(test)]
    fn get(&self, r: usize, p: usize) -> u16 {
        self.data[r * self.stride + p]
    }

    fn row(&self, r: usize) -> &[u16] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }
}

/// Below this many multiply-adds a product runs on the calling thread (as for the `f32` GEMM).
const PARALLEL_MIN_MACS: usize = 1 << 18;

/// `C (a.rows x b.rows) = A B^T`, or `C += A B^T` when `accumulate`, on this CPU's widest path
/// ([`path`]), split over the current pool's threads when large (same bits for any split).
///
/// # Panics
/// When the depths differ or `c` is shorter than `a.rows() * b.rows()` (caller bugs).
pub fn product(a: &PackedRows, b: &PackedRows, c: &mut [f32], accumulate: bool) {
    product_on(path(), a, b, c, accumulate);
}

/// [`product`] on a given path, which must be one this CPU runs.
///
/// # Panics
/// As [`product`], and when `path` is not [`Bf16Path::available`] here.
pub fn product_on(path: Bf16Path, a: &PackedRows, b: &PackedRows, c: &mut [f32], accumulate: bool) {
    assert!(
        path.available(),
        "bf16 product: this CPU cannot run the {path} path"
    );
    assert_eq!(a.k, b.k, "bf16 product: depths {} and {} differ", a.k, b.k);
    let (m, n) = (a.rows, b.rows);
    assert!(
        c.len() >= m * n,
        "bf16 product: C has {} values, needs {m}x{n}",
        c.len()
    );
    let c = &mut c[..m * n];
    if m == 0 || n == 0 {
        return;
    }
    let threads = threads_here();
    let macs = m.saturating_mul(n).saturating_mul(a.stride.max(1));
    if threads <= 1 || macs < PARALLEL_MIN_MACS || m < 4 {
        rows_on(path, a, b, 0, c, accumulate);
        return;
    }
    let parts = threads.min(m / 2);
    // Even blocks, so that the 2-row tiles of the vector paths stay whole.
    let block = m.div_ceil(parts).div_ceil(2) * 2;
    if parts == 2 {
        let (c0, c1) = c.split_at_mut(block * n);
        super::run_split((0, c0), (block, c1), |(start, part)| {
            rows_on(path, a, b, start, part, accumulate)
        });
        return;
    }
    rayon::scope(|s| {
        for (p, part) in c.chunks_mut(block * n).enumerate() {
            s.spawn(move |_| rows_on(path, a, b, p * block, part, accumulate));
        }
    });
}

/// Rows `start..start + c.len() / n` of the product, into `c`.
fn rows_on(
    path: Bf16Path,
    a: &PackedRows,
    b: &PackedRows,
    start: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    match path {
        Bf16Path::Portable => portable::rows(a, b, start, c, accumulate),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `product_on` asserted `path.available()`: this CPU has AVX2 and FMA.
        Bf16Path::Avx2 => unsafe { avx2::rows(a, b, start, c, accumulate) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above: this CPU has AVX-512F and AVX-512 BF16.
        Bf16Path::Avx512Bf16 => unsafe { avx512::rows(a, b, start, c, accumulate) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the portable path is available off x86-64"),
    }
}

/// The lane tree of the summation order: `s[l] += s[l + 8]`, `+4`, `+2`, `+1`.
#[inline]
fn reduce(mut s: [f32; LANES]) -> f32 {
    let mut w = LANES / 2;
    while w > 0 {
        for l in 0..w {
            s[l] += s[l + w];
        }
        w /= 2;
    }
    s[0]
}

/// Writes or accumulates one output.
#[inline]
fn store(c: &mut f32, v: f32, accumulate: bool) {
    *c = if accumulate { *c + v } else { v };
}

/// The scalar reference path.
mod portable {
    use super::{BLOCK, LANES, PackedRows, from_bf16, reduce, store};

    /// One output: the lane accumulators of the documented order, then the tree.
    pub(super) fn dot(a: &[u16], b: &[u16]) -> f32 {
        let mut s = [0.0f32; LANES];
        for (qa, qb) in a.chunks_exact(BLOCK).zip(b.chunks_exact(BLOCK)) {
            for (l, acc) in s.iter_mut().enumerate() {
                let (e, o) = (2 * l, 2 * l + 1);
                *acc = from_bf16(qa[o]).mul_add(from_bf16(qb[o]), *acc);
                *acc = from_bf16(qa[e]).mul_add(from_bf16(qb[e]), *acc);
            }
        }
        reduce(s)
    }

    pub(super) fn rows(a: &PackedRows, b: &PackedRows, start: usize, c: &mut [f32], acc: bool) {
        let n = b.rows;
        for (i, crow) in c.chunks_exact_mut(n).enumerate() {
            let ar = a.row(start + i);
            for (j, cj) in crow.iter_mut().enumerate() {
                store(cj, dot(ar, b.row(j)), acc);
            }
        }
    }
}

/// Drives a path's `R x C` tile function over rows `start..` of `C`: 2 x 2 tiles, then 2 x 1,
/// 1 x 2 and 1 x 1 at the edges. (A macro: the tile sizes are const generics of a
/// `#[target_feature]` function.)
#[cfg(target_arch = "x86_64")]
macro_rules! drive_tiles {
    ($tile:ident, $a:expr, $b:expr, $start:expr, $c:expr, $acc:expr) => {{
        let (a, b, start, c, acc): (&PackedRows, &PackedRows, usize, &mut [f32], bool) =
            ($a, $b, $start, $c, $acc);
        let n = b.rows;
        let m = c.len() / n;
        let mut i = 0;
        while i < m {
            let two_rows = i + 1 < m;
            let mut j = 0;
            while j < n {
                let two_cols = j + 1 < n;
                match (two_rows, two_cols) {
                    (true, true) => {
                        let t = $tile::<2, 2>(
                            [a.row(start + i), a.row(start + i + 1)],
                            [b.row(j), b.row(j + 1)],
                        );
                        for (r, tr) in t.iter().enumerate() {
                            for (q, &v) in tr.iter().enumerate() {
                                store(&mut c[(i + r) * n + j + q], v, acc);
                            }
                        }
                    }
                    (true, false) => {
                        let t = $tile::<2, 1>([a.row(start + i), a.row(start + i + 1)], [b.row(j)]);
                        store(&mut c[i * n + j], t[0][0], acc);
                        store(&mut c[(i + 1) * n + j], t[1][0], acc);
                    }
                    (false, true) => {
                        let t = $tile::<1, 2>([a.row(start + i)], [b.row(j), b.row(j + 1)]);
                        store(&mut c[i * n + j], t[0][0], acc);
                        store(&mut c[i * n + j + 1], t[0][1], acc);
                    }
                    (false, false) => {
                        let t = $tile::<1, 1>([a.row(start + i)], [b.row(j)]);
                        store(&mut c[i * n + j], t[0][0], acc);
                    }
                }
                j += if two_cols { 2 } else { 1 };
            }
            i += if two_rows { 2 } else { 1 };
        }
    }};
}

/// AVX2 + FMA: 16 bf16 values per load, widened by a shift (even elements) and a mask (odd).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BLOCK, PackedRows, store};
    use std::arch::x86_64::*;

    /// `(even, odd)` elements of 16 bf16 values as two 8-lane `f32` vectors: lane `l` of each
    /// holds element `2l` / `2l + 1` (little-endian: the even element is the low half of 32-bit
    /// word `l`).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn widen(v: __m256i) -> (__m256, __m256) {
        let even = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(v));
        let odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(-65536)));
        (even, odd)
    }

    /// An `R x C` tile of outputs `dot(a[r], b[c])`, each in the documented order: the register
    /// pair `acc[r][c]` holds lanes 0-7 (elements 0-15 of each block) and 8-15 (16-31).
    // why: `r`, `c` and `h` index several arrays in step (registers, rows, halves); iterators
    // over one of them would hide the pairing the summation order depends on.
    #[allow(clippy::needless_range_loop)]
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn tile<const R: usize, const C: usize>(a: [&[u16]; R], b: [&[u16]; C]) -> [[f32; C]; R] {
        let stride = a[0].len();
        for row in a.iter().chain(b.iter()) {
            assert_eq!(row.len(), stride, "bf16 tile: rows of unequal stride");
        }
        assert_eq!(stride % BLOCK, 0, "bf16 tile: stride not a multiple of 32");
        let mut acc = [[[_mm256_setzero_ps(); 2]; C]; R];
        let mut q = 0;
        while q < stride {
            for h in 0..2 {
                let mut ea = [_mm256_setzero_ps(); R];
                let mut oa = [_mm256_setzero_ps(); R];
                for r in 0..R {
                    // SAFETY: `q + 16 * h + 16 <= stride = a[r].len()` (q steps by 32 below the
                    // stride, a multiple of 32, checked above); unaligned load.
                    let v = unsafe {
                        _mm256_loadu_si256(a[r].as_ptr().add(q + 16 * h).cast::<__m256i>())
                    };
                    (ea[r], oa[r]) = widen(v);
                }
                let mut eb = [_mm256_setzero_ps(); C];
                let mut ob = [_mm256_setzero_ps(); C];
                for c in 0..C {
                    // SAFETY: as above, for `b[c]` (same stride, checked).
                    let v = unsafe {
                        _mm256_loadu_si256(b[c].as_ptr().add(q + 16 * h).cast::<__m256i>())
                    };
                    (eb[c], ob[c]) = widen(v);
                }
                for r in 0..R {
                    for c in 0..C {
                        // The odd element of each pair first, then the even one.
                        let s = _mm256_fmadd_ps(oa[r], ob[c], acc[r][c][h]);
                        acc[r][c][h] = _mm256_fmadd_ps(ea[r], eb[c], s);
                    }
                }
            }
            q += BLOCK;
        }
        let mut out = [[0.0f32; C]; R];
        for r in 0..R {
            for c in 0..C {
                // Tree step `s[l] += s[l + 8]` in one add, then the rest in scalar.
                let s = _mm256_add_ps(acc[r][c][0], acc[r][c][1]);
                let mut t = [0.0f32; 8];
                // SAFETY: `t` holds 8 f32; unaligned store.
                unsafe { _mm256_storeu_ps(t.as_mut_ptr(), s) };
                for l in 0..4 {
                    t[l] += t[l + 4];
                }
                for l in 0..2 {
                    t[l] += t[l + 2];
                }
                out[r][c] = t[0] + t[1];
            }
        }
        out
    }

    /// Rows `start..` of the product into `c`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn rows(
        a: &PackedRows,
        b: &PackedRows,
        start: usize,
        c: &mut [f32],
        accumulate: bool,
    ) {
        drive_tiles!(tile, a, b, start, c, accumulate);
    }
}

/// AVX-512 BF16: `vdpbf16ps`, 32 bf16 multiply-adds per instruction.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{BLOCK, LANES, PackedRows, reduce, store};
    use std::arch::x86_64::*;

    /// 32 bf16 values from `row[q..q + 32]`.
    ///
    /// # Safety
    /// `q + 32 <= row.len()`.
    #[inline]
    #[target_feature(enable = "avx512bf16,avx512f")]
    unsafe fn load(row: &[u16], q: usize) -> __m512bh {
        // SAFETY: the caller keeps `q + 32` inside `row`; unaligned load. The transmute
        // reinterprets 512 bits as 32 bf16 values (same size, every bit pattern valid).
        unsafe {
            let v = _mm512_loadu_si512(row.as_ptr().add(q).cast::<__m512i>());
            std::mem::transmute::<__m512i, __m512bh>(v)
        }
    }

    /// An `R x C` tile of outputs `dot(a[r], b[c])`: one 16-lane register per output.
    // why: as in the AVX2 tile: `r` and `c` index the registers and the rows in step.
    #[allow(clippy::needless_range_loop)]
    #[inline]
    #[target_feature(enable = "avx512bf16,avx512f")]
    fn tile<const R: usize, const C: usize>(a: [&[u16]; R], b: [&[u16]; C]) -> [[f32; C]; R] {
        let stride = a[0].len();
        for row in a.iter().chain(b.iter()) {
            assert_eq!(row.len(), stride, "bf16 tile: rows of unequal stride");
        }
        assert_eq!(stride % BLOCK, 0, "bf16 tile: stride not a multiple of 32");
        let mut acc = [[_mm512_setzero_ps(); C]; R];
        let mut q = 0;
        while q < stride {
            let mut va = [zero(); R];
            for r in 0..R {
                // SAFETY: `q + 32 <= stride` (checked above).
                va[r] = unsafe { load(a[r], q) };
            }
            for c in 0..C {
                // SAFETY: as above.
                let vb = unsafe { load(b[c], q) };
                for r in 0..R {
                    acc[r][c] = _mm512_dpbf16_ps(acc[r][c], va[r], vb);
                }
            }
            q += BLOCK;
        }
        let mut out = [[0.0f32; C]; R];
        for r in 0..R {
            for c in 0..C {
                let mut s = [0.0f32; LANES];
                // SAFETY: `s` holds 16 f32; unaligned store.
                unsafe { _mm512_storeu_ps(s.as_mut_ptr(), acc[r][c]) };
                out[r][c] = reduce(s);
            }
        }
        out
    }

    /// A zero bf16 vector (the operand array's initial value).
    #[inline]
    #[target_feature(enable = "avx512bf16,avx512f")]
    fn zero() -> __m512bh {
        // SAFETY: all-zero bits are 32 bf16 zeros.
        unsafe { std::mem::transmute::<__m512i, __m512bh>(_mm512_setzero_si512()) }
    }

    /// Rows `start..` of the product into `c`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F and AVX-512 BF16.
    #[target_feature(enable = "avx512bf16,avx512f")]
    pub(super) unsafe fn rows(
        a: &PackedRows,
        b: &PackedRows,
        start: usize,
        c: &mut [f32],
        accumulate: bool,
    ) {
        drive_tiles!(tile, a, b, start, c, accumulate);
    }
}

// ----- Mixed-precision training: the dense layers' products in bf16 -----

/// The state of a mixed-precision scope on one thread: the packed weights of the dense layers
/// seen in this step and reusable packing buffers for the other operands.
#[derive(Debug, Default)]
struct Mixed {
    weights: Vec<WeightPack>,
    lhs: PackedRows,
    rhs: PackedRows,
}

/// One dense layer's weights (`out x in`), keyed by the address and length of its parameter
/// slice: rows for the forward product, and the transpose (`in x out`) for the input gradient.
#[derive(Debug)]
struct WeightPack {
    addr: usize,
    len: usize,
    rows: PackedRows,
    cols: PackedRows,
    cols_fresh: bool,
}

/// Most weight packs a scope keeps (one per dense layer); past this the cache starts over.
const MAX_PACKS: usize = 256;

thread_local! {
    static MIXED: std::cell::RefCell<Option<Mixed>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` inside a [`MixedScope`] (for tests).
#[cfg(test)]
pub fn mixed_precision<R>(f: impl FnOnce() -> R) -> R {
    let _scope = MixedScope::enter();
    f()
}

/// A mixed-precision scope held as a value: entered by [`MixedScope::enter`], ended (the
/// thread's previous state restored, also when unwinding from a panic) when dropped.
#[derive(Debug)]
#[must_use = "the scope ends when this value is dropped"]
pub struct MixedScope {
    before: Option<Mixed>,
    /// Thread-bound: the state lives in this thread's local storage.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl MixedScope {
    /// Starts bf16 products for the dense layers' training passes on this thread (forward
    /// `X W^T`, weight gradient `dZ^T X`, input gradient `dZ W`): operands rounded to bf16, sums
    /// in `f32`, outputs and gradients `f32`. Everything else (activations, other block kinds,
    /// the loss, the optimizer, inference) stays `f32`.
    ///
    /// A layer's weights are packed by its training forward, once per step, and the transposed
    /// copy by the first input-gradient product after it; the backward reuses both. (A block
    /// that calls the same dense layer several times per step, e.g. a recurrent one, packs at
    /// each forward.)
    pub fn enter() -> Self {
        MixedScope {
            before: MIXED.with(|m| m.replace(Some(Mixed::default()))),
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for MixedScope {
    fn drop(&mut self) {
        let before = self.before.take();
        MIXED.with(|m| *m.borrow_mut() = before);
    }
}

/// Runs `f` on this thread's mixed-precision state, or returns `None` outside a scope. The state
/// is taken out while `f` runs (the products may run on other threads; nothing re-enters).
fn with_mixed<R>(f: impl FnOnce(&mut Mixed) -> R) -> Option<R> {
    let mut state = MIXED.with(|m| m.borrow_mut().take())?;
    let r = f(&mut state);
    MIXED.with(|m| *m.borrow_mut() = Some(state));
    Some(r)
}

/// `x` as `f32`s when `T` is `f32` (the mixed-precision path serves `f32` training only; the
/// `f64` gradient checks keep the generic path).
fn as_f32<T: super::Real>(x: &[T]) -> Option<&[f32]> {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        // SAFETY: `T` is `f32` (same type id), so the slice is a `[f32]` of the same length.
        Some(unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len()) })
    } else {
        None
    }
}

/// Mutable twin of [`as_f32`].
fn as_f32_mut<T: super::Real>(x: &mut [T]) -> Option<&mut [f32]> {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        // SAFETY: as in `as_f32`; the borrow is moved into the result.
        Some(unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), x.len()) })
    } else {
        None
    }
}

impl Mixed {
    /// The index of the pack of the weights `w`, created when new.
    fn pack_of(&mut self, w: &[f32]) -> usize {
        let (addr, len) = (w.as_ptr() as usize, w.len());
        let found = self
            .weights
            .iter()
            .position(|p| p.addr == addr && p.len == len);
        match found {
            Some(i) => i,
            None => {
                if self.weights.len() >= MAX_PACKS {
                    self.weights.clear();
                }
                self.weights.push(WeightPack {
                    addr,
                    len,
                    rows: PackedRows::new(),
                    cols: PackedRows::new(),
                    cols_fresh: false,
                });
                self.weights.len() - 1
            }
        }
    }
}

/// In a [`MixedScope`] and for `f32`: `y = x W^T` (`x: batch x inp`,
/// `w: out x inp`, `y: batch x out`) in bf16, packing `w` for this step. Returns `false`
/// (having done nothing) otherwise, and the caller computes the `f32` product.
pub fn dense_forward<T: super::Real>(
    x: &[T],
    w: &[T],
    batch: usize,
    inp: usize,
    out: usize,
    y: &mut [T],
) -> bool {
    let (Some(x), Some(w), Some(y)) = (as_f32(x), as_f32(w), as_f32_mut(y)) else {
        return false;
    };
    with_mixed(|m| {
        let i = m.pack_of(&w[..out * inp]);
        let pack = &mut m.weights[i];
        pack.rows.pack(Transpose::No, out, inp, w);
        pack.cols_fresh = false;
        m.lhs.pack(Transpose::No, batch, inp, x);
        product(&m.lhs, &m.weights[i].rows, &mut y[..batch * out], false);
    })
    .is_some()
}

/// In a [`MixedScope`] and for `f32`: `d_w += d_z^T x` (`d_z: batch x out`,
/// `x: batch x inp`, `d_w: out x inp`) in bf16. Returns `false` (having done nothing)
/// otherwise.
pub fn dense_weight_grad<T: super::Real>(
    d_z: &[T],
    x: &[T],
    batch: usize,
    inp: usize,
    out: usize,
    d_w: &mut [T],
) -> bool {
    let (Some(d_z), Some(x), Some(d_w)) = (as_f32(d_z), as_f32(x), as_f32_mut(d_w)) else {
        return false;
    };
    with_mixed(|m| {
        m.lhs.pack(Transpose::Yes, out, batch, d_z);
        m.rhs.pack(Transpose::Yes, inp, batch, x);
        product(&m.lhs, &m.rhs, &mut d_w[..out * inp], true);
    })
    .is_some()
}

/// In a [`MixedScope`] and for `f32`: `d_x = d_z W` (`d_z: batch x out`,
/// `w: out x inp`, `d_x: batch x inp`) in bf16, with the transposed weights packed once per
/// step. Returns `false` (having done nothing) otherwise.
pub fn dense_input_grad<T: super::Real>(
    d_z: &[T],
    w: &[T],
    batch: usize,
    inp: usize,
    out: usize,
    d_x: &mut [T],
) -> bool {
    let (Some(d_z), Some(w), Some(d_x)) = (as_f32(d_z), as_f32(w), as_f32_mut(d_x)) else {
        return false;
    };
    with_mixed(|m| {
        let i = m.pack_of(&w[..out * inp]);
        let pack = &mut m.weights[i];
        if !pack.cols_fresh {
            pack.cols.pack(Transpose::Yes, inp, out, w);
            pack.cols_fresh = true;
        }
        m.lhs.pack(Transpose::No, batch, out, d_z);
        product(&m.lhs, &m.weights[i].cols, &mut d_x[..batch * inp], false);
    })
    .is_some()
}

// ----- Peak rate of the core instruction -----

/// Multiply-adds per second one core reaches with `path`'s core instruction alone (independent
/// accumulators in registers, no memory traffic), best of a few rounds of about `millis` ms
/// in all: the ceiling against which a product's rate is a fraction. `None` when this CPU cannot
/// run the path.
pub fn peak_macs_per_second(path: Bf16Path, millis: u64) -> Option<f64> {
    if !path.available() {
        return None;
    }
    let rounds = 5u32;
    let budget = std::time::Duration::from_millis(millis.max(5)) / rounds;
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let started = std::time::Instant::now();
        let mut instructions = 0u64;
        while started.elapsed() < budget {
            instructions += run_core_loop(path, 1 << 16);
        }
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        best = best.max(instructions as f64 * path.macs_per_instruction() as f64 / secs);
    }
    Some(best)
}

/// Runs `iters` iterations of the path's core loop and returns the instructions executed.
fn run_core_loop(path: Bf16Path, iters: u64) -> u64 {
    match path {
        Bf16Path::Portable => {
            // 8 independent chains hide the latency of a fused multiply-add.
            let mut s = [0.0f32; 8];
            let (a, b) = (
                std::hint::black_box(1.000_001f32),
                std::hint::black_box(0.5f32),
            );
            for _ in 0..iters {
                for x in &mut s {
                    *x = a.mul_add(*x, b);
                }
            }
            std::hint::black_box(s);
            iters * 8
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `peak_macs_per_second` checked `path.available()`.
        Bf16Path::Avx2 => unsafe { avx2_peak(iters) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Bf16Path::Avx512Bf16 => unsafe { avx512_peak(iters) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => 0,
    }
}

/// 10 independent `vfmadd231ps ymm` chains (enough to cover 2 ports x 4-5 cycles of latency).
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_peak(iters: u64) -> u64 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(std::hint::black_box(1.000_001));
    let b = _mm256_set1_ps(std::hint::black_box(0.5));
    let mut s = [_mm256_setzero_ps(); 10];
    for _ in 0..iters {
        for x in &mut s {
            *x = _mm256_fmadd_ps(a, *x, b);
        }
    }
    std::hint::black_box(s);
    iters * 10
}

/// 10 independent `vdpbf16ps zmm` chains.
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512 BF16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bf16,avx512f")]
unsafe fn avx512_peak(iters: u64) -> u64 {
    use std::arch::x86_64::*;
    let one = _mm512_set1_epi16(std::hint::black_box(0x3F80));
    // SAFETY: 512 bits reinterpreted as 32 bf16 ones.
    let a = unsafe { std::mem::transmute::<__m512i, __m512bh>(one) };
    let mut s = [_mm512_setzero_ps(); 10];
    for _ in 0..iters {
        for x in &mut s {
            *x = _mm512_dpbf16_ps(*x, a, a);
        }
    }
    std::hint::black_box(s);
    iters * 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect()
    }

    #[test]
    fn conversion_rounds_to_nearest_even_by_hand() {
        let cases: &[(u32, u16)] = &[
            (0x3F80_0000, 0x3F80), // 1.0 exactly
            (0x3F80_7FFF, 0x3F80), // just below half an ulp: down
            (0x3F80_8000, 0x3F80), // tie, kept part even (0x3F80): down
            (0x3F80_8001, 0x3F81), // just above half: up
            (0x3F81_8000, 0x3F82), // tie, kept part odd (0x3F81): up to even
            (0xBF80_8000, 0xBF80), // negative tie: to even, sign kept
            (0xBF81_8000, 0xBF82),
            (0x3FFF_8000, 0x4000), // tie rounding up carries into the exponent
            (0x7F7F_7FFF, 0x7F7F), // largest bf16 stays
            (0x7F7F_8000, 0x7F80), // past the largest bf16 (a tie, odd): infinity
            (0x7F7F_FFFF, 0x7F80), // f32::MAX: infinity
            (0x7F80_0000, 0x7F80), // +inf
            (0xFF80_0000, 0xFF80), // -inf
            (0x0000_0000, 0x0000), // +0
            (0x8000_0000, 0x8000), // -0
            (0x0000_0001, 0x0000), // smallest subnormal: rounds to +0
            (0x0000_8000, 0x0000), // subnormal tie, even: down
            (0x0001_8000, 0x0002), // subnormal tie, odd: up
            (0x0000_C000, 0x0001), // subnormal above half: the smallest bf16 subnormal
            (0x007F_FFFF, 0x0080), // largest subnormal rounds up to the smallest normal
            (0x8000_C000, 0x8001), // negative subnormal
        ];
        for &(bits, want) in cases {
            assert_eq!(
                to_bf16(f32::from_bits(bits)),
                want,
                "{bits:#010x} ({:e})",
                f32::from_bits(bits)
            );
        }
        // NaN stays NaN (quiet, sign kept), including a signalling NaN whose payload lies only in
        // the dropped bits (truncation would make it infinity).
        for bits in [0x7FC0_0000u32, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF] {
            let b = to_bf16(f32::from_bits(bits));
            assert!(from_bf16(b).is_nan(), "{bits:#010x} -> {b:#06x}");
            assert_eq!(b & 0x8000, (bits >> 16) as u16 & 0x8000);
        }
        assert_eq!(from_bf16(0x3F80), 1.0);
        assert_eq!(from_bf16(0xC0A0), -5.0);
        assert_eq!(round_bf16(1.0 + 1.0 / 128.0), 1.0 + 1.0 / 128.0); // 8 significant bits: exact
        assert_eq!(round_bf16(1.0 + 1.0 / 512.0), 1.0);
    }

    #[test]
    fn conversion_is_the_nearest_bf16_over_many_values() {
        // Against a slow definition: the nearer of the two bf16 neighbours (truncation and the
        // next one up), the even one on a tie.
        let mut rng = Rng::seed_from(11);
        for _ in 0..20_000 {
            let bits = (rng.next_u64() >> 32) as u32;
            let x = f32::from_bits(bits);
            if x.is_nan() {
                continue;
            }
            let lo = (bits >> 16) as u16;
            let hi = lo.wrapping_add(1);
            let (dlo, dhi) = (
                (f64::from(x) - f64::from(from_bf16(lo))).abs(),
                (f64::from(from_bf16(hi)) - f64::from(x)).abs(),
            );
            let rest = bits & 0xFFFF;
            let want = if rest < 0x8000 || (rest == 0x8000 && lo.is_multiple_of(2)) {
                lo
            } else {
                hi
            };
            assert_eq!(to_bf16(x), want, "{bits:#010x}");
            if from_bf16(hi).is_finite() {
                assert!(if want == lo { dlo <= dhi } else { dhi <= dlo });
            }
        }
    }

    /// `C = A B^T` in `f64` on the bf16-rounded operands (exact products, nearly exact sums).
    fn exact(a: &PackedRows, b: &PackedRows) -> (Vec<f64>, Vec<f64>) {
        let (m, n, k) = (a.rows, b.rows, a.k);
        let mut c = vec![0.0; m * n];
        let mut mag = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let t = f64::from(from_bf16(a.get(i, p))) * f64::from(from_bf16(b.get(j, p)));
                    c[i * n + j] += t;
                    mag[i * n + j] += t.abs();
                }
            }
        }
        (c, mag)
    }

    /// The bound of the documented order: at most `k/16 + 2` additions per lane and 4 tree
    /// levels, each adding at most one rounding of `2^-24` relative to the sum of magnitudes.
    fn bound(k: usize, magnitude: f64) -> f64 {
        ((k.div_ceil(LANES) + 8) as f64) * 2f64.powi(-24) * magnitude + 1e-30
    }

    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 7, 13),
        (13, 1, 7),
        (3, 5, 32),
        (2, 2, 33),
        (17, 31, 29),
        (5, 3, 100),
        (64, 10, 128),
        (33, 65, 257),
        (4, 4, 0),
    ];

    #[test]
    fn packing_transposes_and_pads_with_zeros() {
        let mut rng = Rng::seed_from(2);
        let (rows, k) = (5, 37);
        let s = random(rows * k, &mut rng);
        let mut st = vec![0.0f32; rows * k]; // the stored transpose: k x rows
        for r in 0..rows {
            for p in 0..k {
                st[p * rows + r] = s[r * k + p];
            }
        }
        let a = PackedRows::from_f32(Transpose::No, rows, k, &s);
        let mut b = PackedRows::from_f32(Transpose::No, 9, 70, &random(9 * 70, &mut rng));
        b.pack(Transpose::Yes, rows, k, &st); // reuse of a larger buffer: padding re-zeroed
        assert_eq!(a, b);
        assert_eq!(a.stride, 64);
        for r in 0..rows {
            for p in 0..k {
                assert_eq!(a.get(r, p), to_bf16(s[r * k + p]));
            }
            assert!(a.row(r)[k..].iter().all(|&z| z == 0));
        }
    }

    #[test]
    fn every_available_path_is_bit_identical_to_the_reference_on_odd_shapes() {
        let mut rng = Rng::seed_from(1);
        let paths = available_paths();
        eprintln!("bf16 paths on this CPU: {paths:?}");
        for &(m, n, k) in SHAPES {
            for ta in [Transpose::No, Transpose::Yes] {
                for tb in [Transpose::No, Transpose::Yes] {
                    let a = PackedRows::from_f32(ta, m, k, &random(m * k, &mut rng));
                    let b = PackedRows::from_f32(tb, n, k, &random(n * k, &mut rng));
                    let c0 = random(m * n, &mut rng);
                    let (want, mag) = exact(&a, &b);
                    for accumulate in [false, true] {
                        let mut reference = c0.clone();
                        product_on(Bf16Path::Portable, &a, &b, &mut reference, accumulate);
                        for (i, (&r, (&w, &g))) in
                            reference.iter().zip(want.iter().zip(&mag)).enumerate()
                        {
                            let w = w + if accumulate { f64::from(c0[i]) } else { 0.0 };
                            let g = g + if accumulate {
                                f64::from(c0[i].abs())
                            } else {
                                0.0
                            };
                            assert!(
                                (f64::from(r) - w).abs() <= bound(k, g) + 2f64.powi(-24) * g,
                                "{m}x{n}x{k}: {r} vs {w}"
                            );
                        }
                        for &p in &paths {
                            if p == Bf16Path::Avx512Bf16 {
                                continue; // its own test: a bound, not bits
                            }
                            let mut got = c0.clone();
                            product_on(p, &a, &b, &mut got, accumulate);
                            assert!(
                                got.iter()
                                    .zip(&reference)
                                    .all(|(g, r)| g.to_bits() == r.to_bits()),
                                "{p} differs from portable on {m}x{n}x{k} {ta:?}{tb:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn subnormal_and_special_operands_agree_between_portable_and_avx2() {
        if !Bf16Path::Avx2.available() {
            eprintln!("skip: this CPU has no avx2+fma bf16 path");
            return;
        }
        // Products and sums in the subnormal range, infinities and NaN: the same fused
        // multiply-adds, so the same bits (NaN compared as NaN).
        let k = 64;
        let mut rng = Rng::seed_from(4);
        let mut a = random(3 * k, &mut rng);
        let mut b = random(3 * k, &mut rng);
        for (i, x) in a.iter_mut().enumerate() {
            *x *= 1e-20;
            if i % 7 == 0 {
                *x = f32::from_bits(0x0001_0000 * (i as u32 % 5 + 1)); // bf16 subnormals
            }
        }
        for x in b.iter_mut() {
            *x *= 1e-19;
        }
        b[5] = f32::INFINITY;
        a[2 * k + 9] = f32::NAN;
        let pa = PackedRows::from_f32(Transpose::No, 3, k, &a);
        let pb = PackedRows::from_f32(Transpose::No, 3, k, &b);
        let mut r = vec![0.0f32; 9];
        let mut v = vec![0.0f32; 9];
        product_on(Bf16Path::Portable, &pa, &pb, &mut r, false);
        product_on(Bf16Path::Avx2, &pa, &pb, &mut v, false);
        for (x, y) in r.iter().zip(&v) {
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{x} vs {y}"
            );
        }
        assert!(r.iter().any(|x| x.is_nan()) && r.iter().any(|x| x.is_infinite()));
        assert!(r.iter().any(|&x| x != 0.0 && x.abs() < 1e-30));
    }

    #[test]
    fn avx512bf16_matches_the_reference() {
        if !Bf16Path::Avx512Bf16.available() {
            eprintln!("skip: this CPU has no avx512bf16 (vdpbf16ps); the path was not run");
            return;
        }
        let mut rng = Rng::seed_from(9);
        let (mut differing, mut total) = (0usize, 0usize);
        for &(m, n, k) in SHAPES {
            let a = PackedRows::from_f32(Transpose::No, m, k, &random(m * k, &mut rng));
            let b = PackedRows::from_f32(Transpose::Yes, n, k, &random(n * k, &mut rng));
            let (_, mag) = exact(&a, &b);
            let mut reference = vec![0.0f32; m * n];
            let mut got = vec![0.0f32; m * n];
            product_on(Bf16Path::Portable, &a, &b, &mut reference, false);
            product_on(Bf16Path::Avx512Bf16, &a, &b, &mut got, false);
            for ((g, r), &s) in got.iter().zip(&reference).zip(&mag) {
                // Normal-range operands: both within the order's bound of the exact sum.
                assert!(
                    (f64::from(*g) - f64::from(*r)).abs() <= 2.0 * bound(k, s),
                    "{m}x{n}x{k}: {g} vs {r}"
                );
                differing += usize::from(g.to_bits() != r.to_bits());
                total += 1;
            }
        }
        eprintln!("avx512bf16: {differing} of {total} results differ in some bit from portable");
    }

    #[test]
    fn threaded_product_equals_the_single_threaded_bits() {
        let mut rng = Rng::seed_from(3);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let pool3 = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        let (m, n, k) = (131, 70, 200);
        let a = PackedRows::from_f32(Transpose::No, m, k, &random(m * k, &mut rng));
        let b = PackedRows::from_f32(Transpose::No, n, k, &random(n * k, &mut rng));
        let mut one = vec![0.0f32; m * n];
        crate::kernels::serial(|| product(&a, &b, &mut one, false));
        for p in [&pool, &pool3] {
            for _ in 0..20 {
                let mut got = vec![0.0f32; m * n];
                p.install(|| product(&a, &b, &mut got, false));
                assert!(
                    got.iter()
                        .zip(&one)
                        .all(|(g, o)| g.to_bits() == o.to_bits())
                );
            }
        }
    }

    /// The bf16 dense backward is the backward of the bf16-rounded operands: a dense layer
    /// (identity activation, so `dZ = dY`) run in a mixed-precision scope against the same layer
    /// in `f64` on the rounded input, weights and output gradient.
    #[test]
    fn bf16_dense_backward_is_the_backward_of_the_rounded_operands() {
        use crate::layers::{Block, Cx, Dense, Init};
        let mut rng = Rng::seed_from(5);
        let (batch, inp, out) = (37, 45, 19);
        let layer = Dense {
            in_features: inp,
            out_features: out,
            activation: crate::Activation::Identity,
            bias: true,
            init: Init::XavierUniform,
            trainable: true,
        };
        let np = layer.n_params();
        let params = random(np, &mut rng);
        let x = random(batch * inp, &mut rng);
        let g = random(batch * out, &mut rng);
        let (mut y, mut dx) = (vec![0.0f32; batch * out], vec![0.0f32; batch * inp]);
        let mut dp = vec![0.0f32; np];
        let mut dy = g.clone();
        mixed_precision(|| {
            let mut r = Rng::seed_from(0);
            layer.forward(
                &mut Cx::forward(&params, &mut [], batch, &mut r),
                &x,
                &mut y,
            );
            let mut cx = Cx {
                params: &params,
                d_params: &mut dp,
                aux: &mut [],
                batch,
                rng: &mut r,
            };
            layer.backward(&mut cx, &x, &y, &mut dy, Some(&mut dx));
        });
        // The f64 reference on rounded operands (the bias is added in f32 on both sides).
        let r64 = |v: &[f32]| -> Vec<f64> { v.iter().map(|&t| f64::from(round_bf16(t))).collect() };
        let nw = out * inp;
        let mut p64 = r64(&params[..nw]);
        p64.extend(params[nw..].iter().map(|&t| f64::from(t)));
        let (x64, g64) = (r64(&x), r64(&g));
        let (mut y64, mut dx64) = (vec![0.0f64; batch * out], vec![0.0f64; batch * inp]);
        let mut dp64 = vec![0.0f64; np];
        let mut dy64 = g64.clone();
        let mut r = Rng::seed_from(0);
        layer.forward(
            &mut Cx::forward(&p64, &mut [], batch, &mut r),
            &x64,
            &mut y64,
        );
        let mut cx = Cx {
            params: &p64,
            d_params: &mut dp64,
            aux: &mut [],
            batch,
            rng: &mut r,
        };
        layer.backward(&mut cx, &x64, &y64, &mut dy64, Some(&mut dx64));
        // Every |operand| < 1: the sum of |products| is at most the depth.
        let close = |got: &[f32], want: &[f64], k: usize, what: &str| {
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                let tol = bound(k, k as f64) + 2f64.powi(-23) * w.abs() + 1e-6;
                assert!((f64::from(*g) - w).abs() <= tol, "{what}[{i}]: {g} vs {w}");
            }
        };
        close(&y, &y64, inp, "y");
        close(&dp[..nw], &dp64[..nw], batch, "dW");
        // The bias gradient sums dZ in f32, unrounded (no product).
        let db: Vec<f64> = (0..out)
            .map(|j| (0..batch).map(|b| f64::from(g[b * out + j])).sum())
            .collect();
        close(&dp[nw..], &db, batch, "db");
        close(&dx, &dx64, out, "dx");
        // And the bf16 path did run: the f32 layer on unrounded operands differs.
        let mut y32 = vec![0.0f32; batch * out];
        let mut r = Rng::seed_from(0);
        layer.forward(
            &mut Cx::forward(&params, &mut [], batch, &mut r),
            &x,
            &mut y32,
        );
        assert!(y.iter().zip(&y32).any(|(a, b)| (a - b).abs() > 1e-4));
    }

    /// The weights packed by a step's forward serve its backward, and the next step's forward
    /// repacks the changed weights.
    #[test]
    fn weights_are_repacked_by_each_forward() {
        let mut rng = Rng::seed_from(6);
        let (batch, inp, out) = (8, 40, 6);
        let mut w = random(out * inp, &mut rng);
        let x = random(batch * inp, &mut rng);
        let dz = random(batch * out, &mut rng);
        let mut y = vec![0.0f32; batch * out];
        let mut dx = vec![0.0f32; batch * inp];
        mixed_precision(|| {
            for _step in 0..3 {
                assert!(dense_forward(&x, &w, batch, inp, out, &mut y));
                assert!(dense_input_grad(&dz, &w, batch, inp, out, &mut dx));
                let want_y = {
                    let a = PackedRows::from_f32(Transpose::No, batch, inp, &x);
                    let b = PackedRows::from_f32(Transpose::No, out, inp, &w);
                    let mut c = vec![0.0f32; batch * out];
                    product(&a, &b, &mut c, false);
                    c
                };
                let want_dx = {
                    let a = PackedRows::from_f32(Transpose::No, batch, out, &dz);
                    let b = PackedRows::from_f32(Transpose::Yes, inp, out, &w);
                    let mut c = vec![0.0f32; batch * inp];
                    product(&a, &b, &mut c, false);
                    c
                };
                assert_eq!(y, want_y);
                assert_eq!(dx, want_dx);
                for v in &mut w {
                    *v += 0.125; // an optimizer step, in place
                }
            }
        });
        // Outside a scope (and for f64) the hooks do nothing.
        assert!(!dense_forward(&x, &w, batch, inp, out, &mut y));
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
        let mut y64 = vec![0.0f64; batch * out];
        mixed_precision(|| assert!(!dense_forward(&x64, &w64, batch, inp, out, &mut y64)));
    }

    #[test]
    fn peak_rate_is_measured_for_the_available_paths() {
        for p in available_paths() {
            let rate = peak_macs_per_second(p, 10).expect("available");
            assert!(rate > 0.0, "{p}: {rate}");
        }
    }

    /// A bf16 run on a small table: the loss falls and the accuracy is close to the f32 run's;
    /// the same seed gives the same bits twice.
    #[test]
    fn bf16_training_learns_like_f32_on_a_small_table() {
        use crate::Activation;
        use crate::loss::Loss;
        use crate::spec::ModelSpec;
        use crate::train::{NoHooks, Precision, TrainConfig, TrainState, evaluate_loss, train};
        let data = crate::data::generate::two_moons(600, 0.15, 3).expect("data");
        let loss = Loss::CrossEntropy {
            label_smoothing: 0.0,
        };
        let run = |precision: Precision| {
            let mut net = ModelSpec::mlp(2, &[32, 32], 2, Activation::Relu, 0.0)
                .build(1)
                .expect("net");
            let cfg = TrainConfig::default()
                .with_epochs(40)
                .with_batch_size(32)
                .with_lr(Some(0.01))
                .with_patience(None)
                .with_seed(7)
                .with_threads(2)
                .with_precision(precision);
            let mut state = TrainState::default();
            train(&mut net, &data, None, &cfg, &loss, &mut state, &mut NoHooks).expect("train");
            let (_, acc) = evaluate_loss(&net, &data, &loss, None);
            let losses: Vec<f64> = state.history.iter().map(|r| r.train_loss).collect();
            (net.params.clone(), acc.expect("accuracy"), losses)
        };
        let (p32, acc32, _) = run(Precision::F32);
        let (p16, acc16, losses) = run(Precision::Bf16);
        let (again, _, _) = run(Precision::Bf16);
        assert!(losses[losses.len() - 1] < 0.5 * losses[0], "{losses:?}");
        assert!((acc16 - acc32).abs() <= 0.03, "bf16 {acc16} vs f32 {acc32}");
        assert!(acc16 > 0.9, "{acc16}");
        assert_ne!(p16, p32, "the bf16 run must differ from the f32 one");
        assert!(
            p16.iter()
                .zip(&again)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }
}
