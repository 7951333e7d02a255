#!/usr/bin/env bash
# Epoch benchmark on one GPU (CUDA part 2), run by bench/gpu_check.sh: a generated community graph
# (EPOCH_NODES nodes, default 4M, mean degree 50 before de-duplication: about 200M stored arcs;
# 128-dim float32 features), GraphSAGE with 3 layers, hidden 256, fanouts 15,10,5, batch 1024, in
# one run on one card:
#   tiergnn --device cuda with the paper's baselines as placements of its own
#     copy-0        no GPU tier, CPU gather + DMA copy (the classic DGL/PyG data path)
#     zerocopy-0    no GPU tier, zero-copy reads of pinned host memory (PyTorch-Direct)
#     degree-10/20  a degree-ranked GPU tier of 10% / 20% of the feature bytes (PaGraph)
#     cvip-10/20  the default estimator's GPU tier, 10% / 20%
#     all-gpu       every feature row in device memory
#     *-gs          zerocopy-0, cvip-20 and all-gpu with the batches sampled on the GPU (--sampler gpu)
#   and the conventional PyTorch + PyG pipeline (bench/pyg_epoch.py) on the same graph.
# Each tiergnn run trains 2 epochs; the second (warm) epoch's time is reported with its traffic
# ledger and time split. Writes RESULTS_DIR/epoch_bench.json and prints a table with the targets.
# Environment for a shorter run (bench/gpu_check.sh uses one): EPOCH_NODES, EPOCH_AVG_DEGREE (50),
# EPOCH_TRAIN (the generator's training fraction), EPOCH_PREPARE ("cvip degree": the estimators
# whose prepared datasets are built), EPOCH_RUNS (the placements to run, by name), PYG_BATCHES (100),
# EPOCH_RUN_TIMEOUT (seconds for each tiergnn run), EPOCH_VERBOSE=1 (each run's log lines and progress
# every 10 s, its last EPOCH_LOG_LINES lines printed: for a run that stalls), EPOCH_PROFILE (below).
# Usage: bench/epoch_bench.sh BUILD_DIR RESULTS_DIR [PYTHON]
set -uo pipefail
build=$(realpath "$1")
results=$(realpath -m "$2")
py=${3:-python3}
here=$(cd "$(dirname "$0")" && pwd)
T=$build/cli/tiergnn
nodes=${EPOCH_NODES:-4000000}
device=${EPOCH_DEVICE:-cuda}  # EPOCH_DEVICE=cpu: a dry run of the script on a machine without a GPU
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$results"
t0=$(date +%s)
train_args=()
[[ -n ${EPOCH_TRAIN:-} ]] && train_args=(--train "$EPOCH_TRAIN")
"$T" -q generate community "$work/g" --nodes "$nodes" --avg-degree "${EPOCH_AVG_DEGREE:-50}" --feature-dim 128 \
  "${train_args[@]}" --seed 1 || exit 1
echo "generated $nodes nodes in $(( $(date +%s) - t0 )) s"
common=(--fanouts 15,10,5 --batch-size 1024)
t0=$(date +%s)
for est in ${EPOCH_PREPARE:-cvip degree}; do
  "$T" -q prepare "$work/g" -o "$work/$est" --estimator "$est" --gpu-mem 20% --host-mem 100% "${common[@]}" || exit 1
done
echo "prepared in $(( $(date +%s) - t0 )) s"
runs=(
  "copy-0|cvip|--gpu-mem 0% --host-access copy"
  "zerocopy-0|cvip|--gpu-mem 0%"
  "degree-10|degree|--gpu-mem 10%"
  "degree-20|degree|--gpu-mem 20%"
  "cvip-10|cvip|--gpu-mem 10%"
  "cvip-20|cvip|--gpu-mem 20%"
  "all-gpu|cvip|--gpu-mem 100%"
  "zerocopy-0-gs|cvip|--gpu-mem 0% --sampler gpu"
  "cvip-20-gs|cvip|--gpu-mem 20% --sampler gpu"
  "all-gpu-gs|cvip|--gpu-mem 100% --sampler gpu"
)
: > "$work/runs.jsonl"
for r in "${runs[@]}"; do
  IFS='|' read -r name ds args <<< "$r"
  # EPOCH_RUNS="copy-0 cvip-20 ...": only those placements (a short run)
  [[ -n ${EPOCH_RUNS:-} && " $EPOCH_RUNS " != *" $name "* ]] && continue
  quiet=(-q) progress=(--no-progress)
  [[ ${EPOCH_VERBOSE:-0} == 1 ]] && quiet=() progress=()  # the log lines and progress every 10 s: a run that stalls
  t1=$(date +%s)
  # shellcheck disable=SC2086
  timeout -k 5 "${EPOCH_RUN_TIMEOUT:-100000}" "$T" "${quiet[@]}" train "$work/$ds" --device "$device" --model sage \
    --hidden 256 "${common[@]}" --epochs 2 --eval none "${progress[@]}" --metrics "$work/$name.jsonl" $args > "$work/$name.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t1 ))
  "$py" - "$work/$name.jsonl" "$name" "$rc" >> "$work/runs.jsonl" <<'PY'
