#!/usr/bin/env bash
# The README's test command: installs what is missing, checks the house format (scripts/format.sh),
# builds everything (CUDA backend included when nvcc is present, one architecture), and runs every
# test: the C++ suites (ctest; GPU tests skip visibly without a GPU), then the Python module's tests
# (pytest, in the .venv that scripts/python_env.sh sets up).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/format.sh --check
build=${BUILD_DIR:-build/test}
BUILD_DIR=$build scripts/build.sh -DTIERGNN_BUILD_TESTS=ON -DTIERGNN_BUILD_BENCH=ON
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
vpy=$(scripts/python_env.sh)
TIERGNN_CLI=$PWD/$build/cli/tiergnn "$vpy" -m pytest -q -rs python/tests
