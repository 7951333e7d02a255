#!/usr/bin/env bash
# The whole C++ test suite under AddressSanitizer + UndefinedBehaviorSanitizer (g++, CUDA off, so
# every test runs on this machine): configures build/asan, builds, runs ctest. Exit 1 on any test
# failure or sanitizer report. Not part of scripts/test.sh (it doubles the build time); its last
# result is recorded in bench/results/sanitize_cpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
build=${BUILD_DIR:-build/asan}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERGNN_WITH_CUDA=OFF -DTIERGNN_BUILD_TESTS=ON \
  -DTIERGNN_BUILD_BENCH=OFF -DTIERGNN_API_SHARED=OFF -DTIERGNN_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j"$(nproc)"
# detect_leaks: tiergnn owns everything through RAII; a leak is a finding. halt_on_error: the first
# report fails the test that caused it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E DataParallelMpi "$@"
# Open MPI keeps allocations until exit (libmpi and its dlopen'ed plugins), which LeakSanitizer reports as
# leaks of every process mpirun starts: the MPI tests run with leak detection off, every other check on.
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
  ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R DataParallelMpi "$@"
