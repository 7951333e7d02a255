#!/usr/bin/env bash
# Issue 19's BLAS floor of CPU forward+backward (not part of the test command). On the peer_cpu
# workload (1M-node community graph, 128-dim features, GraphSAGE 3 x 256, fanouts 15,10,5, batch
# 1024, the first 40 batches of an epoch, 2 threads), alternating ROUNDS times:
#  - tiergnn's forward+backward: `train --epochs 3 --max-batches 40`, the mean of epochs 2 and 3 (the
#    first epoch's first batches pay every buffer's growth and first touch);
#  - bench/matmul_bench: the same step's 16 dense products at the mean layer sizes of those batches,
#    by OpenBLAS's 4096^3 SGEMM rate (the reference), tiergnn's kernels, and each product as one
#    OpenBLAS call;
#  - bench/blas_floor.py: the same products through PyTorch (MKL), as DGL runs them.
# The floor of 40 batches is 40 passes over the products. Writes OUT_DIR/blas_floor_cpu.{json,md}.
# Usage: bench/blas_floor.sh TIERGNN_BINARY OUT_DIR   Env: ROUNDS (2), THREADS (2), WORK (a folder
#        that keeps the graph between runs; the same as bench/peer_cpu.sh's), PEER_VENV.
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
mm=$(dirname "$T")/../bench/matmul_bench
[[ -x $mm ]] || { echo "blas_floor: $mm not found (build with -DTIERGNN_BUILD_BENCH=ON)" >&2; exit 1; }
work=${WORK:-$(mktemp -d)}
threads=${THREADS:-2}
mkdir -p "$out" "$work"
peer_python=$("$here/peer_venv.sh")
[[ -d $work/graph ]] || "$T" -q generate community "$work/graph" --nodes 1000000 --feature-dim 128 --avg-degree 20 --seed 1
: > "$work/floor_runs.jsonl"
for round in $(seq 1 "${ROUNDS:-2}"); do
  "$T" -q --threads "$threads" train "$work/graph" --model sage --fanouts 15,10,5 --hidden 256 --batch-size 1024 \
    --epochs 3 --max-batches 40 --eval none --no-progress --metrics "$work/floor_tg.jsonl" --seed 0 > /dev/null
  "$mm" --threads "$threads" --json "$work/floor_mm.json" > /dev/null
  OMP_NUM_THREADS=$threads "$peer_python" "$here/blas_floor.py" "$work/floor_mm.json" --threads "$threads" \
    --json "$work/floor_torch.json" > /dev/null
  python3 - "$work" "$round" >> "$work/floor_runs.jsonl" <<'PY'
import json, sys
w, rnd = sys.argv[1], int(sys.argv[2])
es = [json.loads(l) for l in open(w + "/floor_tg.jsonl") if '"epoch"' in l]
mm, th = json.load(open(w + "/floor_mm.json")), json.load(open(w + "/floor_torch.json"))
print(json.dumps({"round": rnd, "batches": es[-1]["batches"], "compute_s": [e["compute_s"] for e in es],
                  "reference_gflops": mm["reference_gflops"], "pass_gflop": mm["pass_gflop"],
                  "kernels": {k["kernel"]: k["pass_s"] for k in mm["kernels"]}, "torch_pass_s": th["pass_s"],
                  "torch": th["torch"], "cpu": mm["cpu"], "commit": mm["commit"]}))
PY
done
python3 - "$work/floor_runs.jsonl" "$out" "$threads" <<'PY'
import json, os, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out, threads = sys.argv[2], int(sys.argv[3])
json.dump(runs, open(os.path.join(out, "blas_floor_cpu.json"), "w"), indent=1)
r0 = runs[0]
b = r0["batches"]
with open(os.path.join(out, "blas_floor_cpu.md"), "w") as f:
    f.write("# The BLAS floor of CPU forward+backward\n\n")
    f.write(f"Community graph, 1,000,000 nodes, 128-dim features; GraphSAGE 3 x 256, fanouts 15,10,5, batch 1024, the "
            f"first {b} batches of an epoch, {threads} threads. Machine: {r0['cpu']}, {os.cpu_count()} cores. Commit "
            f"{r0['commit'][:7]}. Produced by `bench/blas_floor.sh` (rounds alternate the three measurements).\n\n")
    f.write(f"The dense products of those {b} batches: {b * r0['pass_gflop']:.0f} GFLOP. Floors, in seconds for the "
            f"{b} batches: **reference** = those FLOPs at OpenBLAS's SGEMM rate on 4096^3 (the rate no call on these "
            "shapes reaches); **OpenBLAS calls** and **PyTorch calls** = the same products, each one BLAS call "
            f"({r0['torch']}, MKL), what the BLAS calls alone cost; **tiergnn kernels** = the products alone through "
            "tiergnn's matmul (kernels/cpu/matmul.cpp). forward+backward = tiergnn's training, epochs 2 and 3.\n\n")
    f.write("| round | forward+backward s (epochs 2, 3) | reference s (GFLOP/s) | OpenBLAS calls s | PyTorch calls s | "
            "tiergnn kernels s | fwd+bwd / reference | fwd+bwd / OpenBLAS calls | fwd+bwd / PyTorch calls | "
            "fwd+bwd / tiergnn kernels |\n|---|---|---|---|---|---|---|---|---|---|\n")
    for r in runs:
        fb = sum(r["compute_s"][1:]) / len(r["compute_s"][1:])
        ref = b * r["pass_gflop"] / r["reference_gflops"]
        ob, pt = b * r["kernels"]["openblas-calls"], b * r["torch_pass_s"]
        k = r["kernels"]  # the kernel training uses: AVX-512, else AVX2, else the OpenBLAS tiles
        own = b * k.get("avx512", k.get("avx2", k["blas"]))
        f.write(f"| {r['round']} | {fb:.2f} ({', '.join(f'{x:.2f}' for x in r['compute_s'][1:])}) | {ref:.2f} "
                f"({r['reference_gflops']:.0f}) | {ob:.2f} | {pt:.2f} | {own:.2f} | **{fb / ref:.2f}** | **{fb / ob:.2f}** | "
                f"**{fb / pt:.2f}** | {fb / own:.2f} |\n")
print(open(os.path.join(out, "blas_floor_cpu.md")).read())
PY
