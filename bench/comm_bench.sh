#!/usr/bin/env bash
# All-reduce time against message size for the CPU collective engines of data-parallel jobs: the TCP
# star around rank 0 (tiergnn launch) and MPI (mpirun), at K = 2, 4 and 8 processes on this machine
# (`tiergnn bench comm`; more processes than cores are oversubscribed, which the results say).
# Usage: bench/comm_bench.sh TIERGNN_BINARY OUT_DIR  (writes OUT_DIR/comm_cpu.{json,md})
# Env: KS ("2 4 8"), MAX_MIB (64), REPEATS (10).
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
command -v mpirun >/dev/null || { echo "comm_bench: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
root=()
[[ $(id -u) == 0 ]] && root=(--allow-run-as-root)
for k in ${KS:-2 4 8}; do
  "$T" -q launch -n "$k" -- bench comm --comm tcp --max-mib "${MAX_MIB:-64}" --repeats "${REPEATS:-10}" \
    --json "$work/tcp_$k.json" > /dev/null
  mpirun "${root[@]}" --oversubscribe -np "$k" "$T" -q bench comm --comm mpi --max-mib "${MAX_MIB:-64}" \
    --repeats "${REPEATS:-10}" --json "$work/mpi_$k.json" > /dev/null
done
python3 - "$work" "$out" "$(mpirun --version | head -1)" <<'PY'
import glob, json, os, subprocess, sys
work, out, mpi_version = sys.argv[1], sys.argv[2], sys.argv[3]
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(work, "*.json")))]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
json.dump({"cpu": cpu, "cores": os.cpu_count(), "commit": commit, "mpi": mpi_version, "runs": runs},
          open(os.path.join(out, "comm_cpu.json"), "w"), indent=1)
by = {(r["engine"], r["ranks"]): {row["bytes"]: row["median_s"] for row in r["rows"]} for r in runs}
ks = sorted({r["ranks"] for r in runs})
sizes = sorted({b for t in by.values() for b in t})
def fmt(b):
    return f"{b // (1 << 20)} MiB" if b >= 1 << 20 else f"{b // 1024} KiB"
with open(os.path.join(out, "comm_cpu.md"), "w") as f:
    f.write("# All-reduce time: TCP star vs MPI\n\n")
    f.write(f"`bench/comm_bench.sh`: float32 sum all-reduce, median of the timed calls (each call timed as its "
            f"slowest rank), processes on one machine: {cpu}, {os.cpu_count()} cores (K above that is "
            f"oversubscribed). {mpi_version}. Commit {commit}.\n\n")
    f.write("| message | " + " | ".join(f"tcp K={k} | mpi K={k}" for k in ks) + " |\n")
    f.write("|---|" + "---|---|" * len(ks) + "\n")
    for b in sizes:
        cells = []
        for k in ks:
            for e in ("cpu", "mpi"):
                t = by.get((e, k), {}).get(b)
                cells.append(f"{t * 1e3:.3f} ms" if t is not None else "-")
        f.write(f"| {fmt(b)} | " + " | ".join(cells) + " |\n")
print(open(os.path.join(out, "comm_cpu.md")).read())
PY
