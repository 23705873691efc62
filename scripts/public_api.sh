#!/usr/bin/env bash
# Counts the public surface of crates/mlp (items and fields reachable from the crate root) from
# rustdoc's JSON output, which needs a nightly toolchain. `--list` also prints every item, so two
# runs can be diffed. Extra arguments after `--` go to cargo (e.g. `-- --no-default-features`).
set -euo pipefail
cd "$(dirname "$0")/.."
list=""
if [ "${1:-}" = "--list" ]; then list="--list"; shift; fi
[ "${1:-}" = "--" ] && shift
cargo +nightly rustdoc -q -p mlp --lib "$@" -- -Z unstable-options --output-format json
python3 scripts/public_api.py target/doc/mlp.json $list
