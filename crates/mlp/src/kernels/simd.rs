//! Runtime selection of the vector instruction set for plain Rust loops.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2: four `f32` lanes), so a loop
//! written in plain Rust vectorizes only that wide. [`vectorized`] runs a closure inside a function
//! compiled for AVX-512 or AVX2 when the CPU has it, so the same loop, inlined there, is compiled
//! for 16 or 8 lanes. The arithmetic is unchanged (Rust never contracts a multiply and an add into
//! an FMA, and `sqrt` and division are exact in every width), so results are bit-identical to the
//! baseline build; the tests of each user compare the two.

/// Runs `f` compiled for the widest vector unit of this CPU (AVX-512F, else AVX2, else the
/// baseline). `f` and the functions it calls must be `#[inline(always)]` for their loops to be
/// compiled inside the wider function.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked).
            return unsafe { with_avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked).
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

/// Runs `f` compiled for the baseline target only: the reference the vectorized builds are
/// tested against.
#[cfg(test)]
pub(crate) fn baseline<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
