//! Runtime selection of the vector instruction set.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2: four `f32` lanes), so a loop
//! written in plain Rust vectorizes only that wide. `vectorized` (crate-internal) runs a closure
//! inside a function compiled for AVX-512 or AVX2 when the CPU has it, so the same loop, inlined
//! there, is compiled for 16 or 8 lanes. The arithmetic is unchanged (Rust never contracts a multiply and an add into
//! an FMA, and `sqrt` and division are exact in every width), so results are bit-identical to the
//! baseline build; the tests of each user compare the two.
//!
//! [`path`] is the one place the CPU is asked: it checks every feature a path's
//! `#[target_feature]` functions enable (calling one on a CPU that lacks any of them is undefined
//! behaviour), caches the answer, and every dispatching kernel (`vectorized`, the dot products,
//! `fast_math`) goes through it.

use std::sync::atomic::{AtomicU8, Ordering};

/// The vector code path the kernels take on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdPath {
    /// Baseline code only (SSE2 on x86-64; any other architecture; Miri).
    Portable,
    /// AVX2 (8 `f32` lanes): the CPU has every feature in [`AVX2_FEATURES`].
    Avx2,
    /// AVX-512 (16 `f32` lanes): the CPU has every feature in [`AVX512_FEATURES`] and
    /// [`AVX2_FEATURES`].
    Avx512,
}

/// The features the AVX2 functions enable (`#[target_feature(enable = "avx2")]`); AVX and the
/// SSE levels are implied by AVX2 both in Rust and in every CPU that reports it.
pub const AVX2_FEATURES: &[&str] = &["avx2"];

/// The features the AVX-512 functions enable (`#[target_feature(enable =
/// "avx512f,avx512vl,avx512bw,avx512dq,avx2")]`), each checked: a CPU (or a virtual machine's
/// CPUID) may report AVX-512F without the others.
pub const AVX512_FEATURES: &[&str] = &["avx512f", "avx512vl", "avx512bw", "avx512dq"];

impl SimdPath {
    /// `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Portable => "portable",
            SimdPath::Avx2 => "avx2",
            SimdPath::Avx512 => "avx512",
        }
    }
}

impl std::fmt::Display for SimdPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Not yet detected; otherwise `1 + SimdPath as u8`.
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// The widest path this CPU supports completely (detected once, then cached).
///
/// Every `unsafe` call of a `#[target_feature]` function in the kernels is justified by this
/// function's answer: [`SimdPath::Avx512`] only when all of [`AVX512_FEATURES`] and
/// [`AVX2_FEATURES`] are present, [`SimdPath::Avx2`] only when all of [`AVX2_FEATURES`] are.
#[inline]
pub fn path() -> SimdPath {
    match DETECTED.load(Ordering::Relaxed) {
        1 => SimdPath::Portable,
        2 => SimdPath::Avx2,
        3 => SimdPath::Avx512,
        _ => {
            let p = detect();
            // Relaxed is enough: every thread computes the same value, so a race only repeats
            // the detection.
            DETECTED.store(1 + p as u8, Ordering::Relaxed);
            p
        }
    }
}

/// Asks the CPU (no caching): the widest path whose every feature is present.
fn detect() -> SimdPath {
    #[cfg(target_arch = "x86_64")]
    {
        // The macro needs literal names; the lists above document the same sets and
        // `feature_lists_match_the_detection` ties the two together.
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq");
        if avx512 && avx2 {
            return SimdPath::Avx512;
        }
        if avx2 {
            return SimdPath::Avx2;
        }
    }
    SimdPath::Portable
}

/// Whether this CPU has the named x86 feature (for reports; `false` elsewhere).
fn has_feature(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match name {
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            "avx512vl" => std::arch::is_x86_feature_detected!("avx512vl"),
            "avx512bw" => std::arch::is_x86_feature_detected!("avx512bw"),
            "avx512dq" => std::arch::is_x86_feature_detected!("avx512dq"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        false
    }
}

/// One line naming the path the kernels take and the features behind it, e.g.
/// `simd path: avx2 (avx2 yes; avx512f no, avx512vl no, avx512bw no, avx512dq no)`, for logs
/// and CI.
pub fn report() -> String {
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("{n} {}", if has_feature(n) { "yes" } else { "no" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "simd path: {} ({}; {})",
        path(),
        list(AVX2_FEATURES),
        list(AVX512_FEATURES)
    )
}

/// Runs `f` compiled for the widest vector unit of this CPU ([`path`]: AVX-512, else AVX2, else
/// the baseline). `f` and the functions it calls must be `#[inline(always)]` for their loops to be
/// compiled inside the wider function.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match path() {
            // SAFETY: `path` returned Avx512 only after checking every feature `with_avx512`
            // enables (avx512f, avx512vl, avx512bw, avx512dq, avx2).
            SimdPath::Avx512 => return unsafe { with_avx512(f) },
            // SAFETY: `path` returned Avx2 only after checking avx2, the one feature
            // `with_avx2` enables.
            SimdPath::Avx2 => return unsafe { with_avx2(f) },
            SimdPath::Portable => {}
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

/// # Safety
/// The CPU must support every enabled feature ([`path`] is [`SimdPath::Avx512`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// # Safety
/// The CPU must support AVX2 ([`path`] is [`SimdPath::Avx2`] or wider).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints the path the kernel tests exercise on this machine (CI runs this one with
    /// `--nocapture`, so its log says which SIMD code was tested).
    #[test]
    fn report_the_simd_path() {
        let line = report();
        println!("{line}");
        assert!(
            line.starts_with(&format!("simd path: {} (", path())),
            "{line}"
        );
    }

    #[test]
    fn feature_lists_match_the_detection() {
        let all = |names: &[&str]| names.iter().all(|n| has_feature(n));
        let want = if all(AVX512_FEATURES) && all(AVX2_FEATURES) {
            SimdPath::Avx512
        } else if all(AVX2_FEATURES) {
            SimdPath::Avx2
        } else {
            SimdPath::Portable
        };
        assert_eq!(detect(), want);
        assert_eq!(path(), want);
        // Cached: a second call answers the same.
        assert_eq!(path(), want);
        assert!(SimdPath::Portable < SimdPath::Avx2 && SimdPath::Avx2 < SimdPath::Avx512);
    }
}
