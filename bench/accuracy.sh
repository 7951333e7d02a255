#!/usr/bin/env bash
# Accuracy of the CPU trainer on the real labelled graphs and on the built-in community graph,
# mean of 3 seeds, with standard hyper-parameters (Kipf & Welling's GCN setup for Planetoid; the
# heterophilous-graphs benchmark's GraphSAGE setup, shortened, for Tolokers; the GAT paper's setup for
# GAT on Planetoid, trained a fixed number of epochs where the paper stops early on the validation
# loss, and GAT (with the residual term heterophilous graphs need) against GraphSAGE with the same
# width and budget on Tolokers).
# Usage: bench/accuracy.sh TIERGNN_BINARY OUT_DIR  (writes OUT_DIR/accuracy_cpu.{json,md})
# ACCURACY_ONLY=REGEX runs only the rows whose "dataset|model" matches (e.g. 'gat').
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
data=${DATASETS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
"$T" -q import planetoid "$data/cora" -o "$work/cora"
"$T" -q import planetoid "$data/citeseer" -o "$work/citeseer"
"$T" -q import tolokers "$data/tolokers/tolokers.npz" -o "$work/tolokers" --split 0
"$T" -q generate community "$work/community"

gat="--model gat --fanouts -1,-1 --hidden 8 --heads 8 --out-heads 1 --dropout 0.6 --input-dropout 0.6 --attn-dropout 0.6 --lr 0.005 --weight-decay 5e-4"
gcn="--model gcn --fanouts -1,-1 --hidden 16 --dropout 0.5 --input-dropout 0.5 --lr 0.01 --weight-decay 5e-4 --weight-decay-scope first --epochs 200"
runs=(
  "cora|gcn|$gcn --batch-size 140|0.79"
  "cora|sage|--model sage --fanouts 25,10 --hidden 64 --dropout 0.5 --input-dropout 0.5 --lr 0.01 --weight-decay 5e-4 --epochs 100 --batch-size 64|0.78"
  "cora|gat|$gat --epochs 300 --batch-size 140|0.81"
  "citeseer|gcn|$gcn --batch-size 120|0.68"
  "citeseer|gat|$gat --epochs 200 --batch-size 120|0.70"
  "tolokers|sage|--model sage --fanouts 15,10 --hidden 256 --dropout 0.2 --lr 0.003 --epochs 100 --batch-size 512|0.80"
  "tolokers|gat|--model gat --residual --fanouts 15,10 --hidden 64 --heads 4 --dropout 0.2 --lr 0.003 --epochs 100 --batch-size 512|"
  "community|sage|--model sage --fanouts 10,10 --hidden 128 --lr 0.003 --epochs 10 --batch-size 1024|"
  "community|mlp|--model sage --fanouts 10,10 --hidden 128 --lr 0.003 --epochs 10 --batch-size 1024 --ignore-graph|"
)
results="$work/results.jsonl"
: > "$results"
for r in "${runs[@]}"; do
  IFS='|' read -r ds model args floor <<< "$r"
  [[ -n ${ACCURACY_ONLY:-} && ! "$ds|$model" =~ $ACCURACY_ONLY ]] && continue
  for seed in 0 1 2; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$T" -q train "$work/$ds" $args --seed "$seed" --eval-every 1000 --no-progress --metrics "$work/m.jsonl"
    end=$(date +%s.%N)
    python3 - "$work/m.jsonl" "$ds" "$model" "$seed" "$floor" "$start" "$end" "$args" >> "$results" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
final = [l for l in lines if l.get("final")][-1]
print(json.dumps({"dataset": sys.argv[2], "model": sys.argv[3], "seed": int(sys.argv[4]),
                  "floor": float(sys.argv[5]) if sys.argv[5] else None, "metric": final["metric"],
                  "test": final["test"], "valid": final["valid"],
                  "seconds": float(sys.argv[7]) - float(sys.argv[6]), "args": sys.argv[8]}))
PY
  done
done
python3 - "$results" "$out" "$T" <<'PY'
import json, os, platform, subprocess, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=os.path.dirname(os.path.abspath(__file__)) if "__file__" in dir() else ".", text=True).strip()
except Exception:
    commit = "?"
machine = {"cpu": cpu, "cores": os.cpu_count(), "load": os.getloadavg()}
groups = {}
for r in rows:
    groups.setdefault((r["dataset"], r["model"]), []).append(r)
summary = []
for (ds, model), rs in groups.items():
    tests = [r["test"] for r in rs]
    summary.append({"dataset": ds, "model": model, "metric": rs[0]["metric"], "tests": tests,
                    "mean": statistics.mean(tests), "floor": rs[0]["floor"], "args": rs[0]["args"],
                    "seconds_per_run": statistics.mean(r["seconds"] for r in rs)})
json.dump({"machine": machine, "commit": commit, "runs": rows, "summary": summary},
          open(os.path.join(out, "accuracy_cpu.json"), "w"), indent=1)
with open(os.path.join(out, "accuracy_cpu.md"), "w") as f:
    f.write("# Test accuracy of the CPU trainer (mean of seeds 0, 1, 2)\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores; load average at the end {machine['load'][0]:.2f}. "
            f"Commit {commit}. Produced by `bench/accuracy.sh` (full-neighbour evaluation).\n\n")
    f.write("| dataset | model | metric | seeds 0/1/2 | mean | floor | s/run | arguments |\n|---|---|---|---|---|---|---|---|\n")
    for s in summary:
        f.write(f"| {s['dataset']} | {s['model']} | {s['metric']} | {' / '.join('%.3f' % t for t in s['tests'])} | "
                f"**{s['mean']:.3f}** | {s['floor'] if s['floor'] is not None else '-'} | {s['seconds_per_run']:.1f} | `{s['args']}` |\n")
for s in summary:
    print(f"{s['dataset']:10s} {s['model']:5s} {s['metric']:9s} mean {s['mean']:.4f}  ({', '.join('%.4f' % t for t in s['tests'])})")
PY
