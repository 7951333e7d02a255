#!/usr/bin/env bash
# Installs what tiergnn needs to build and test on a Debian machine. Idempotent: packages already
# present are not reinstalled, and apt's index is refreshed only when something is missing.
set -euo pipefail

debs=(cmake ninja-build g++ pkg-config zlib1g-dev libtbb-dev libgtest-dev libgmock-dev googletest
      libbenchmark-dev libcli11-dev nlohmann-json3-dev libopenblas-dev python3 python3-dev python3-venv
      clang-format libopenmpi-dev openmpi-bin liburing-dev)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Planetoid (Cora/CiteSeer) converter reads Python pickles of scipy matrices.
py=$(command -v python3)
if ! "$py" -c "import numpy, scipy" 2>/dev/null; then
  echo "setup: installing numpy and scipy for $py"
  "$py" -m pip install -q numpy scipy 2>/dev/null || "$py" -m pip install -q --break-system-packages numpy scipy
fi
echo "setup: dependencies present"
