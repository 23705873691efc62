//! The engine's one matrix-multiplication entry point.
//!
//! `C (m x n) <- alpha * op(A) * op(B) + beta * C`, all matrices row-major and contiguous, where
//! `op(A)` is `m x k` and `op(B)` is `k x n`. The inner kernel is `matrixmultiply` (pure Rust,
//! runtime AVX2/FMA detection, fast single-threaded at MLP shapes). Threading is ours: when the
//! product is large enough to pay for it, the rows (or, for short-and-wide outputs, the columns)
//! of `C` are split into one contiguous block per thread of the current rayon pool. Each element of
//! `C` is computed by exactly one thread with the same summation order whatever the split, so the
//! result is bit-identical for a given thread count.
//!
//! A single row times a transposed matrix (single-sample inference through a dense layer) skips
//! the GEMM: it is a set of fixed-order dot products ([`Real::dot_rows`]), split over this thread
//! and a spinning helper core (see `helper_core`) when the pool has more than one thread. Its
//! result does not depend on the split or on the CPU's vector width.
//!
//! Engine-internal; programs time it through [`crate::perf::gemm_gflops`].

use super::Real;

/// Whether an operand is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the matrix as stored.
    No,
    /// Use its transpose.
    Yes,
}

/// Below this many multiply-adds a product runs on the calling thread: splitting costs more than
/// it saves (measured on 2-core Zen 3; see the performance notes in BENCHMARKS.md).
/// (Under Miri, far lower, so its tests reach the threaded split with shapes it can interpret.)
const PARALLEL_MIN_MACS: usize = if cfg!(miri) { 1 << 10 } else { 1 << 18 };

/// Strides (row, column) of `op(X)` for a row-major stored matrix.
fn op_strides(t: Transpose, stored_cols: usize) -> (isize, isize) {
    match t {
        Transpose::No => (stored_cols as isize, 1),
        Transpose::Yes => (1, stored_cols as isize),
    }
}

