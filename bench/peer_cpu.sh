#!/usr/bin/env bash
# CPU training against DGL on the same work (not part of the test command): GraphSAGE 3 x 256 on a
# generated 1M-node community graph (128-dim features), fanouts 15,10,5, batch 1024, the first 40
# batches of an epoch, 2 threads each. tiergnn (`train --max-batches`) and DGL (bench/peer_cpu.py,
# replaying tiergnn's exact batches) run alternately, RUNS pairs; writes OUT_DIR/peer_cpu.{json,md}.
# DGL is installed from PyPI into its own virtual environment by bench/peer_venv.sh (PEER_VENV, default
# ~/.cache/tiergnn-peer-venv): dgl 2.1.0 with torch 2.2.1, the newest pair with Linux wheels on PyPI.
# PyG's own loader (NeighborLoader) needs pyg-lib or torch-sparse, which have no wheels on PyPI: not run.
# Usage: bench/peer_cpu.sh TIERGNN_BINARY OUT_DIR   Env: NODES (1000000), BATCHES (40), THREADS (2),
#        RUNS (2), WORK (a folder to keep the graph in between runs), PEER_VENV, EPOCHS (1; with E > 1
#        both systems train E epochs and report the mean of epochs 2..E, leaving out the first epoch's
#        warm-up: for small graphs, whose epoch is a few batches, e.g. NODES=11758 EPOCHS=10).
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-$(mktemp -d)}
nodes=${NODES:-1000000}
batches=${BATCHES:-40}
threads=${THREADS:-2}
epochs=${EPOCHS:-1}
mkdir -p "$out" "$work"
peer_python=$("$here/peer_venv.sh")
# tiergnn's Python module (for the replayed batches), alone on the path: not the .venv's torch.
tgpy=$("$here/../scripts/python_env.sh")
pkg=$("$tgpy" -c "import os, tiergnn; print(os.path.dirname(tiergnn.__file__))")
mkdir -p "$work/pypath"
ln -sfn "$pkg" "$work/pypath/tiergnn"
[[ -d $work/graph ]] || "$T" -q generate community "$work/graph" --nodes "$nodes" --feature-dim 128 --avg-degree 20 --seed 1
: > "$work/peer_runs.jsonl"
for run in $(seq 1 "${RUNS:-2}"); do
  "$T" -q --threads "$threads" train "$work/graph" --model sage --fanouts 15,10,5 --hidden 256 --batch-size 1024 \
    --epochs "$epochs" --max-batches "$batches" --eval none --no-progress --metrics "$work/tg.jsonl" --seed 0 > /dev/null
  python3 - "$work/tg.jsonl" "$run" >> "$work/peer_runs.jsonl" <<'PY'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if '"epoch"' in l]
timed = es[1:] if len(es) > 1 else es  # epochs 2..E: the first epoch's warm-up left out
e = dict(timed[-1])
for k in ("seconds", "sample_s", "gather_s", "prepare_s", "compute_s", "optimizer_s"):
    e[k] = sum(x.get(k, 0.0) for x in timed) / len(timed)
for k in ("sampled_edges", "input_nodes"):
    e[k] = sum(x.get(k, 0) for x in timed) // len(timed)
e.update(system="tiergnn", run=int(sys.argv[2]), epochs_timed=len(timed))
print(json.dumps(e))
PY
  OMP_NUM_THREADS=$threads PYTHONPATH="$work/pypath" "$peer_python" "$here/peer_cpu.py" "$work/graph" \
    --max-batches "$batches" --threads "$threads" --epochs "$epochs" --json "$work/dgl.json" > /dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); r['run']=int(sys.argv[2]); print(json.dumps(r))" \
    "$work/dgl.json" "$run" >> "$work/peer_runs.jsonl"
done
python3 - "$work/peer_runs.jsonl" "$out" "$nodes" "$threads" <<'PY'
import json, os, subprocess, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out, nodes, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
json.dump({"cpu": cpu, "cores": os.cpu_count(), "commit": commit, "nodes": nodes, "threads": threads, "runs": runs},
          open(os.path.join(out, "peer_cpu.json"), "w"), indent=1)
stages = ["seconds", "sample_s", "gather_s", "prepare_s", "compute_s", "optimizer_s"]
with open(os.path.join(out, "peer_cpu.md"), "w") as f:
    f.write("# CPU training: tiergnn against DGL on the same batches\n\n")
    dgl = next((r for r in runs if r["system"] == "dgl"), {})
    f.write(f"Community graph, {nodes:,} nodes, 128-dim features; GraphSAGE 3 x 256 (same parameters), fanouts 15,10,5, "
            f"batch 1024, " + (f"the first {runs[0]['batches']} batches of epoch 1" if runs[0].get('epochs_timed', 1) == 1
                               else f"{runs[0]['batches']} batches an epoch, the mean of epochs 2-{runs[0]['epochs_timed'] + 1} "
                               "(the first epoch's warm-up left out)") + f", {threads} threads each, runs alternating. "
            f"DGL replays tiergnn's batches (sampled edges equal: {runs[0]['sampled_edges']:,} vs "
            f"{dgl.get('sampled_edges', 0):,}); its sample column is DGL's own NeighborSampler on the same seeds. "
            f"{dgl.get('versions', '')}. Machine: {cpu}, {os.cpu_count()} cores. Commit {commit}. "
            "Produced by `bench/peer_cpu.sh`.\n\n")
    f.write("| run | system | epoch s | sample s | gather s | prepare s | forward+backward s | optimizer s |\n")
    f.write("|---|---|---|---|---|---|---|---|\n")
    for r in runs:
        # Seconds to 2 decimals, or 4 below 0.1 s (the small graphs' stages last milliseconds).
        f.write(f"| {r['run']} | {r['system']} | " +
                " | ".join(f"{r.get(k, 0):.2f}" if r.get(k, 0) >= 0.1 else f"{r.get(k, 0):.4f}" for k in stages) + " |\n")
    f.write("\n| run | tiergnn / DGL epoch | forward+backward | sample | gather |\n|---|---|---|---|---|\n")
    for run in sorted({r["run"] for r in runs}):
        t = next(r for r in runs if r["run"] == run and r["system"] == "tiergnn")
        d = next(r for r in runs if r["run"] == run and r["system"] == "dgl")
        f.write(f"| {run} | **{t['seconds'] / d['seconds']:.2f}** | {t['compute_s'] / d['compute_s']:.2f} | "
                f"{t['sample_s'] / d['sample_s']:.2f} | {t['gather_s'] / d['gather_s']:.2f} |\n")
print(open(os.path.join(out, "peer_cpu.md")).read())
PY
