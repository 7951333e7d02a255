#!/usr/bin/env bash
# Copies what the build needs and the GPU machine's image lacks (oneTBB, GoogleTest, OpenBLAS and
# its Fortran runtime, zlib, nlohmann-json, CLI11) from this machine into .gpu_deps/ (git-ignored),
# mirroring the /usr layout so the packages' CMake configs find their files relative to themselves.
# Run it here before a device run, and carry .gpu_deps with the run. bench/gpu_check.sh uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
dst=.gpu_deps/usr
rm -rf .gpu_deps
mkdir -p "$dst/include" "$dst/lib/x86_64-linux-gnu/cmake" "$dst/share/cmake"
lib=/usr/lib/x86_64-linux-gnu
copy() { cp -a "$@"; }
# oneTBB
copy /usr/include/tbb /usr/include/oneapi "$dst/include/"
copy "$lib"/libtbb*.so* "$dst/lib/x86_64-linux-gnu/"
copy "$lib/cmake/TBB" "$dst/lib/x86_64-linux-gnu/cmake/"
# GoogleTest / GoogleMock
copy /usr/include/gtest /usr/include/gmock "$dst/include/"
copy "$lib"/libgtest*.a "$lib"/libgmock*.a "$dst/lib/x86_64-linux-gnu/"
copy "$lib/cmake/GTest" "$dst/lib/x86_64-linux-gnu/cmake/"
# header-only libraries
copy /usr/include/nlohmann /usr/include/CLI "$dst/include/"
copy /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$dst/share/cmake/"
[[ -d /usr/share/pkgconfig ]] && true
# zlib
copy /usr/include/zlib.h /usr/include/zconf.h "$dst/include/" 2>/dev/null || copy /usr/include/zlib.h "$dst/include/"
[[ -f /usr/include/x86_64-linux-gnu/zconf.h ]] && copy /usr/include/x86_64-linux-gnu/zconf.h "$dst/include/"
copy "$lib"/libz.so* "$dst/lib/x86_64-linux-gnu/" 2>/dev/null || copy /lib/x86_64-linux-gnu/libz.so* "$dst/lib/x86_64-linux-gnu/"
# OpenBLAS (its Debian config holds absolute paths: write a relocatable one) and its runtime deps
ob=$(readlink -f "$lib/openblas-pthread/libopenblas.so")
mkdir -p "$dst/lib/x86_64-linux-gnu/openblas" "$dst/include/openblas" "$dst/lib/x86_64-linux-gnu/cmake/openblas"
copy "$ob" "$dst/lib/x86_64-linux-gnu/openblas/"
ln -sf "$(basename "$ob")" "$dst/lib/x86_64-linux-gnu/openblas/libopenblas.so"
ln -sf "$(basename "$ob")" "$dst/lib/x86_64-linux-gnu/openblas/libopenblas.so.0"
copy /usr/include/x86_64-linux-gnu/openblas-pthread/*.h "$dst/include/openblas/"
for so in $(ldd "$ob" | awk '/gfortran|quadmath/ {print $3}'); do copy -L "$so" "$dst/lib/x86_64-linux-gnu/"; done
cat > "$dst/lib/x86_64-linux-gnu/cmake/openblas/OpenBLASConfig.cmake" <<'CFG'
# Relocatable OpenBLAS config written by scripts/gpu_deps.sh.
get_filename_component(_ob_prefix "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)
set(OpenBLAS_VERSION "copied")
set(OpenBLAS_INCLUDE_DIRS "${_ob_prefix}/include/openblas")
set(OpenBLAS_LIBRARIES "${_ob_prefix}/lib/x86_64-linux-gnu/openblas/libopenblas.so")
CFG
# Pure-Python packages for the Python module's stage there (its image has PyTorch and PyG but no
# package registry, and may lack pip/ensurepip): nanobind (to build the module in the same CMake
# build) and pytest with every dependency it has on Python 3.12, downloaded as wheels and unpacked
# into .gpu_deps/pylib, which bench/gpu_check.sh puts on PYTHONPATH (no pip, no venv needed).
mkdir -p .gpu_deps/wheels .gpu_deps/pylib
for pyver in 3.12 3.11; do
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version "$pyver" \
    --implementation py --abi none --platform any -d .gpu_deps/wheels nanobind pytest
done
for w in .gpu_deps/wheels/*.whl; do python3 -m zipfile -e "$w" .gpu_deps/pylib/; done
PYTHONPATH=.gpu_deps/pylib python3 -c "import nanobind, pytest, pygments, packaging, pluggy, iniconfig" \
  || { echo "gpu_deps: the unpacked Python packages do not import"; exit 1; }
du -sh .gpu_deps
