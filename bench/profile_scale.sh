#!/usr/bin/env bash
# Profile time and peak memory of estimators on one (large) dataset: runs `tiergnn profile` once per
# estimator under bench/measure.py (wall time; peak resident memory split into anonymous and
# file-backed pages; disk bytes read) and writes OUT.md and OUT.json with the machine and commit, the
# bytes per node and per edge of anonymous memory, and the cost in presampling epochs.
# Usage: bench/profile_scale.sh TIERGNN_BINARY DATASET OUT_PREFIX [ESTIMATORS] [FANOUTS]
#   ESTIMATORS default "presample:1 vip hybrid"; FANOUTS default 15,10,5 (batch 1024, seed 0).
# Drop the page cache first for cold-cache numbers (echo 3 > /proc/sys/vm/drop_caches, as root).
# REPEAT=N (default 1) runs the estimators N times in turn and keeps, per estimator, the run of
# median wall time (a shared machine's timings vary by tens of percent from run to run).
set -euo pipefail
T=$(realpath "$1")
ds=$(realpath "$2")
out=$3
ests=${4:-"presample:1 vip hybrid"}
fanouts=${5:-15,10,5}
here=$(cd "$(dirname "$0")" && pwd)
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
"$T" -q info "$ds" --json > "$lines.info"
for rep in $(seq "${REPEAT:-1}"); do
  for e in $ests; do
    python3 "$here/measure.py" --label "$e" -- "$T" profile "$ds" --estimator "$e" --fanouts "$fanouts" \
      --batch-size 1024 | tail -1 >> "$lines"
    echo "$e: $(tail -1 "$lines")"
  done
done
REPO="$here/.." python3 - "$lines" "$lines.info" "$out" "$fanouts" "$ds" <<'PY'
import json, os, subprocess, sys
lines, info, out, fanouts, ds = sys.argv[1:]
every = [json.loads(l) for l in open(lines) if l.strip()]
runs = []  # per estimator, in first-run order: the run of median wall time, with all walls
for label in dict.fromkeys(r["label"] for r in every):
    mine = sorted((r for r in every if r["label"] == label), key=lambda r: r["wall_s"])
    keep = dict(mine[(len(mine) - 1) // 2])
    keep["walls_s"] = [r["wall_s"] for r in every if r["label"] == label]
    runs.append(keep)
meta = json.load(open(info))
n, e = meta.get("num_nodes"), meta.get("num_arcs")
splits = meta.get("splits") or {}
train = splits.get("train") if isinstance(splits, dict) else None
if isinstance(train, dict):
    train = train.get("count")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
try:
    commit = subprocess.check_output(["git", "-C", os.environ.get("REPO", "."), "rev-parse", "--short", "HEAD"],
                                     text=True).strip()
except Exception:
    commit = "?"
unit = next((r["wall_s"] for r in runs if r["label"] == "presample:1"), None)
gib = 2.0 ** 30
with open(out + ".md", "w") as f:
    f.write(f"# Profiler cost at scale: {os.path.basename(ds)}\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores, {mem / gib:.1f} GiB RAM. Commit {commit}. "
            f"Dataset: {n:,} nodes, {e:,} arcs ({'directed' if meta.get('directed') else 'undirected'}), "
            f"{train if train is not None else '?'} training nodes; fanouts {fanouts}, batch 1024. Produced by "
            "`bench/profile_scale.sh` (`tiergnn profile` per estimator under `bench/measure.py`"
            f"{f', {len(every) // max(1, len(runs))} runs each in turn, the median kept' if len(every) > len(runs) else ''}"
            "). Wall time includes opening the dataset; anonymous memory is what the estimator allocates, file-backed memory is the mapped "
            "graph (evictable page cache).\n\n")
    f.write("| estimator | wall s | every run's wall s | cost (presampling epochs) | peak RSS GiB | peak anonymous GiB | "
            "anonymous B/node | peak file-backed GiB | disk read GiB |\n|---|---|---|---|---|---|---|---|---|\n")
    for r in runs:
        cost = f"{r['wall_s'] / unit:.2f}" if unit else "-"
        walls = " ".join(f"{w:.1f}" for w in r["walls_s"])
        f.write(f"| {r['label']} | {r['wall_s']:.1f} | {walls} | {cost} | {r['peak_rss_bytes'] / gib:.2f} | "
                f"{r['peak_anon_bytes'] / gib:.2f} | {r['peak_anon_bytes'] / n:.1f} | {r['peak_file_bytes'] / gib:.2f} | "
                f"{(r['disk_read_bytes'] or 0) / gib:.2f} |\n")
json.dump({"dataset": ds, "num_nodes": n, "num_edges": e, "fanouts": fanouts, "commit": commit, "runs": runs},
          open(out + ".json", "w"), indent=1)
print(open(out + ".md").read())
PY
rm -f "$lines.info"
