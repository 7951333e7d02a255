#!/usr/bin/env bash
# The billion-edge path end to end on one machine, each stage measured (bench/measure.py: wall time,
# peak resident memory split into anonymous and file-backed pages, disk bytes read and written):
#   1. generate an R-MAT graph (default scale 25, edge factor 32: 33.5M nodes, ~1.05G arcs) with
#      64 float32 features (8 GiB) and a 0.05% training split (16,777 nodes, 17 batches an epoch);
#   2. info --check (full validation);
#   3. prepare with a 5% GPU tier and a host tier of 25% of the feature bytes (the rest on disk);
#   4. train the prepared dataset for MAX_BATCHES batches on the CPU (no evaluation);
#   5. bench traffic of the estimators against the 10-epoch oracle.
# Writes OUT/billion_cpu.md and OUT/billion_cpu.json with the machine and commit.
# Usage: bench/billion.sh TIERGNN_BINARY WORK_DIR OUT_DIR [SCALE] [EDGE_FACTOR] [MAX_BATCHES]
# With CGROUP_MEM=12G (say) every stage runs in a memory cgroup of that size (bench/in_cgroup.sh;
# root), page cache included, and the record is OUT_DIR/billion_cgroup_cpu.{md,json}.
# WORK_DIR needs about 3x the dataset's size free (the dataset, its prepared copy and the build's
# spill file: ~45 GB at the default scale). Drops the page cache between stages when run as root.
set -euo pipefail
T=$(realpath "$1")
work=$(realpath -m "$2")
out=$(realpath -m "$3")
scale=${4:-25}
ef=${5:-32}
maxb=${6:-10}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work" "$out"
log="$work/stages.jsonl"
: > "$log"
g="$work/rmat$scale"
p="$work/rmat$scale-prep"
drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
stage() {  # label command...
  local label=$1
  shift
  drop
  echo "== $label: $*" >&2
  if [ -n "${CGROUP_MEM:-}" ]; then
    "$here/in_cgroup.sh" "$CGROUP_MEM" python3 "$here/measure.py" --label "$label" -- "$@" | tail -1 >> "$log"
  else
    python3 "$here/measure.py" --label "$label" -- "$@" | tail -1 >> "$log"
  fi
  tail -1 "$log" >&2
}
rm -rf "$g" "$p"
stage generate "$T" generate rmat "$g" --scale "$scale" --edge-factor "$ef" --feature-dim 64 --classes 8 \
  --train 0.0005 --valid 0.0005 --test 0.0005 --seed 1
stage "info --check" "$T" info "$g" --check
stage prepare "$T" prepare "$g" -o "$p" --gpu-mem 5% --host-mem 25% --fanouts 15,10,5 --batch-size 1024
stage train "$T" train "$p" --epochs 1 --max-batches "$maxb" --eval none --fanouts 15,10,5 --batch-size 1024
stage "bench traffic" "$T" bench traffic "$g" --fanouts 15,10,5 --estimators degree,presample:1,presample:4,cvip,hybrid \
  --ratios 1,5,10,20 --json "$work/traffic.json"
"$T" -q info "$g" --json > "$work/info.json"
REPO="$here/.." CGROUP_MEM="${CGROUP_MEM:-}" python3 - "$log" "$work/info.json" "$out" "$scale" "$ef" "$maxb" <<'PY'
import json, os, subprocess, sys
log, info, out, scale, ef, maxb = sys.argv[1:]
cg = os.environ.get("CGROUP_MEM", "")
name = "billion_cgroup_cpu" if cg else "billion_cpu"
runs = [json.loads(l) for l in open(log) if l.strip()]
meta = json.load(open(info))
n, e = meta["num_nodes"], meta["num_arcs"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
try:
    commit = subprocess.check_output(["git", "-C", os.environ["REPO"], "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception:
    commit = "?"
gib = 2.0 ** 30
with open(os.path.join(out, name + ".md"), "w") as f:
    f.write("# The billion-edge path on one machine" + (f", every stage in a {cg} memory cgroup" if cg else "") + "\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores, {mem / gib:.1f} GiB RAM. Commit {commit}. Produced by "
            f"`bench/billion.sh` (scale {scale}, edge factor {ef}): {n:,} nodes, {e:,} arcs, 64 float32 features "
            f"({n * 256 / gib:.1f} GiB). Page cache dropped before each stage. Arcs/s = arcs of the graph / wall "
            f"time. Train: {maxb} batches of fanouts 15,10,5, batch 1024, on the CPU.\n\n")
    f.write("| stage | wall s | arcs/s | peak RSS GiB | anonymous GiB | file-backed GiB | disk read GiB | "
            "disk written GiB |\n|---|---|---|---|---|---|---|---|\n")
    for r in runs:
        f.write(f"| {r['label']} | {r['wall_s']:.1f} | {e / r['wall_s'] / 1e6:.1f}M | {r['peak_rss_bytes'] / gib:.2f} | "
                f"{r['peak_anon_bytes'] / gib:.2f} | {r['peak_file_bytes'] / gib:.2f} | "
                f"{(r['disk_read_bytes'] or 0) / gib:.2f} | {(r['disk_write_bytes'] or 0) / gib:.2f} |\n")
json.dump({"num_nodes": n, "num_arcs": e, "commit": commit, "cgroup_memory": cg, "stages": runs},
          open(os.path.join(out, name + ".json"), "w"), indent=1)
print(open(os.path.join(out, name + ".md")).read())
PY
