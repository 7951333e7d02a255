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
python3 - "$new" "$old" "$work" "$out" "$(git -C "$here" rev-parse --short HEAD)" <<'PY'
import json, os, subprocess, sys, time
new, old, work, out, commit = sys.argv[1:6]
def secs(*cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
rows = []
for d in ("cnr", "rmat"):
    path = os.path.join(work, d)
    arcs = json.loads(subprocess.check_output([new, "info", path, "--json"]))["num_arcs"]
    o = min(secs(old, "-q", "info", path) for _ in range(3))  # alternating would be fairer; best of 3 each
    n = min(secs(new, "-q", "info", path) for _ in range(3))
    chk = secs(new, "-q", "info", path, "--check")
    rows.append((d, arcs, o, n, n - o, chk))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
with open(os.path.join(out, "open_validation_cpu.md"), "w") as f:
    f.write("# Cost of validating datasets on open\n\n")
    f.write(f"`tiergnn info` opens a dataset and computes degree statistics. A build that validates the structure on "
            f"open (O(N + E): CSR, labels, splits, order, sizes) against one that does not (commit 219ebfd), best of "
            f"3 runs each; `info --check` adds checksums and a scan of the features. Machine: {cpu}, {os.cpu_count()} "
            f"cores. Commit {commit}. Command: bench/open_validation.sh.\n\n")
    f.write("| dataset | arcs | info, no validation (s) | info, validated on open (s) | validation cost (s) | info --check (s) |\n")
    f.write("| --- | ---: | ---: | ---: | ---: | ---: |\n")
    for d, arcs, o, n, c, chk in rows:
        f.write(f"| {d} | {arcs:,} | {o:.3f} | {n:.3f} | {c:.3f} | {chk:.3f} |\n")
print(open(os.path.join(out, "open_validation_cpu.md")).read())
PY
