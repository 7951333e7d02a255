#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything (CUDA backend included
# when nvcc is present, one architecture), and runs every test. GPU tests skip visibly without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build/test} scripts/build.sh -DTIERGNN_BUILD_TESTS=ON -DTIERGNN_BUILD_BENCH=ON
ctest --test-dir "${BUILD_DIR:-build/test}" --output-on-failure -j"$(nproc)" "$@"
