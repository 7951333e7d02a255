#!/usr/bin/env bash
# The GPU machine's check, meant to finish inside 8 minutes: print where the CUDA libraries are,
# configure and build for sm_90 (Release) against the dependencies copied by scripts/gpu_deps.sh
# (.gpu_deps/, carried with the run), run every GPU test (ctest -L gpu), then the GPU benchmarks
# (bench/gpu_bench.cpp: copy-bandwidth ceilings, tiered gather throughput, GPU sampler throughput
# on a generated R-MAT graph with 100M+ edges; bench/epoch_bench.sh: GraphSAGE epochs with
# tiergnn's placements against PyTorch + PyG), print a short table last and write JSON into
# RESULTS_DIR.
# Usage: bench/gpu_check.sh RESULTS_DIR   (try it on a machine without a GPU: tests skip)
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(realpath -m "${1:-${OUT:-gpu-results}}")
mkdir -p "$results"
deps=$PWD/.gpu_deps/usr
[[ -d $deps ]] || { echo "gpu_check: .gpu_deps is missing: run scripts/gpu_deps.sh here and carry .gpu_deps"; exit 2; }
nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc_path")")")
echo "== CUDA"
"$nvcc_path" --version | tail -2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
for l in cudart cusparse cublas nccl; do
  p=$( (ldconfig -p 2>/dev/null | awk -v l="lib$l.so" '$1 ~ l {print $NF; exit}'); true)
  [[ -z $p ]] && p=$(find "$cuda_root" /usr/lib /usr/local /opt -name "lib$l.so*" 2>/dev/null | head -1)
  echo "lib$l: ${p:-not found}"
