#!/usr/bin/env bash
# The README's main job: installs what is missing, builds tiergnn, generates the built-in default
# dataset (a community graph with power-law degrees, class-correlated noisy features and splits)
# and describes and validates it. OUT (default out/default) is where the dataset goes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=build/release scripts/build.sh -DTIERGNN_BUILD_TESTS=OFF -DTIERGNN_BUILD_BENCH=OFF
tiergnn=build/release/cli/tiergnn
out=${OUT:-out/default}
mkdir -p "$(dirname "$out")"
"$tiergnn" generate community "$out" --force
"$tiergnn" info "$out" --check