thread_local! {
    static SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every [`gemm`] on this thread kept single-threaded: for callers that already
/// split work across threads (each owning a block of rows), where nested splitting only costs.
pub fn serial<R>(f: impl FnOnce() -> R) -> R {
    let before = SERIAL.with(|s| s.replace(true));
    let result = f();
    SERIAL.with(|s| s.set(before));
    result
}

/// Threads a kernel called here may use: 1 inside [`serial`], else the current rayon pool's.
pub(crate) fn threads_here() -> usize {
    if SERIAL.with(|s| s.get()) {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// The output pointer handed to the parts of a threaded [`gemm`]: each part writes its own
/// disjoint block of `C` through it, which is what sending `&mut` sub-slices would allow, so it
/// is `Send`/`Sync` exactly when `T: Send`.
struct SendPtr<T>(*mut T);
// SAFETY: sharing or sending the pointer lets other threads write `T`s through it, as sending
// disjoint `&mut [T]` pieces would (sound for `T: Send`); `gemm` gives each part a disjoint
// block of C and waits for all parts before returning, so the borrow of `c` outlives every use.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above: shared references to it are only used to write disjoint blocks.
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// An input pointer (`A` or `B`) read by every part of a threaded [`gemm`], as a shared `&[T]`
/// would be: `Send`/`Sync` exactly when `T: Sync`. (A pointer, not an address cast to `usize`,
/// so it keeps its provenance.)
struct SharedPtr<T>(*const T);
// SAFETY: it only reads `T`s the caller borrows immutably for the whole product, as sharing
// `&[T]` across threads would (sound for `T: Sync`).
unsafe impl<T: Sync> Send for SharedPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for SharedPtr<T> {}

/// `rows * cols`, panicking (a caller bug) instead of wrapping in a release build, where a
/// wrapped product would let a short slice pass the length checks.
#[track_caller]
fn elements(what: &str, rows: usize, cols: usize) -> usize {
    rows.checked_mul(cols)
        .unwrap_or_else(|| panic!("gemm: {what} of {rows}x{cols} overflows usize"))
}

/// `C <- alpha * op(A) * op(B) + beta * C` (row-major, contiguous).
///
/// `a` holds `op(A)` (`m x k`) as stored: `m x k` when `ta` is [`Transpose::No`], `k x m` when
/// [`Transpose::Yes`]; likewise `b` for `op(B)` (`k x n`). When `beta` is zero, `C` is overwritten
/// (NaNs in it do not propagate).
///
/// # Panics
/// When a slice is shorter than its dimensions require (a bug in the caller, not user input).
#[track_caller]
// why: the BLAS signature (transposes, m, n, k, alpha, A, B, beta, C) that every caller and
// reference implementation reads; a struct would only rename its ten well-known slots.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut [T],
) {
    let (need_a, need_b, need_c) = (
        elements("A", m, k),
        elements("B", k, n),
        elements("C", m, n),
    );
    assert!(
        a.len() >= need_a,
        "gemm: A has {} elements, needs {}x{}",
        a.len(),
        m,
        k
    );
    assert!(
        b.len() >= need_b,
        "gemm: B has {} elements, needs {}x{}",
        b.len(),
        k,
        n
    );
    assert!(
        c.len() >= need_c,
        "gemm: C has {} elements, needs {}x{}",
        c.len(),
        m,
        n
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for x in &mut c[..m * n] {
            *x = if beta == T::zero() {
                T::zero()
            } else {
                *x * beta
            };
        }
        return;
    }
    let threads = threads_here();
    if m == 1 && tb == Transpose::Yes {
        // One row times a row-major `n x k` matrix transposed: n contiguous dot products. This is
        // single-sample inference (x W^T); packing W for a GEMM would cost more than the product.
        gemv_rows(threads, alpha, &a[..k], &b[..n * k], beta, &mut c[..n]);
        return;
    }
    // No stride or offset below overflows `isize`: `m, n, k >= 1` here, so `m`, `n` and `k` are
    // each at most a product that fits in a slice (`m * k <= a.len()`, ...), and a slice never
    // holds more than `isize::MAX` bytes.
    let (rsa, csa) = op_strides(ta, if ta == Transpose::No { k } else { m });
    let (rsb, csb) = op_strides(tb, if tb == Transpose::No { n } else { k });
    let macs = m.saturating_mul(n).saturating_mul(k);
    let a_ptr = SharedPtr(a.as_ptr());
    let b_ptr = SharedPtr(b.as_ptr());
    let c_ptr = SendPtr(c.as_mut_ptr());
    if threads <= 1 || macs < PARALLEL_MIN_MACS {
        // SAFETY: `gemm_raw`'s contract. With the strides of `op_strides`, element (i, p) of
        // op(A) is at `i * rsa + p * csa <= (m - 1) * rsa + (k - 1) * csa < m * k <= a.len()`
        // (for either transpose), likewise op(B) inside `k * n <= b.len()`; C is row-major
        // `m x n` with row stride `n`: distinct elements, all inside `m * n <= c.len()`. `c` is
        // a `&mut` borrow, so it overlaps neither `a` nor `b` and no other thread touches it.
        unsafe {
            T::gemm_raw(
                m, k, n, alpha, a_ptr.0, rsa, csa, b_ptr.0, rsb, csb, beta, c_ptr.0, n as isize, 1,
            )
        };
        return;
    }
    // Each part packs its own copy of the operand that is not split: split the output along
    // its longer side so the larger operand is packed once (rows: B is packed by every part).
    let split_rows = m >= n || n < 8 * threads;
    let extent = if split_rows { m } else { n };
    let parts = threads.min(extent.div_ceil(8)).max(1);
    let block = extent.div_ceil(parts);
    let (a_ref, b_ref, c_ref) = (&a_ptr, &b_ptr, &c_ptr);
    let run_part = move |p: usize| {
        let start = p * block;
        if start >= extent {
            return;
        }
        let len = block.min(extent - start);
        // SAFETY: as for the single call above, restricted to one block: rows
        // `start..start + len` of op(A) and of C (split_rows; `start * rsa` is row `start`,
        // inside A), or columns `start..start + len` of op(B) and of C (`start * csb` is column
        // `start`, inside B). Every offset stays inside its slice, the blocks of C given to
        // different parts are disjoint (`start` steps by `block` and `len <= block`), and
        // `gemm` does not return (ending the borrows of `a`, `b`, `c`) before every part has
        // finished: `run_pair` and `rayon::scope` both wait for all of them.
        unsafe {
            if split_rows {
                T::gemm_raw(
                    len,
                    k,
                    n,
                    alpha,
                    a_ref.0.offset(start as isize * rsa),
                    rsa,
                    csa,
                    b_ref.0,
                    rsb,
                    csb,
                    beta,
                    c_ref.0.add(start * n),
                    n as isize,
                    1,
                )
            } else {
                T::gemm_raw(
                    m,
                    k,
                    len,
                    alpha,
                    a_ref.0,
                    rsa,
                    csa,
                    b_ref.0.offset(start as isize * csb),
                    rsb,
                    csb,
                    beta,
                    c_ref.0.add(start),
                    n as isize,
                    1,
                )
            }
        }
    };
    if parts == 2 {
        // Two parts: this thread and the spinning helper core, which stays awake between the
        // products of a training step (a rayon worker would often be asleep and need waking).
        super::helper_core::run_pair(|| run_part(0), &|| run_part(1));
        return;
    }
    rayon::scope(|s| {
        for p in 0..parts {
            s.spawn(move |_| run_part(p));
        }
    });
}

/// `c <- alpha * W x + beta * c` for a row-major `c.len() x x.len()` matrix `W`. When the pool has
/// more than one thread, large enough products split the rows of `W` in two halves, the second on
/// the helper core (each half of a layer's weights then streams from its own core's cache); every
/// entry is one [`Real::dot_rows`] dot product, so the
/// result does not depend on the split.
fn gemv_rows<T: Real>(threads: usize, alpha: T, x: &[T], w: &[T], beta: T, c: &mut [T]) {
    let (n, k) = (c.len(), x.len());
    let finish = |c: &mut [T], dots: &[T]| {
        for (cj, d) in c.iter_mut().zip(dots) {
            *cj = if beta == T::zero() {
                alpha * *d
            } else {
                alpha * *d + beta * *cj
            };
        }
    };
    let run = |rows: std::ops::Range<usize>, c: &mut [T]| {
        let w = &w[rows.start * k..rows.end * k];
        if alpha == T::one() && beta == T::zero() {
            T::dot_rows(x, w, c);
        } else {
            let mut dots = [T::zero(); 64];
            for (i, cc) in c.chunks_mut(64).enumerate() {
                let part = &w[i * 64 * k..(i * 64 + cc.len()) * k];
                T::dot_rows(x, part, &mut dots[..cc.len()]);
                finish(cc, &dots[..cc.len()]);
            }
        }
    };
    if threads <= 1 || n * k < GEMV_PARALLEL_MIN_MACS || n < 16 {
        run(0..n, c);
        return;
    }
    // Two parts: this thread and the helper core (see `helper_core`).
    let half = (n / 2).div_ceil(8) * 8;
    let (c0, c1) = c.split_at_mut(half);
    super::helper_core::run_split((0..half, c0), (half..n, c1), |(rows, c)| run(rows, c));
}

/// Below this many multiply-adds a matrix-vector product stays on the calling thread.
/// (Under Miri, lower: see [`PARALLEL_MIN_MACS`].)
const GEMV_PARALLEL_MIN_MACS: usize = if cfg!(miri) { 1 << 8 } else { 1 << 14 };

/// Reference twin of [`gemm`]: triple loop with `f64` accumulation. For tests.
// why: the same BLAS-style signature as `gemm`, so the two are interchangeable in tests.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub fn gemm_naive<T: Real>(
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut [T],
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                let av = if ta == Transpose::No {
                    a[i * k + p]
                } else {
                    a[p * m + i]
                };
                let bv = if tb == Transpose::No {
                    b[p * n + j]
                } else {
                    b[j * k + p]
                };
                acc += av.to_f64_lossless() * bv.to_f64_lossless();
            }
            let prev = if beta == T::zero() {
                0.0
            } else {
                beta.to_f64_lossless() * c[i * n + j].to_f64_lossless()
            };
            c[i * n + j] = T::of(alpha.to_f64_lossless() * acc + prev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect()
    }

    #[test]
    fn small_product_by_hand() {
        // [1 2; 3 4] * [5 6; 7 8]^T
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let b = [5.0f32, 6.0, 7.0, 8.0];
        let mut c = [0.0f32; 4];
        gemm(
            Transpose::No,
            Transpose::Yes,
            2,
            2,
            2,
            1.0,
            &a,
            &b,
            0.0,
            &mut c,
        );
        assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
    }

    #[test]
    fn matches_naive_on_awkward_shapes() {
        let mut rng = Rng::seed_from(1);
        let shapes = [
            (0, 3, 4),
            (3, 0, 4),
            (3, 4, 0),
            (1, 1, 1),
            (1, 7, 13),
            (13, 1, 7),
            (63, 2, 10),
            (17, 31, 29),
            (128, 257, 65),
            (300, 20, 300),
            (8, 700, 64),
            (3, 40, 9),
        ];
        // Under Miri (some 1000 times slower), the small shapes and one (alpha, beta) only: they
        // still reach both threaded splits (rows for 63x2x10, columns for 3x40x9) past its
        // lower `PARALLEL_MIN_MACS`.
        let (shapes, scalings): (Vec<_>, &[(f32, f32)]) = if cfg!(miri) {
            (
                [0, 2, 4, 5, 6, 11].iter().map(|&i| shapes[i]).collect(),
                &[(2.3, 1.0)],
            )
        } else {
            (shapes.to_vec(), &[(1.0, 0.0), (2.3, 1.0), (1.0, 2.0)])
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        for &(m, n, k) in &shapes {
            for ta in [Transpose::No, Transpose::Yes] {
                for tb in [Transpose::No, Transpose::Yes] {
                    for &(alpha, beta) in scalings {
                        let a = random(m * k, &mut rng);
                        let b = random(k * n, &mut rng);
                        let c0 = random(m * n, &mut rng);
                        let mut want = c0.clone();
                        gemm_naive(ta, tb, m, n, k, alpha, &a, &b, beta, &mut want);
                        for threads in [1usize, 2] {
                            let mut got = c0.clone();
                            if threads == 1 {
                                gemm(ta, tb, m, n, k, alpha, &a, &b, beta, &mut got);
                            } else {
                                pool.install(|| {
                                    gemm(ta, tb, m, n, k, alpha, &a, &b, beta, &mut got)
                                });
                            }
                            for (g, w) in got.iter().zip(&want) {
                                let tol = 1e-5f32.max(1e-5 * w.abs()) * (k as f32 + 1.0).sqrt();
                                assert!(
                                    (g - w).abs() <= tol,
                                    "{m}x{n}x{k} {ta:?}{tb:?}: {g} vs {w}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn single_row_path_matches_naive() {
        let mut rng = Rng::seed_from(8);
        let shapes: &[(usize, usize)] = if cfg!(miri) {
            &[(1, 1), (3, 7), (17, 33)]
        } else {
            &[(1, 1), (3, 7), (10, 128), (17, 33), (256, 784)]
        };
        for &(n, k) in shapes {
            let a = random(k, &mut rng);
            let b = random(n * k, &mut rng);
            for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 2.0)] {
                let c0 = random(n, &mut rng);
                let mut want = c0.clone();
                gemm_naive(
                    Transpose::No,
                    Transpose::Yes,
                    1,
                    n,
                    k,
                    alpha,
                    &a,
                    &b,
                    beta,
                    &mut want,
                );
                let mut got = c0.clone();
                gemm(
                    Transpose::No,
                    Transpose::Yes,
                    1,
                    n,
                    k,
                    alpha,
                    &a,
                    &b,
                    beta,
                    &mut got,
                );
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-5 * (1.0 + w.abs()) * (k as f32).sqrt(),
                        "{n}x{k}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "overflows usize")]
    fn dimensions_whose_product_wraps_are_refused() {
        // `m * k` wraps to 0 in release arithmetic: without `checked_mul` the empty slices
        // would pass the length checks.
        let m = 1usize << (usize::BITS - 1);
        let mut c: [f32; 0] = [];
        gemm(
            Transpose::No,
            Transpose::No,
            m,
            0,
            2,
            1.0,
            &[],
            &[],
            0.0,
            &mut c,
        );
    }

    #[test]
    fn beta_zero_ignores_nan_in_output() {
        let a = [1.0f32; 4];
        let b = [1.0f32; 4];
        let mut c = [f32::NAN; 4];
        gemm(
            Transpose::No,
            Transpose::No,
            2,
            2,
            2,
            1.0,
            &a,
            &b,
            0.0,
            &mut c,
        );
        assert_eq!(c, [2.0; 4]);
    }

    #[test]
    fn threaded_result_is_bit_identical_across_runs() {
        let mut rng = Rng::seed_from(3);
        let (m, n, k) = if cfg!(miri) {
            (24, 20, 16)
        } else {
            (256, 300, 200)
        };
        let a = random(m * k, &mut rng);
        let b = random(k * n, &mut rng);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let run = || {
            let mut c = vec![0.0f32; m * n];
            pool.install(|| {
                gemm(
                    Transpose::No,
                    Transpose::Yes,
                    m,
                    n,
                    k,
                    1.0,
                    &a,
                    &b,
                    0.0,
                    &mut c,
                )
            });
            c
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn single_row_split_over_the_helper_core_equals_the_serial_result() {
        let mut rng = Rng::seed_from(5);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let shapes: &[(usize, usize)] = if cfg!(miri) {
            &[(16, 64), (37, 9)]
        } else {
            &[(16, 1024), (130, 200), (256, 784), (301, 97)]
        };
        for &(n, k) in shapes {
            let a = random(k, &mut rng);
            let b = random(n * k, &mut rng);
            for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 2.0)] {
                let c0 = random(n, &mut rng);
                let single = |c: &mut Vec<f32>| {
                    gemm(
                        Transpose::No,
                        Transpose::Yes,
                        1,
                        n,
                        k,
                        alpha,
                        &a,
                        &b,
                        beta,
                        c,
                    )
                };
                let mut want = c0.clone();
                serial(|| single(&mut want));
                // Repeated calls: some find the helper spinning, some parked, some busy.
                for rep in 0..if cfg!(miri) { 3 } else { 200 } {
                    let mut got = c0.clone();
                    pool.install(|| single(&mut got));
                    assert!(
                        got.iter()
                            .zip(&want)
                            .all(|(g, w)| g.to_bits() == w.to_bits()),
                        "{n}x{k} rep {rep}"
                    );
                }
            }
        }
    }
}
