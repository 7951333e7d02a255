#!/usr/bin/env bash
# The GPU machine's check (issue: GPU validation), built to finish inside 8 minutes in stages that
# each write their results the moment they end, so a run cut short still returns the stages before:
#   0 env      where the CUDA libraries are (cudart, cuSPARSE, cuBLAS, NCCL), the card, the driver
#   1 build    configure + build for sm_90 (Release) against .gpu_deps (scripts/gpu_deps.sh), the
#              Python module included; then every GPU test (ctest -L gpu, a per-test timeout), then
#              compute-sanitizer memcheck over the GPU kernel/store/sampler tests
#   2 gather   bandwidth ceilings (pinned H2D, device copy) and tiered-gather throughput
#   3 sampler  GPU sampler against the CPU sampler on a generated R-MAT graph
#   4 epoch    a short epoch benchmark: the 7 tiergnn placements and PyTorch + PyG on a 1M-node community graph
#              (GPU_CHECK_LONG=1: the long one of bench/epoch_bench.sh, 4M nodes and 7 placements)
#   5 python   the Python module's tests (FeatureStore(device="cuda") -> CUDA tensors)
# GPU_CHECK_STAGES="env build epoch" runs only the stages named (build always), GPU_CHECK_TARGETS="tiergnn" builds
# only those targets. Each stage runs under its own time limit (GPU_CHECK_LIMITS="build=170 tests=70 ..." overrides);
# RESULTS_DIR/stages.tsv gets "stage rc seconds" per stage, RESULTS_DIR/<stage>.log its output, and
# RESULTS_DIR/gpu_check.json the summary, and RESULTS_DIR.tgz all of it in one file. The exit status is the
# first failing stage's.
# Usage: bench/gpu_check.sh [RESULTS_DIR]   (on a machine without a GPU the GPU parts skip: a dry run)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
results=$(realpath -m "${1:-${OUT:-gpu-results}}")
mkdir -p "$results"
: > "$results/stages.tsv"
deps=$root/.gpu_deps/usr
[[ -d $deps ]] || { echo "gpu_check: .gpu_deps is missing: run scripts/gpu_deps.sh here and carry .gpu_deps"; exit 2; }
nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc_path")")")
export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu:$deps/lib/x86_64-linux-gnu/openblas:${LD_LIBRARY_PATH:-}"
export PYTHONPATH="$root/.gpu_deps/pylib${PYTHONPATH:+:$PYTHONPATH}"
build=$root/build/gpu
T=$build/cli/tiergnn
has_gpu=0
[[ $(nvidia-smi -L 2>/dev/null | grep -c GPU) -gt 0 ]] && has_gpu=1
declare -A limit=([env]=60 [build]=170 [tests]=70 [sanitizer]=60 [gather]=35 [sampler]=60 [epoch]=220 [python]=40)
for kv in ${GPU_CHECK_LIMITS:-}; do limit[${kv%%=*}]=${kv#*=}; done
first_rc=0
script_start=$(date +%s)

# run_stage NAME COMMAND...: runs the command under the stage's limit, logs it, records the result.
run_stage() {
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  echo "== $name (limit ${limit[$name]} s)"
  timeout -k 5 "${limit[$name]}" "$@" > "$results/$name.log" 2>&1
  rc=$?
  local secs=$(( $(date +%s) - t0 ))
  tail -n "${TAIL_LINES:-15}" "$results/$name.log"
  [[ $rc -eq 124 || $rc -eq 137 ]] && echo "$name: stopped at its limit of ${limit[$name]} s"
  printf '%s\t%d\t%d\n' "$name" "$rc" "$secs" >> "$results/stages.tsv"
  echo "$name: rc $rc in $secs s (total $(( $(date +%s) - script_start )) s)"
  [[ $rc -ne 0 && $first_rc -eq 0 ]] && first_rc=$rc
  return "$rc"
}

stage_env() {
  echo "CUDA toolkit: $cuda_root"
  "$nvcc_path" --version | tail -2
  nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current \
    --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
  for l in cudart cusparse cublas nccl; do
    p=$( (ldconfig -p 2>/dev/null | awk -v l="lib$l.so" '$1 ~ l {print $NF; exit}'); true)
    [[ -z $p ]] && p=$(find "$cuda_root" /usr/lib /usr/local /opt -name "lib$l.so*" 2>/dev/null | head -1)
    echo "lib$l: ${p:-not found}"
  done
  grep -hE "define NCCL_(MAJOR|MINOR|PATCH) " "$cuda_root/include/nccl.h" /usr/include/nccl.h 2>/dev/null | head -3
  echo "compute-sanitizer: $(sanitizer_path || echo not found)"
  python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)" \
    2>&1 | tail -1
  python3 -c "import torch_geometric as g; print('torch_geometric', g.__version__)" 2>&1 | tail -1
  nproc
}

