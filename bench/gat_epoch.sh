#!/usr/bin/env bash
# CPU epoch time of GAT against GraphSAGE on the bench/train_epoch.sh workload (1M-node community
# graph, 128-dim features, 3 layers, fanouts 15,10,5, batch 1024, 2 threads), with the same width:
# GraphSAGE hidden 256, GAT 4 heads x 64. The second of two epochs is measured (no evaluation).
# With PyTorch + PyG importable (.venv or the system python), PyG's GATConv and SAGEConv on the same
# dataset through bench/pyg_epoch.py on the CPU (extrapolated from PYG_BATCHES timed batches).
# Usage: bench/gat_epoch.sh TIERGNN_BINARY OUT_DIR  (writes OUT_DIR/gat_epoch_cpu.{json,md})
# Env: NODES (1000000), THREADS (2), PYG_BATCHES (8), WORK (reuse a folder holding graph/).
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-$(mktemp -d)}
nodes=${NODES:-1000000}
threads=${THREADS:-2}
mkdir -p "$out"
[[ -d $work/graph ]] || "$T" -q generate community "$work/graph" --nodes "$nodes" --feature-dim 128 --avg-degree 20 --seed 1
py=python3
[[ -x $here/../.venv/bin/python ]] && py=$here/../.venv/bin/python
: > "$work/gat_runs.jsonl"
declare -A args=([sage]="--model sage --hidden 256" [gat]="--model gat --hidden 64 --heads 4")
for model in sage gat; do
  # shellcheck disable=SC2086
  "$T" -q --threads "$threads" train "$work/graph" ${args[$model]} --fanouts 15,10,5 --batch-size 1024 --epochs 2 \
    --eval none --no-progress --metrics "$work/m_$model.jsonl" --seed 0 > /dev/null
  "$py" - "$work/m_$model.jsonl" "$model" >> "$work/gat_runs.jsonl" <<'PY'
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if '"epoch"' in l][-1]
e["model"], e["system"] = sys.argv[2], "tiergnn"
print(json.dumps(e))
PY
done
if "$py" -c "import torch_geometric" 2>/dev/null; then
  for model in sage gat; do
    hidden=256
    [[ $model == gat ]] && hidden=64
    OMP_NUM_THREADS=$threads "$py" "$here/pyg_epoch.py" "$work/graph" --device cpu --model "$model" --hidden "$hidden" \
      --heads 4 --max-batches "${PYG_BATCHES:-8}" --json "$work/pyg_$model.json" > /dev/null 2>&1 || continue
    "$py" - "$work/pyg_$model.json" >> "$work/gat_runs.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"system": "pyg", "model": r["model"], "seconds": r["epoch_s"], "sample_s": r["sample_s"],
                  "gather_s": r["gather_copy_s"], "compute_s": r["compute_s"], "optimizer_s": None,
                  "extrapolated_from": r["timed_batches"], "batches": r["batches_per_epoch"],
                  "versions": f"torch {r['torch']}, torch_geometric {r['torch_geometric']}"}))
PY
  done
fi
"$py" - "$work/gat_runs.jsonl" "$out" "$nodes" "$threads" <<'PY'
import json, os, subprocess, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out, nodes, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception:
    commit = "?"
json.dump({"cpu": cpu, "cores": os.cpu_count(), "commit": commit, "nodes": nodes, "threads": threads, "runs": runs},
          open(os.path.join(out, "gat_epoch_cpu.json"), "w"), indent=1)
base = {r["system"]: r["seconds"] for r in runs if r["model"] == "sage"}
with open(os.path.join(out, "gat_epoch_cpu.md"), "w") as f:
    f.write("# CPU epoch: GAT against GraphSAGE\n\n")
    f.write(f"Community graph, {nodes:,} nodes, 128-dim features; 3 layers, fanouts 15,10,5, batch 1024; GraphSAGE "
            f"hidden 256, GAT 4 heads x 64 (256 wide, one averaged head of the classes last); {threads} threads; "
            f"tiergnn: the second of two epochs, no evaluation. Machine: {cpu}, {os.cpu_count()} cores. Commit "
            f"{commit}. Produced by `bench/gat_epoch.sh`. PyG: `bench/pyg_epoch.py` on the CPU, the conventional "
            "pipeline (every layer runs over the whole sampled subgraph, as PyG's models do with NodeLoader batches, so "
            "it computes more than tiergnn's layer-by-layer blocks; the same fanouts, batches and widths).\n\n")
    f.write("| system | model | epoch s | sample s | gather s | forward+backward s | vs its GraphSAGE | note |\n"
            "|---|---|---|---|---|---|---|---|\n")
    for r in runs:
        note = (f"{r['extrapolated_from']} of {r['batches']} batches timed, scaled to the epoch; {r['versions']}"
                if r["system"] == "pyg" else f"{r['batches']} batches")
        ratio = r["seconds"] / base[r["system"]] if r["system"] in base else float("nan")
        f.write(f"| {r['system']} | {r['model']} | {r['seconds']:.1f} | {r['sample_s']:.1f} | {r['gather_s']:.1f} | "
                f"{r['compute_s']:.1f} | {ratio:.2f} | {note} |\n")
for r in runs:
    print(f"{r['system']:8s} {r['model']:5s} epoch {r['seconds']:.1f} s (compute {r['compute_s']:.1f})")
PY
