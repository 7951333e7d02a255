#!/usr/bin/env bash
# The README's main job: installs what is missing, builds tiergnn, generates the built-in default
# dataset (a community graph with power-law degrees, class-correlated noisy features and splits),
# describes and validates it, profiles which features training will read and prepares a tiered,
# hot-first renumbered copy with a GPU tier of 10% of the feature bytes, trains GraphSAGE through
# the tiered feature store (printing the plan, the accuracy and the CPU-GPU traffic per epoch),
# and trains the same model without the graph as a baseline. OUT (default out/default) is where the
# dataset goes; OUT-prepared holds the prepared copy.
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
"$tiergnn" prepare "$out" -o "$out-prepared" --gpu-mem 10% --host-mem 100% --fanouts 10,10 --batch-size 1024 \
  --hidden 128 --force
echo
"$tiergnn" train "$out-prepared" --model sage --fanouts 10,10 --hidden 128 --epochs 10 --lr 0.003 --seed 0 \
  --metrics "$out.metrics.jsonl"
echo
echo "baseline: the same model without the graph (features only)"
"$tiergnn" train "$out" --model sage --fanouts 10,10 --hidden 128 --epochs 10 --lr 0.003 --seed 0 \
  --ignore-graph --no-progress --eval-every 10
