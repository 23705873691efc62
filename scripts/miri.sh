#!/usr/bin/env bash
# Runs the kernel tests (crates/mlp/src/kernels) under Miri, the Rust interpreter that reports
# undefined behaviour: out-of-bounds pointers and reads, data races (the helper core, the threaded
# GEMM), invalid transmutes, calls of `#[target_feature]` functions the CPU lacks.
#
#   scripts/miri.sh             portable paths (Miri reports no SIMD feature it was not
#                               compiled with)
#   scripts/miri.sh avx2        the AVX2 kernels, compiled in and interpreted
#   scripts/miri.sh avx512      the AVX-512 kernels, compiled in and interpreted (any CPU: Miri
#                               runs the intrinsics itself, so this checks them on machines that
#                               lack AVX-512)
#   scripts/miri.sh all         the three in turn
# Extra arguments go to the test filter, e.g. `scripts/miri.sh avx512 kernels::dot`.
#
# Needs a nightly toolchain with Miri (`rustup toolchain install nightly --component miri`; the
# first run also builds Miri's sysroot). Not part of .ci/run, which cannot download a toolchain.
# Time (the tests shrink their shapes under `cfg(miri)`), measured on the 2-core development
# machine while other builds ran: building the dependencies for a variant the first time, about
# 7 minutes (kept in target/miri*); the portable run of all 24 kernel tests, about 3 CPU-minutes
# (12 minutes of wall time under that load), the GEMM and helper-core tests taking most of it;
# `avx512 kernels::dot` about 11 seconds of interpretation.
set -euo pipefail
cd "$(dirname "$0")/.."

variant="${1:-portable}"
[ $# -gt 0 ] && shift
filter=("${@:-kernels::}")

# Tree Borrows: crossbeam-epoch (under rayon) breaks the stricter, experimental Stacked Borrows
# rules in its intrusive list (a known upstream issue), and it casts integers to pointers
# (permissive provenance silences that warning; the kernels themselves keep pointers as
# pointers). Leaks: the helper core's thread and rayon's pool are never joined, by design.
# Deterministic floats: Miri otherwise perturbs libm results (exp_m1, tanh...) by a few ULP on
# each call, and the tests compare two calls of the same function bit for bit.
DEFAULT_MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-permissive-provenance -Zmiri-ignore-leaks"
DEFAULT_MIRIFLAGS+=" -Zmiri-deterministic-floats"

run() {
    local name="$1" features="$2"
    echo "== miri: kernel tests, $name path"
    # Each SIMD variant builds into its own directory, so switching does not rebuild the others
    # (the portable one uses cargo-miri's default, target/miri).
    local dir=target
    [ -z "$features" ] || dir="target/miri-$name"
    CARGO_TARGET_DIR="$dir" \
        RUSTFLAGS="${features:+-C target-feature=$features}" \
        MIRIFLAGS="${MIRIFLAGS:-$DEFAULT_MIRIFLAGS}" \
        cargo +nightly miri test -p mlp --lib -- "${filter[@]}" --nocapture --test-threads=1
}

case "$variant" in
portable) run portable "" ;;
avx2) run avx2 "+avx2" ;;
avx512) run avx512 "+avx2,+avx512f,+avx512vl,+avx512bw,+avx512dq" ;;
all)
    run portable ""
    run avx2 "+avx2"
    run avx512 "+avx2,+avx512f,+avx512vl,+avx512bw,+avx512dq"
    ;;
*)
    echo "usage: scripts/miri.sh [portable|avx2|avx512|all] [test filter...]" >&2
    exit 2
    ;;
esac
