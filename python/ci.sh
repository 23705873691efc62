#!/usr/bin/env bash
# Builds and installs the Python package from source, then runs its tests (pytest).
# Called by .ci/run from the repository root; needs Python >= 3.9 with pip and a Rust toolchain.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"
missing=()
"$py" -c "import pytest" 2>/dev/null || missing+=(pytest)
"$py" -c "import sklearn" 2>/dev/null || missing+=(scikit-learn)
"$py" -c "import pandas" 2>/dev/null || missing+=(pandas)
if [ "${#missing[@]}" -gt 0 ]; then
    "$py" -m pip install --quiet "${missing[@]}"
fi
# A separate target dir keeps the PyO3 build away from the workspace's release artifacts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_PY:-$here/target}"
"$py" -m pip install --quiet --no-deps --force-reinstall "$here"
cd "$here/tests"
# Run from the tests folder so `import mlp` finds the installed package, not the source tree.
"$py" -m pytest -q -p no:cacheprovider . "$@"
