#!/usr/bin/env bash
# Epoch time of the CPU trainer and its split (sample / gather / forward+backward / optimizer) on a
# generated 1M-node community graph with 128-dim float32 features: GraphSAGE, 3 layers, hidden 256,
# fanouts 15,10,5, batch 1024, at 1 and 2 threads. Evaluation is switched off (one epoch measured
# after one warm-up epoch).
# Usage: bench/train_epoch.sh TIERGNN_BINARY OUT_DIR  (writes OUT_DIR/train_epoch_cpu.{json,md})
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
work=${WORK:-$(mktemp -d)}
mkdir -p "$out"
nodes=${NODES:-1000000}
[[ -d $work/graph ]] || "$T" -q generate community "$work/graph" --nodes "$nodes" --feature-dim 128 --avg-degree 20 --seed 1
: > "$work/runs.jsonl"
for threads in 1 2; do
  "$T" -q --threads "$threads" train "$work/graph" --model sage --fanouts 15,10,5 --hidden 256 --batch-size 1024 \
    --epochs 2 --eval-every 1000000 --no-progress --metrics "$work/m$threads.jsonl" --seed 0 > /dev/null || true
  python3 - "$work/m$threads.jsonl" "$threads" >> "$work/runs.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"epoch"' in l]
e = lines[-1]
e["threads"] = int(sys.argv[2])
print(json.dumps(e))
PY
done
python3 - "$work/runs.jsonl" "$out" "$nodes" <<'PY'
import json, os, subprocess, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out, nodes = sys.argv[2], int(sys.argv[3])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception:
    commit = "?"
machine = {"cpu": cpu, "cores": os.cpu_count(), "load": os.getloadavg()}
json.dump({"machine": machine, "commit": commit, "nodes": nodes, "runs": runs},
          open(os.path.join(out, "train_epoch_cpu.json"), "w"), indent=1)
with open(os.path.join(out, "train_epoch_cpu.md"), "w") as f:
    f.write("# CPU training epoch: time split\n\n")
    f.write(f"Community graph, {nodes:,} nodes, 128-dim float32 features, 10% training nodes; GraphSAGE 3 layers, "
            f"hidden 256, fanouts 15,10,5, batch 1024; second epoch of two (no evaluation). "
            f"Machine: {cpu}, {os.cpu_count()} cores, load {machine['load'][0]:.2f}. Commit {commit}. "
            "Produced by `bench/train_epoch.sh`.\n\n")
    f.write("| threads | epoch s | sample s | gather s | forward+backward s | optimizer s | batches | sampled edges | input nodes/batch | sampled edges/s |\n")
    f.write("|---|---|---|---|---|---|---|---|---|---|\n")
    for r in runs:
        f.write(f"| {r['threads']} | {r['seconds']:.2f} | {r['sample_s']:.2f} | {r['gather_s']:.2f} | {r['compute_s']:.2f} | "
                f"{r['optimizer_s']:.2f} | {r['batches']} | {r['sampled_edges']:,} | {r['input_nodes'] / r['batches']:,.0f} | "
                f"{r['sampled_edges'] / r['sample_s']:,.0f} |\n")
for r in runs:
    print(f"threads {r['threads']}: epoch {r['seconds']:.2f} s (sample {r['sample_s']:.2f}, gather {r['gather_s']:.2f}, "
          f"compute {r['compute_s']:.2f}, optimizer {r['optimizer_s']:.2f})")
PY
