#!/usr/bin/env bash
# Fuzzes the parsers that take untrusted bytes (.npy, .npz, edge lists, OGB CSV folders, meta.json,
# plan.json, checkpoints)
# with libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer (clang from Debian's package;
# CUDA off). Seed corpora: files of the real datasets in ../shared/datasets and of generated ones.
# Target "planetoid" is the Python converter of Planetoid pickles (tests/fuzz/fuzz_planetoid.py:
# mutations of ../shared/datasets/cora, each run in a child process).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET ...]
# Prints each target's executions and coverage; a finding leaves its input in build/fuzz/findings/
# and makes the script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(npy npz edgelist ogb meta plan checkpoint planetoid)
run_planetoid=0
if [[ " ${targets[*]} " == *" planetoid "* ]]; then
  run_planetoid=1
  mapfile -t targets < <(printf '%s\n' "${targets[@]}" | grep -vx planetoid)
fi
scripts/setup.sh >/dev/null
command -v clang++ >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends clang >/dev/null; }
build=build/fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTIERGNN_WITH_CUDA=OFF -DTIERGNN_BUILD_TESTS=OFF -DTIERGNN_BUILD_BENCH=OFF -DTIERGNN_API_SHARED=OFF \
  -DTIERGNN_BUILD_FUZZ=ON -DTIERGNN_SANITIZE=address,undefined >/dev/null
((${#targets[@]})) && cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null
# Seed corpora (kept between runs).
corpus=$build/corpus
mkdir -p "$corpus"/{npy,npz,edgelist,ogb,meta,plan,checkpoint} "$build/findings"
shared=../shared/datasets
gen=$build/seed-data
mkdir -p "$gen"
if [[ ! -d $gen/g ]]; then
  build/test/cli/tiergnn -q generate community "$gen/g" --nodes 300 --feature-dim 4 --classes 3 --seed 1 2>/dev/null ||
    echo "fuzz: build/test/cli/tiergnn not built; seeds from ../shared/datasets only" >&2
  [[ -d $gen/g ]] && build/test/cli/tiergnn -q train "$gen/g" --fanouts 3 --epochs 1 --hidden 4 --no-progress \
    --eval none --save-model "$gen/model.tgck" 2>/dev/null || true
fi
if [[ -d $gen/g && ! -d $gen/p ]]; then
  build/test/cli/tiergnn -q prepare "$gen/g" -o "$gen/p" --fanouts 3,2 --estimator degree --gpu-mem 10% \
    --host-mem 50% 2>/dev/null || true
fi
cp -n "$gen/p/plan.json" "$corpus/plan/" 2>/dev/null || true
if [[ -d $gen/g ]]; then
  cp -n "$gen"/g/*.npy "$corpus/npy/" 2>/dev/null || true
  cp -n "$gen/g/meta.json" "$corpus/meta/" 2>/dev/null || true
  cp -n "$gen/model.tgck" "$corpus/checkpoint/" 2>/dev/null || true
fi
find "$shared" -maxdepth 2 -name '*.npz' -size -2M -exec cp -n {} "$corpus/npz/" \; 2>/dev/null || true
find "$shared" -maxdepth 2 \( -name '*.edges*' -o -name '*edges*.csv' -o -name '*.tsv' \) -size -1M \
  -exec cp -n {} "$corpus/edgelist/" \; 2>/dev/null || true
python3 - "$corpus/npz" <<'PY' 2>/dev/null || true
import numpy as np, sys
d = sys.argv[1]
np.savez(f"{d}/stored.npz", a=np.arange(6, dtype=np.int64), b=np.ones((2, 3), np.float32))
np.savez_compressed(f"{d}/deflated.npz", edge_index=np.array([[0, 1], [1, 2]]), y=np.array([0, 1, 1]))
PY
printf '0\t1\n1\t2\n2\t0\n' > "$corpus/edgelist/tiny.tsv"
# OGB folders, one file after another separated by "@@" lines (tests/fuzz/fuzz_ogb.cpp): edge.csv,
# num-node-list, num-edge-list, node-feat, node-label, split train / valid / test.
printf '0,1\n1,2\n2,3\n3,0\n\n@@\n4\n@@\n4\n@@\n0.5,1\n-1,2e3\n0,0\n1,1\n@@\n0\n1\nnan\n1\n@@\n0\n@@\n1\n@@\n3\n' \
  > "$corpus/ogb/full.txt"
printf '0,1\n1,2\n@@\n~\n@@\n~\n@@\n1\n2\n3\n' > "$corpus/ogb/no_counts.txt"
printf 'src,dst\n5,7\n7,9\n' > "$corpus/edgelist/header.csv"
status=0
for t in "${targets[@]}"; do
  log=$build/fuzz_$t.log
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096 -timeout=20 \
       -artifact_prefix="$build/findings/${t}-" "$corpus/$t" >"$log" 2>&1; then
    echo "fuzz_$t: FINDING (see $log and $build/findings/)"
    status=1
  fi
  echo "fuzz_$t: $(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)"
done
if [[ $run_planetoid -eq 1 ]]; then
  if [[ -d ../shared/datasets/cora ]]; then
    python3 tests/fuzz/fuzz_planetoid.py ../shared/datasets/cora cora --seconds "$secs" --findings "$build/findings" \
      > "$build/fuzz_planetoid.log" 2>&1 || { echo "fuzz_planetoid: FINDING (see $build/fuzz_planetoid.log)"; status=1; }
    echo "$(head -1 "$build/fuzz_planetoid.log")"
  else
    echo "fuzz_planetoid: skipped (../shared/datasets/cora not present)"
  fi
fi
exit $status
