#!/usr/bin/env bash
# Configures and builds tiergnn into BUILD_DIR (default build/release). The CUDA backend is built
# whenever nvcc is found (on PATH or in /usr/local/cuda/bin), for CMakeLists.txt's default
# architecture unless CUDAARCHS (CMake's variable, e.g. "80;90") names others.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
args=(-S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release)
nvcc_path=$(command -v nvcc || true)
[[ -z $nvcc_path && -x /usr/local/cuda/bin/nvcc ]] && nvcc_path=/usr/local/cuda/bin/nvcc
if [[ -n $nvcc_path ]]; then
  args+=(-DTIERGNN_WITH_CUDA=ON "-DCMAKE_CUDA_COMPILER=$nvcc_path")
else
  echo "build: nvcc not found; building without the CUDA backend"
  args+=(-DTIERGNN_WITH_CUDA=OFF)
fi
cmake "${args[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
