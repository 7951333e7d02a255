#!/usr/bin/env bash
# Before/after CPU epoch time on bench/train_epoch.sh's workload (1M-node community graph, 128-dim
# features, GraphSAGE 3 x 256, fanouts 15,10,5, batch 1024), two tiergnn binaries alternating in one
# run (2 threads, then 1), the second of two epochs each. Prints one line per run.
# Usage: bench/train_epoch_ab.sh OLD_TIERGNN NEW_TIERGNN [WORK_DIR]
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2") work=${3:-$(mktemp -d)}
[[ -d $work/graph ]] || "$new" -q generate community "$work/graph" --nodes 1000000 --feature-dim 128 --avg-degree 20 --seed 1
for threads in 2 1; do
  for which in old new; do
    bin=$old
    [[ $which == new ]] && bin=$new
    "$bin" -q --threads "$threads" train "$work/graph" --model sage --fanouts 15,10,5 --hidden 256 --batch-size 1024 \
      --epochs 2 --eval-every 1000000 --no-progress --metrics "$work/m.jsonl" --seed 0 >/dev/null
    python3 - "$work/m.jsonl" "$which" "$threads" <<'PY'
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if '"epoch"' in l][-1]
print(f"{sys.argv[2]} threads={sys.argv[3]} epoch_s={e['seconds']:.2f} sample={e['sample_s']:.2f} gather={e['gather_s']:.2f} "
      f"compute={e['compute_s']:.2f} optimizer={e['optimizer_s']:.2f} prepare={e.get('prepare_s', 0):.2f} loss={e['loss']:.6f}")
PY
  done
done
