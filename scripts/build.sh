#!/usr/bin/env bash
# Configures and builds tiergnn into BUILD_DIR (default build/release). The CUDA backend is built
# whenever nvcc is found (on PATH or in /usr/local/cuda/bin); CUDA_ARCHS picks the architectures
# (default: 90, one architecture to keep builds fast; set CUDA_ARCHS=default for the full list).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
archs=${CUDA_ARCHS:-90}
args=(-S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release)
nvcc_path=$(command -v nvcc || true)
[[ -z $nvcc_path && -x /usr/local/cuda/bin/nvcc ]] && nvcc_path=/usr/local/cuda/bin/nvcc
if [[ -n $nvcc_path ]]; then
  args+=(-DTIERGNN_WITH_CUDA=ON "-DCMAKE_CUDA_COMPILER=$nvcc_path")
  [[ $archs != default ]] && args+=("-DCMAKE_CUDA_ARCHITECTURES=$archs")
else
  echo "build: nvcc not found; building without the CUDA backend"
  args+=(-DTIERGNN_WITH_CUDA=OFF)
fi
cmake "${args[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
