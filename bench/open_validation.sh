#!/usr/bin/env bash
# Cost of validating a dataset on open (issue 16: every command checks the structure, O(N + E),
# before it computes): `tiergnn info` (which opens the dataset, then computes degree statistics)
# timed with a build that validates on open against one that does not, on the same dataset, in one
# run, alternating; plus `info --check` (checksums and feature values too) for reference.
# Usage: bench/open_validation.sh NEW_TIERGNN OLD_TIERGNN OUT_DIR
# Datasets: cnr-2000 (imported from ../shared/datasets) and an R-MAT graph with about 100M arcs
# (generated; SCALE and EDGE_FACTOR override). WORK keeps them between runs.
set -euo pipefail
new=$(realpath "$1") old=$(realpath "$2") out=$(realpath -m "$3")
work=${WORK:-$(mktemp -d)}
mkdir -p "$out"
here=$(cd "$(dirname "$0")/.." && pwd)
cnr=$here/../shared/datasets/cnr-2000/cnr-2000.edges.tsv.gz
[[ -d $work/cnr ]] || "$new" -q import edgelist "$cnr" -o "$work/cnr"
[[ -d $work/rmat ]] || "$new" -q generate rmat "$work/rmat" --scale "${SCALE:-22}" --edge-factor "${EDGE_FACTOR:-24}" \
  --feature-dim 16 --seed 1
secs() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
{
  echo "| dataset | arcs | info, no validation (s) | info, validated on open (s) | validation cost (s) | info --check (s) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for d in cnr rmat; do
    arcs=$("$new" info "$work/$d" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['num_arcs'])")
    best_old=1e9 best_new=1e9
    for r in 1 2 3; do
      o=$(secs "$old" -q info "$work/$d"); n=$(secs "$new" -q info "$work/$d")
      best_old=$(echo "if ($o < $best_old) $o else $best_old" | bc); best_new=$(echo "if ($n < $best_new) $n else $best_new" | bc)
    done
    chk=$(secs "$new" -q info "$work/$d" --check)
    printf "| %s | %s | %.3f | %.3f | %.3f | %.3f |\n" "$d" "$arcs" "$best_old" "$best_new" "$(echo "$best_new - $best_old" | bc)" "$chk"
  done
} | tee "$out/open_validation_cpu.md.part"
{
  echo "# Cost of validating datasets on open"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; best of 3 runs each."
  echo "Commit $(git -C "$here" rev-parse --short HEAD). Command: bench/open_validation.sh."
  echo
  cat "$out/open_validation_cpu.md.part"
} > "$out/open_validation_cpu.md"
rm -f "$out/open_validation_cpu.md.part"
