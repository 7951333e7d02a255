#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, builds examples/consumer against the installed
# CMake package (find_package(tiergnn)) and runs it on a generated dataset, plain and prepared.
# Usage: consumer_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
# The shared library exports the API (namespace tiergnn) and nothing of tiergnn's internals (tg::).
lib=$(find "$work/prefix" -name 'libtiergnn.so.*' -type f | head -1)
exported=$(nm -DC --defined-only "$lib")
grep -q "tiergnn::dataset::open" <<<"$exported"
if grep -q " tg::" <<<"$exported"; then
  echo "libtiergnn exports internal symbols:" >&2
  grep " tg::" <<<"$exported" | head >&2
  exit 1
fi
test -f "$work/prefix/include/tiergnn/tiergnn.hpp"
test -f "$work/prefix/lib/cmake/tiergnn/tiergnnConfig.cmake" || test -f "$work/prefix/lib64/cmake/tiergnn/tiergnnConfig.cmake"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$src/examples/consumer" -B "$work/build" "${gen[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
cli="$work/prefix/bin/tiergnn"
"$cli" -q generate community "$work/g" --nodes 20000 --seed 3
"$work/build/tiergnn_consumer" "$work/g" 10,5
"$cli" -q prepare "$work/g" -o "$work/p" --gpu-mem 10% --host-mem 50% --fanouts 10,5
"$work/build/tiergnn_consumer" "$work/p" 10,5 | tee "$work/out.txt"
grep -q "prepared" "$work/out.txt"
grep -q "0 rows differ" "$work/out.txt"
echo "consumer built against the installed package and ran"