sanitizer_path() {
  local p
  p=$(command -v compute-sanitizer || true)
  [[ -z $p ]] && for c in "$cuda_root/bin/compute-sanitizer" "$cuda_root/compute-sanitizer/compute-sanitizer"; do
    [[ -x $c ]] && p=$c && break
  done
  [[ -n $p ]] && echo "$p"
}

stage_build() {
  local py_args=(-DTIERGNN_BUILD_PYTHON=OFF)
  if python3 -c "import nanobind, sysconfig, os; assert os.path.exists(sysconfig.get_paths()['include'] + '/Python.h')" \
    2>/dev/null; then
    py_args=(-DTIERGNN_BUILD_PYTHON=ON "-DPython_EXECUTABLE=$(command -v python3)")
  else
    echo "the Python module is left out: no nanobind (.gpu_deps/pylib) or no Python.h here"
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIERGNN_WITH_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$nvcc_path" -DCMAKE_CUDA_ARCHITECTURES="${CUDAARCHS:-90}" \
    -DCMAKE_PREFIX_PATH="$deps" -DTBB_DIR="$deps/lib/x86_64-linux-gnu/cmake/TBB" \
    -DGTest_DIR="$deps/lib/x86_64-linux-gnu/cmake/GTest" -Dnlohmann_json_DIR="$deps/share/cmake/nlohmann_json" \
    -DCLI11_DIR="$deps/share/cmake/CLI11" -DOpenBLAS_DIR="$deps/lib/x86_64-linux-gnu/cmake/openblas" \
    -DZLIB_ROOT="$deps" -DTIERGNN_BUILD_TESTS=ON -DTIERGNN_BUILD_BENCH=ON "${py_args[@]}" > "$results/configure.log" 2>&1 \
    || { tail -30 "$results/configure.log"; return 1; }
  # shellcheck disable=SC2086
  cmake --build "$build" -j"$(nproc)" ${GPU_CHECK_TARGETS:+--target $GPU_CHECK_TARGETS} > "$results/build_output.log" 2>&1 \
    || { grep -E "error|Error" "$results/build_output.log" | head -40; return 1; }
  echo "built"
}

stage_tests() {
  ctest --test-dir "$build" -L gpu --timeout 45 -j4 --output-on-failure --output-junit "$results/gpu_tests.xml"
}

stage_sanitizer() {
  local cs
  cs=$(sanitizer_path) || { echo "compute-sanitizer not found: stage skipped"; return 0; }
  [[ $has_gpu -eq 1 ]] || { echo "no GPU: stage skipped"; return 0; }
  local rc=0
  # The kernel, store and sampler tests: every launch of the gather, model and sampler kernels.
  for t in test_kernels_gpu test_tiering_gpu test_sampler_gpu; do
    [[ -x $build/tests/$t ]] || continue
    echo "-- $t"
    "$cs" --tool memcheck --leak-check no --error-exitcode 99 "$build/tests/$t" --gtest_brief=1 2>&1 | tail -12
    local r=${PIPESTATUS[0]}
    echo "$t: compute-sanitizer rc $r"
    [[ $r -ne 0 && $rc -eq 0 ]] && rc=$r
  done
  return "$rc"
}

stage_gather() {
  [[ $has_gpu -eq 1 ]] || { echo "no GPU: stage skipped"; return 0; }
  local work
  work=$(mktemp -d)
  "$build/bench/gpu_bench" --work "$work" --parts ceilings,gather --gather-mib 512 --json "$results/gather.json"
  local rc=$?
  rm -rf "$work"
  return "$rc"
}

stage_sampler() {
  [[ $has_gpu -eq 1 ]] || { echo "no GPU: stage skipped"; return 0; }
  local work t1
  work=$(mktemp -d)
  t1=$(date +%s)
  # R-MAT scale 21, edge factor 16, undirected: 2.1M nodes and about 65M stored edges.
  "$T" -q generate rmat "$work/rmat21" --scale 21 --edge-factor 16 --undirected --drop-self-loops --seed 1 || return 1
  echo "generated the sampler graph in $(( $(date +%s) - t1 )) s"
  "$build/bench/gpu_bench" --work "$work" --parts sampler --sampler-dataset "$work/rmat21" --batches 60 \
    --sampler-batch-sizes "${SAMPLER_BATCH_SIZES:-1024,4096,16384}" --json "$results/sampler.json"
  local rc=$?
  rm -rf "$work"
  return "$rc"
}

