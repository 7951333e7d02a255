#!/usr/bin/env bash
# Sets up the Python side: a virtual environment (VENV, default .venv) with numpy, pytest, PyTorch
# and PyTorch Geometric (from PyPI), and the tiergnn module built from ./python into it
# (`pip install ./python`, nanobind + scikit-build-core; the build folder build/python is reused).
# Idempotent: packages already present are not reinstalled. Prints the venv's python path last.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
py=$(command -v python3)
if [[ ! -x $venv/bin/python ]]; then
  echo "python_env: creating $venv with $py" >&2
  "$py" -m venv "$venv"
fi
vpy=$venv/bin/python
need=()
"$vpy" -c "import numpy" 2>/dev/null || need+=(numpy)
"$vpy" -c "import pytest" 2>/dev/null || need+=(pytest)
"$vpy" -c "import torch" 2>/dev/null || need+=(torch)
"$vpy" -c "import torch_geometric" 2>/dev/null || need+=(torch_geometric)
"$vpy" -c "import nanobind, scikit_build_core" 2>/dev/null || need+=(nanobind scikit-build-core)
if ((${#need[@]} > 0)); then
  echo "python_env: installing ${need[*]} into $venv" >&2
  "$vpy" -m pip install -q --disable-pip-version-check "${need[@]}" >&2
fi
echo "python_env: building and installing the tiergnn module" >&2
"$vpy" -m pip install -q --disable-pip-version-check --no-build-isolation ./python >&2
echo "$vpy"