done
export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu:$deps/lib/x86_64-linux-gnu/openblas:${LD_LIBRARY_PATH:-}"
build=build/gpu
echo "== build"
t0=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIERGNN_WITH_CUDA=ON \
  -DCMAKE_CUDA_COMPILER="$nvcc_path" \
  -DCMAKE_PREFIX_PATH="$deps" -DTBB_DIR="$deps/lib/x86_64-linux-gnu/cmake/TBB" \
  -DGTest_DIR="$deps/lib/x86_64-linux-gnu/cmake/GTest" -Dnlohmann_json_DIR="$deps/share/cmake/nlohmann_json" \
  -DCLI11_DIR="$deps/share/cmake/CLI11" -DOpenBLAS_DIR="$deps/lib/x86_64-linux-gnu/cmake/openblas" \
  -DZLIB_ROOT="$deps" -DTIERGNN_BUILD_TESTS=ON -DTIERGNN_BUILD_BENCH=ON > "$results/configure.log" 2>&1 \
  || { tail -30 "$results/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" > "$results/build.log" 2>&1 || { grep -E "error|Error" "$results/build.log" | head -30; exit 1; }
echo "built in $(( $(date +%s) - t0 )) s"
echo "== GPU tests"
ctest --test-dir "$build" -L gpu --output-on-failure --output-junit "$results/gpu_tests.xml" 2>&1 | tee "$results/gpu_tests.log" | tail -25
test_rc=${PIPESTATUS[0]}
echo "== GPU benchmarks"
bench_rc=0
if [[ $(nvidia-smi -L 2>/dev/null | wc -l) -gt 0 ]]; then
  work=$(mktemp -d)
  t1=$(date +%s)
  # R-MAT scale 22, edge factor 16, undirected: 4.2M nodes and about 130M stored edges.
  "$build/cli/tiergnn" -q generate rmat "$work/rmat22" --scale 22 --edge-factor 16 --undirected --drop-self-loops --seed 1 \
    && echo "generated the sampler graph in $(( $(date +%s) - t1 )) s"
  "$build/bench/gpu_bench" --work "$work" --sampler-dataset "$work/rmat22" --batches 100 --json "$results/gpu_bench.json" \
    2>&1 | tee "$results/gpu_bench.log"
  bench_rc=${PIPESTATUS[0]}
  rm -rf "$work"
  echo "== epoch benchmark (tiergnn placements and PyTorch + PyG)"
  bench/epoch_bench.sh "$build" "$results" python3 2>&1 | tee "$results/epoch_bench.log"
  [[ ${PIPESTATUS[0]} -ne 0 && $bench_rc -eq 0 ]] && bench_rc=1
else
  echo "no GPU: benchmarks skipped"
fi
echo "== Python module on the GPU (FeatureStore(device='cuda') -> CUDA tensors)"
py_rc=0
if [[ -d .gpu_deps/wheels ]] && python3 -c "import torch" 2>/dev/null; then
  venv=$(mktemp -d)/venv
  python3 -m venv --system-site-packages "$venv" \
    && "$venv/bin/pip" install -q --no-index --find-links .gpu_deps/wheels nanobind scikit-build-core pytest \
    && CMAKE_ARGS="-DCMAKE_PREFIX_PATH=$deps -DTBB_DIR=$deps/lib/x86_64-linux-gnu/cmake/TBB -DOpenBLAS_DIR=$deps/lib/x86_64-linux-gnu/cmake/openblas -Dnlohmann_json_DIR=$deps/share/cmake/nlohmann_json -DCLI11_DIR=$deps/share/cmake/CLI11" \
       "$venv/bin/pip" install -q --no-index --no-build-isolation ./python > "$results/python_build.log" 2>&1 \
    && TIERGNN_CLI=$PWD/$build/cli/tiergnn "$venv/bin/python" -m pytest -q -rs python/tests/test_module.py 2>&1 | tee "$results/python_tests.log" | tail -5
  py_rc=${PIPESTATUS[0]}
  [[ -f $results/python_tests.log ]] || { echo "python module build failed:"; tail -20 "$results/python_build.log"; py_rc=1; }
else
  echo "skipped: no .gpu_deps/wheels or no torch"
fi
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
PY_RC=$py_rc python3 - "$results" "${device:-none}" "$test_rc" "$bench_rc" <<'PY'
import json, os, re, sys, subprocess
res, device, rc, bench_rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
log = open(res + "/gpu_tests.log").read()
m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", log)
skipped = len(re.findall(r"\*\*\*Skipped", log))
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception:
    commit = "?"
summary = {"device": device, "commit": commit, "ctest_rc": rc,
           "tests_total": int(m.group(3)) if m else None, "tests_failed": int(m.group(2)) if m else None,
           "tests_skipped": skipped, "bench_rc": bench_rc, "python_tests_rc": int(os.environ.get("PY_RC", "0"))}
bench = {}
if os.path.exists(res + "/gpu_bench.json"):
    bench = json.load(open(res + "/gpu_bench.json"))
    summary["bench"] = bench
if os.path.exists(res + "/epoch_bench.json"):
    summary["epoch_bench"] = json.load(open(res + "/epoch_bench.json"))
json.dump(summary, open(res + "/gpu_check.json", "w"), indent=1)
print("== summary")
for k, v in summary.items():
    if k not in ("bench", "epoch_bench"):
        print(f"{k:14s} {v}")
if bench:
    c = bench["ceilings_gbps"]
    print(f"ceilings       pinned H2D {c['pinned_h2d']:.1f} GB/s, device copy {c['d2d_copy']:.1f} GB/s")
    for g in bench.get("gather", []):
        print(f"gather {g['row_bytes']:5d} B {g['tiers']:6s} {g['kernel_gbps']:7.1f} GB/s ({100 * g['fraction_of_ceiling']:.0f}% of ceiling)")
    s = bench.get("sampler")
    if s:
        print(f"sampler        CPU {s['cpu_edges_per_s'] / 1e6:.1f} M/s; GPU device {s['gpu_device_edges_per_s'] / 1e6:.1f} M/s, "
              f"pinned {s['gpu_pinned_edges_per_s'] / 1e6:.1f} M/s (sampled edges)")
for k, v in summary.get("epoch_bench", {}).get("targets", {}).items():
    print(f"epoch {k:24s} {v:.2f}x")
PY
[[ $test_rc -eq 0 ]] && exit "$bench_rc"
exit "$test_rc"
