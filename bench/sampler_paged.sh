#!/usr/bin/env bash
# Sampling on a mapped CSR: in memory (anonymous copy), mapped and cached, and mapped under a memory
# cgroup smaller than the CSR (pages come from disk on demand). Generates an R-MAT graph (scale 24,
# edge factor 32: 16.8M nodes, 521M arcs, 2.06 GiB CSR) unless WORK already holds it, then runs
# bench/sampler_bench (fanouts 15,10,5, batch 1024, 0.1% of the nodes as seeds = 17 batches, 2 threads).
# Needs root for the cgroup and for dropping the page cache before the cgroup run.
# Usage: bench/sampler_paged.sh BUILD_DIR WORK OUT [LIMIT (default 1G)]
set -euo pipefail
build=$(realpath "$1"); work=$(realpath -m "$2"); out=$(realpath -m "$3"); limit=${4:-1G}
mkdir -p "$work" "$out"
g="$work/rmat-s24"
[ -d "$g" ] || "$build/cli/tiergnn" -q generate rmat "$g" --scale 24 --edge-factor 32 --feature-dim 0
B="$build/bench/sampler_bench"
common=(--dataset "$g" --threads 2 --fanouts 15,10,5 --train-fraction 0.001)
"$B" "${common[@]}" --memory mapped,anonymous --epochs 2 --json "$out/sampler_paged_memory.json" | tail -3
sync; echo 3 > /proc/sys/vm/drop_caches
/usr/bin/time -f "wall %e s, major faults %F" "$(dirname "$0")/in_cgroup.sh" "$limit" "$B" "${common[@]}" --memory mapped \
  --epochs 1 --json "$out/sampler_paged_cgroup.json" | tail -2