import json, os, sys
path, name, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(x) for x in open(path) if x.strip()] if os.path.exists(path) else []
epochs = [x for x in lines if "epoch" in x and not x.get("final")]
print(json.dumps({"name": name, "rc": rc, "epoch": epochs[-1] if epochs else None}))
PY
  echo "$name: rc $rc in $secs s"
  [[ $rc -eq 124 || $rc -eq 137 ]] && echo "$name: stopped at EPOCH_RUN_TIMEOUT=${EPOCH_RUN_TIMEOUT:-} s"
  [[ $rc -ne 0 || ${EPOCH_VERBOSE:-0} == 1 ]] && tail -"${EPOCH_LOG_LINES:-3}" "$work/$name.log"
done
# EPOCH_PROFILE="ARGS" (e.g. "--gpu-mem 20% --sampler gpu"): one more run of 30 batches on the cvip dataset with
# every backend operation timed (TIERGNN_PROFILE_OPS=1); its table goes to RESULTS_DIR/op_profile.txt.
if [[ -n ${EPOCH_PROFILE:-} ]]; then
  # shellcheck disable=SC2086
  TIERGNN_PROFILE_OPS=1 timeout -k 5 "${EPOCH_RUN_TIMEOUT:-100000}" "$T" train "$work/cvip" --device "$device" \
    --model sage --hidden 256 "${common[@]}" --epochs 1 --max-batches 30 --eval none --no-progress $EPOCH_PROFILE \
    > "$work/profile.log" 2>&1
  echo "op profile ($EPOCH_PROFILE, 30 batches): rc $?"
  sed -n '/^epoch 1/p; /^operations on/,$p' "$work/profile.log" | grep -v "^feature traffic\|^no validation" \
    | tee "$results/op_profile.txt"
fi
"$py" "$here/pyg_epoch.py" "$work/g" --max-batches "${PYG_BATCHES:-100}" --json "$work/pyg.json" > "$work/pyg.log" 2>&1 \
  || { echo "pyg baseline failed:"; tail -5 "$work/pyg.log"; }
"$py" - "$work" "$results" <<'PY'
import json, os, sys
work, res = sys.argv[1], sys.argv[2]
runs = [json.loads(l) for l in open(os.path.join(work, "runs.jsonl"))]
pyg = json.load(open(os.path.join(work, "pyg.json"))) if os.path.exists(os.path.join(work, "pyg.json")) else None
by = {r["name"]: r["epoch"] for r in runs if r.get("epoch")}
print(f"\n{'run':14s} {'epoch s':>8s} {'sample':>7s} {'gather':>7s} {'prep':>6s} {'GPU':>6s} {'wait':>6s} {'overlap':>7s} {'GPU hit':>8s} {'H2D GiB':>8s}")
for name, e in by.items():
    t = e["traffic"]
    print(f"{name:14s} {e['seconds']:8.2f} {e['sample_s']:7.2f} {e['gather_s']:7.2f} {e.get('prepare_s', 0):6.2f} {e['compute_s']:6.2f} "
          f"{e.get('wait_s', 0):6.2f} {100 * e.get('overlap', 0):6.0f}% {100 * t['gpu_hit_rate']:7.1f}% "
          f"{t['bytes']['host_to_gpu'] / 2**30:8.2f}")
if pyg:
    print(f"{'PyTorch+PyG':14s} {pyg['epoch_s']:8.2f} {pyg['sample_s']:7.2f} {pyg['gather_copy_s']:7.2f} {'':6s} {pyg['compute_s']:6.2f}"
          f"   ({'extrapolated from ' + str(pyg['timed_batches']) + ' batches' if pyg['extrapolated'] else 'full epoch'})")
targets = {}
for suffix, label in (("", ""), ("-gs", "gpu sampling: ")):  # -gs: the batches sampled on the GPU
    h = by.get("cvip-20" + suffix)
    if not h:
        continue
    if pyg:
        targets[label + "vs_pyg (>= 2.0)"] = pyg["epoch_s"] / h["seconds"]
    if by.get("zerocopy-0" + suffix):
        targets[label + "vs_zerocopy_0 (>= 1.6)"] = by["zerocopy-0" + suffix]["seconds"] / h["seconds"]
    if by.get("all-gpu" + suffix):
        targets[label + "vs_all_gpu (<= 1.3)"] = h["seconds"] / by["all-gpu" + suffix]["seconds"]
print("\ntargets at a 20% GPU tier (cvip-20, and cvip-20-gs):")
for k, v in targets.items():
    print(f"  {k:38s} {v:6.2f}x")
json.dump({"runs": runs, "pyg": pyg, "targets": targets}, open(os.path.join(res, "epoch_bench.json"), "w"), indent=1)
PY
