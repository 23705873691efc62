#!/usr/bin/env bash
# Coverage-guided fuzzing of the file parsers with AFL++ on stable Rust (`cargo afl`).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  how long to fuzz each target (default 60); targets run one after another.
#   TARGET   csv, npy, idx, model (default: all four).
# Environment: MLP_FUZZ_SEEDS=regen rewrites the seed corpora in fuzz/seeds from the library
# first; AFL_MEM_MB caps each run's memory (default 4096).
#
# Needs `cargo install cargo-afl` (crates.io; the script installs it when missing) and builds
# AFL++ once with `cargo afl config --build`. Prints, per target, executions, run time and
# crashes; crashing inputs stay in fuzz/out/TARGET/default/crashes/. Copy each one to
# crates/mlp/tests/fixtures/fuzz/TARGET/ once the parser is fixed (tests/fuzz_regressions.rs
# asserts it is refused without a panic).
set -euo pipefail

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(csv npy idx model)
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v cargo-afl >/dev/null 2>&1; then
    echo "== installing cargo-afl"
    cargo install cargo-afl
fi
# Builds AFL++ for this toolchain the first time; says so (and exits non-zero) afterwards.
cargo afl config --build >/dev/null 2>&1 || true

if [ "${MLP_FUZZ_SEEDS:-}" = "regen" ] || [ ! -d fuzz/seeds/model ]; then
    echo "== writing seed corpora to fuzz/seeds"
    MLP_FUZZ_SEEDS="$root/fuzz/seeds" cargo test --release -p mlp --test fuzz_regressions \
        -- --ignored write_fuzz_seeds >/dev/null
fi

echo "== building the fuzz targets (instrumented, release)"
(cd fuzz && cargo afl build --release --quiet)

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    AFL_SKIP_CRASHES=1 AFL_NO_AFFINITY=1
summary=()
total_crashes=0
for t in "${targets[@]}"; do
    out="fuzz/out/$t"
    rm -rf "$out"
    mkdir -p "$out"
    echo "== fuzzing $t for ${secs}s (log: $out/afl.log)"
    rc=0
    cargo afl fuzz -V "$secs" -m "${AFL_MEM_MB:-4096}" -t 2000 -i "fuzz/seeds/$t" -o "$out" \
        -- "fuzz/target/release/$t" >"$out/afl.log" 2>&1 || rc=$?
    stats="$out/default/fuzzer_stats"
    if [ ! -f "$stats" ]; then
        echo "afl-fuzz for $t exited ($rc) without statistics; the end of its log:"
        tail -20 "$out/afl.log"
        exit 1
    fi
    stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
    execs="$(stat execs_done)"
    run_time="$(stat run_time)"
    crashes="$(find "$out/default/crashes" -name 'id:*' 2>/dev/null | wc -l)"
    hangs="$(find "$out/default/hangs" -name 'id:*' 2>/dev/null | wc -l)"
    edges="$(stat edges_found)"
    total_crashes=$((total_crashes + crashes))
    summary+=("$(printf '%-6s %12s %8s %8s %6s %8s' "$t" "$execs" "${run_time}s" "$crashes" "$hangs" "$edges")")
done

echo
printf '%-6s %12s %8s %8s %6s %8s\n' target executions time crashes hangs edges
printf '%s\n' "${summary[@]}"
if [ "$total_crashes" -gt 0 ]; then
    echo "crashing inputs: fuzz/out/<target>/default/crashes/ (replay: fuzz/target/release/<target> < FILE)"
fi
