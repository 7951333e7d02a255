#!/usr/bin/env bash
# The README's main job: installs what is missing, builds tiergnn, generates the built-in default
# dataset (a community graph with power-law degrees, class-correlated noisy features and splits),
# describes and validates it, trains GraphSAGE on it and prints the test accuracy, next to the
# same model trained without the graph. OUT (default out/default) is where the dataset goes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=build/release scripts/build.sh -DTIERGNN_BUILD_TESTS=OFF -DTIERGNN_BUILD_BENCH=OFF
tiergnn=build/release/cli/tiergnn
out=${OUT:-out/default}
mkdir -p "$(dirname "$out")"
"$tiergnn" generate community "$out" --force
"$tiergnn" info "$out" --check
echo
"$tiergnn" train "$out" --model sage --fanouts 10,10 --hidden 128 --epochs 10 --lr 0.003 --seed 0 \
  --metrics "$out.metrics.jsonl"
echo
echo "baseline: the same model without the graph (features only)"
"$tiergnn" train "$out" --model sage --fanouts 10,10 --hidden 128 --epochs 10 --lr 0.003 --seed 0 \
  --ignore-graph --no-progress --eval-every 10