stage_epoch() {
  [[ $has_gpu -eq 1 ]] || { echo "no GPU: stage skipped"; return 0; }
  if [[ ${GPU_CHECK_LONG:-0} == 1 ]]; then
    bench/epoch_bench.sh "$build" "$results" python3
  else
    EPOCH_NODES=${EPOCH_NODES:-1000000} EPOCH_AVG_DEGREE=20 EPOCH_TRAIN=0.1 EPOCH_PREPARE="cvip degree" \
      EPOCH_PROFILE="${EPOCH_PROFILE---gpu-mem 20% --sampler gpu}" EPOCH_RUN_TIMEOUT=60 PYG_BATCHES=20 bench/epoch_bench.sh "$build" "$results" python3
  fi
}

stage_python() {
  local pkg=$build/python
  [[ -f $(ls "$pkg"/tiergnn/_tiergnn*.so 2>/dev/null | head -1) ]] \
    || { echo "the Python module was not built (see the build stage): stage skipped"; return 0; }
  python3 -c "import torch" 2>/dev/null || { echo "no torch here: stage skipped"; return 0; }
  PYTHONPATH="$pkg:$PYTHONPATH" TIERGNN_CLI=$T python3 -m pytest -q -rs -p no:cacheprovider python/tests/test_module.py
}

export -f stage_env sanitizer_path stage_build stage_tests stage_sanitizer stage_gather stage_sampler stage_epoch \
  stage_python
export root results deps nvcc_path cuda_root build T has_gpu

# GPU_CHECK_STAGES="env build epoch": only those stages (a follow-up run); GPU_CHECK_TARGETS: the build's targets.
wanted() { [[ -z ${GPU_CHECK_STAGES:-} || " $GPU_CHECK_STAGES " == *" $1 "* ]]; }
wanted env && run_stage env bash -c stage_env
if run_stage build bash -c stage_build; then
  for s in tests sanitizer gather sampler epoch python; do
    wanted "$s" && run_stage "$s" bash -c "stage_$s"
  done
fi

device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
python3 - "$results" "${device:-none}" <<'PY'
import json, os, re, subprocess, sys
res, device = sys.argv[1], sys.argv[2]
stages = {}
for line in open(os.path.join(res, "stages.tsv")):
    name, rc, secs = line.split()
    stages[name] = {"rc": int(rc), "seconds": int(secs)}
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception:
    commit = "?"
summary = {"device": device, "commit": commit, "stages": stages}
log = os.path.join(res, "tests.log")
if os.path.exists(log):
    text = open(log).read()
    m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    if m:
        summary["tests"] = {"total": int(m.group(3)), "failed": int(m.group(2)),
                            "skipped": len(re.findall(r"\*\*\*Skipped|Not Run", text)),
                            "failures": re.findall(r"\d+ - (\S+) \(Failed|Timeout\)", text)}
for part in ("gather", "sampler", "epoch_bench"):
    p = os.path.join(res, part + ".json")
    if os.path.exists(p):
        summary[part] = json.load(open(p))
json.dump(summary, open(os.path.join(res, "gpu_check.json"), "w"), indent=1)
print("== summary")
print(f"device {device}, commit {commit}")
for k, v in stages.items():
    print(f"  {k:10s} rc {v['rc']:3d} {v['seconds']:5d} s")
if "tests" in summary:
    print(f"  GPU tests: {summary['tests']}")
g = summary.get("gather")
if g:
    c = g["ceilings_gbps"]
    print(f"  ceilings pinned H2D {c['pinned_h2d']:.1f} GB/s, device copy {c['d2d_copy']:.1f} GB/s")
    for x in g.get("gather", []):
        print(f"  gather {x['row_bytes']:5d} B {x['tiers']:6s} {x['kernel_gbps']:7.1f} GB/s "
              f"({100 * x['fraction_of_ceiling']:.0f}% of ceiling)")
s = (summary.get("sampler") or {}).get("sampler")
if s:
    for r in s.get("by_batch_size", [s]):
        print(f"  sampler batch {r.get('batch_size', 1024)}: CPU {r['cpu_edges_per_s'] / 1e6:.1f} M/s; "
              f"GPU device {r['gpu_device_edges_per_s'] / 1e6:.1f} M/s "
              f"({r['gpu_device_edges_per_s'] / r['cpu_edges_per_s']:.1f}x), "
              f"pinned {r['gpu_pinned_edges_per_s'] / 1e6:.1f} M/s (sampled edges)")
for k, v in (summary.get("epoch_bench") or {}).get("targets", {}).items():
    print(f"  epoch {k:38s} {v:.2f}x")
PY
echo "gpu_check: $(( $(date +%s) - script_start )) s in all"
# Every result file in one archive beside the folder (the device tool returns at most 8 files).
tar czf "$results.tgz" -C "$(dirname "$results")" "$(basename "$results")" && echo "gpu_check: wrote $results.tgz"
exit "$first_rc"
