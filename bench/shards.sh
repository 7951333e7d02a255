#!/usr/bin/env bash
# Features sharded across K machines (prepare --shards K; multigpu/sharded_store.hpp): network bytes
# per epoch against K and the per-machine replication budget, on facebook_page from ../shared/datasets
# (22,470 nodes, 128 float32 features, 4,494 training nodes), against the no-replication baseline.
# K ranks run on this machine (tiergnn launch -n K, the TCP exchange); the bytes are the trainer's
# ledger (ids sent + rows received by every rank), exact counts that do not depend on the machine.
# Also: what the same number of replicas chosen uniformly at random would save (expected), to show
# what choosing the hottest remote rows buys; and the epoch time (K processes on this machine's
# cores, so times are only comparable within one K).
# Writes OUT/shards.json and OUT/shards.md.
# Usage: bench/shards.sh BUILD_DIR OUT_DIR [--epochs E]
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "$2")
shift 2
epochs=2
[[ "${1:-}" == "--epochs" ]] && epochs=$2
T="$build/cli/tiergnn"
data=${DATASETS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
start=$(date +%s)
"$T" -q import facebook "$data/facebook_page" -o "$work/fb"
train=(--model sage --fanouts 15,10,5 --batch-size 1024 --hidden 64 --epochs "$epochs" --eval none --seed 0
       --no-progress)
prep=(--fanouts 15,10,5 --batch-size 1024 --seed 0 --epochs "$epochs" --gpu-mem 10% --host-mem 40%)
runs="$work/runs.jsonl"
: > "$runs"
for k in 2 4 8; do
  "$T" -q prepare "$work/fb" -o "$work/s$k" "${prep[@]}" --shards "$k"
  for rep in 0 1% 2% 5% 10% 20% 50%; do
    m="$work/m$k-${rep%\%}.jsonl"
    t0=$(date +%s.%N)
    "$T" -q launch -n "$k" -- train "$work/s$k" "${train[@]}" --replicate "$rep" --metrics "$m"
    t1=$(date +%s.%N)
    python3 - "$m" "$k" "$rep" "$t0" "$t1" >> "$runs" <<'PY'
import json, sys
m, k, rep, t0, t1 = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
ep = [json.loads(l) for l in open(m) if l.strip() and "epoch" in json.loads(l) and "final" not in json.loads(l)]
last = ep[-1]
print(json.dumps({"k": k, "replicate": rep, "traffic": last["traffic"], "seconds": last["seconds"],
                  "job_seconds": t1 - t0, "epochs": len(ep)}))
PY
  done
done
echo "runs done in $(( $(date +%s) - start )) s"
python3 - "$runs" "$out" "$work/fb" "$(git -C "$(dirname "$0")" rev-parse --short HEAD)" "$epochs" <<'PY'
import json, os, sys
runs, out, fb, commit, epochs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
rows = [json.loads(l) for l in open(runs)]
meta = json.load(open(os.path.join(fb, "meta.json")))
n = meta["num_nodes"]
dim = meta["features"]["dim"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cores = os.cpu_count()
def b(x):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(x) < 1024 or unit == "GiB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.2f} {unit}"
        x /= 1024
base = {r["k"]: r for r in rows if r["replicate"] == "0"}
for r in rows:
    t = r["traffic"]
    rr = t["rows"]
    r["rows_total"] = sum(rr.values())
    r["network"] = t["bytes"].get("network", 0)
    r["remote"] = rr.get("remote", 0)
    r["replica"] = rr.get("replica", 0)
    k = r["k"]
    # Replica rows per machine: the budget over float32 rows, capped by the rows of other shards.
    share = float(r["replicate"].rstrip("%")) / 100
    remote_rows = n - n // k
    reps = min(int(share * n * dim * 4) // (dim * 4), remote_rows)
    r["replica_rows_per_machine"] = reps
    b0 = base[k]
    r["vs_baseline"] = 1 - r["network"] / b0["network"] if b0["network"] else 0
    # Uniformly random replicas of the same count: each remote read is served locally with
    # probability reps / remote_rows, so the fetched rows shrink by that share (expected).
    r["random_vs_baseline"] = reps / remote_rows
json.dump({"commit": commit, "machine": {"cpu": cpu, "cores": cores}, "dataset": "facebook_page", "num_nodes": n,
           "dim": dim, "runs": rows}, open(os.path.join(out, "shards.json"), "w"), indent=1)
with open(os.path.join(out, "shards.md"), "w") as f:
    f.write("# Features sharded across machines: network bytes per epoch vs K and the replication budget\n\n")
    f.write(f"Machine: {cpu}, {cores} cores, no GPU; commit {commit}. Produced by `bench/shards.sh BUILD_DIR OUT_DIR`.\n\n")
    f.write(f"Dataset: facebook_page from ../shared/datasets ({n:,} nodes, {dim} float32 features = {dim*4} B rows, "
            "4,494 training nodes), prepared with `prepare --shards K --gpu-mem 10% --host-mem 40% --fanouts 15,10,5 "
            f"--batch-size 1024`; each run is `tiergnn launch -n K -- train ... --replicate B` (GraphSAGE, hidden 64, "
            f"batch 1024, seed 0, {epochs} epochs; the last epoch is shown). The K ranks run as processes on this "
            "machine and exchange rows over the TCP communicator; the byte counts are the trainer's ledger (every "
            "rank's requested ids + received rows, summed over the ranks), exact and independent of the machine. "
            "Replication budget B: per machine, a share of all feature rows held as float32 (5% = "
            f"{b(0.05*n*dim*4)}), filled with the hottest rows of other shards.\n\n")
    f.write("Columns: **network/epoch** bytes over the network in the epoch (all ranks); **per machine** the same / K; "
            "**fetched** share of all input rows fetched from another machine; **replica** share served from the "
            "local replicas; **cut** network bytes saved against B = 0; **random** the cut the same number of "
            "uniformly random replicas would give (expected); **epoch s** the epoch's wall time (K processes on "
            f"{cores} cores: compare within one K only).\n\n")
    for k in sorted(base):
        f.write(f"## K = {k} machines\n\n| B per machine | replica rows | network/epoch | per machine | fetched | replica | cut | random | epoch s |\n|---|---|---|---|---|---|---|---|---|\n")
        for r in [x for x in rows if x["k"] == k]:
            f.write(f"| {r['replicate']} | {r['replica_rows_per_machine']:,} | {b(r['network'])} | {b(r['network']/k)} | "
                    f"{100*r['remote']/r['rows_total']:.1f}% | {100*r['replica']/r['rows_total']:.1f}% | "
                    f"{100*r['vs_baseline']:.1f}% | {100*r['random_vs_baseline']:.1f}% | {r['seconds']:.2f} |\n")
        f.write("\n")
print(open(os.path.join(out, "shards.md")).read())
PY
echo "total $(( $(date +%s) - start )) s"
