#!/usr/bin/env bash
# PyG's GraphSAGE trained through tiergnn.pyg (python/examples/train_pyg_sage.py) against
# `tiergnn train` with the same hyper-parameters (bench/accuracy.sh's GraphSAGE settings), on Cora
# and Tolokers, seeds 0-2. Usage: bench/pyg_accuracy.sh TIERGNN_BINARY PYTHON OUT_MD
set -euo pipefail
T=$(realpath "$1")
PY=$2
out=$(realpath -m "$3")
root=$(cd "$(dirname "$0")/.." && pwd)
data=${DATASETS:-$root/../shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$T" -q import planetoid "$data/cora" -o "$work/cora"
"$T" -q import tolokers "$data/tolokers/tolokers.npz" -o "$work/tolokers" --split 0
runs=(
  "cora|--fanouts 25,10 --hidden 64 --dropout 0.5 --input-dropout 0.5 --lr 0.01 --weight-decay 5e-4 --epochs 100 --batch-size 64"
  "tolokers|--fanouts 15,10 --hidden 256 --dropout 0.2 --lr 0.003 --epochs 100 --batch-size 512"
)
res="$work/res.jsonl"
: > "$res"
for r in "${runs[@]}"; do
  IFS='|' read -r ds args <<< "$r"
  for seed in 0 1 2; do
    s0=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$T" -q train "$work/$ds" --model sage $args --seed "$seed" --eval-every 1000 --no-progress --metrics "$work/m.jsonl"
    s1=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$PY" "$root/python/examples/train_pyg_sage.py" "$work/$ds" $args --seed "$seed" --eval-every 1000 --json "$work/p.json" > /dev/null
    s2=$(date +%s.%N)
    python3 - "$work/m.jsonl" "$work/p.json" "$ds" "$seed" "$s0" "$s1" "$s2" >> "$res" <<'PYX'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
final = [l for l in m if l.get("final")][-1]
p = json.load(open(sys.argv[2]))
print(json.dumps({"dataset": sys.argv[3], "seed": int(sys.argv[4]), "metric": final["metric"],
                  "tiergnn": final["test"], "pyg": p["test"], "tiergnn_s": float(sys.argv[6]) - float(sys.argv[5]),
                  "pyg_s": float(sys.argv[7]) - float(sys.argv[6])}))
PYX
  done
done
python3 - "$res" "$out" "$T" <<'PYX'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
with open(sys.argv[2], "w") as f:
    f.write("# PyG's GraphSAGE through tiergnn.pyg vs `tiergnn train` (same hyper-parameters)\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores, CPU only. Produced by `bench/pyg_accuracy.sh`. Test metric per seed "
            "(accuracy on Cora, ROC-AUC on Tolokers); wall seconds include start-up and evaluation.\n\n")
    f.write("| dataset | metric | seed | tiergnn train | PyG via tiergnn.pyg | tiergnn s | PyG s |\n|---|---|---|---|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['dataset']} | {r['metric']} | {r['seed']} | {r['tiergnn']:.4f} | {r['pyg']:.4f} | {r['tiergnn_s']:.1f} | {r['pyg_s']:.1f} |\n")
    f.write("\n| dataset | tiergnn mean | PyG mean |\n|---|---|---|\n")
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        g = [r for r in rows if r["dataset"] == ds]
        f.write(f"| {ds} | {statistics.mean(r['tiergnn'] for r in g):.4f} | {statistics.mean(r['pyg'] for r in g):.4f} |\n")
print(open(sys.argv[2]).read())
PYX
