#!/usr/bin/env bash
# Prints the Python of the peer virtual environment (DGL and PyTorch for the CPU comparisons of
# bench/peer_cpu.sh and bench/blas_floor.sh), installing it first when it is missing: dgl 2.1.0 with
# torch 2.2.1, the newest pair with Linux wheels on PyPI (several GB: torch's CUDA runtime wheels).
# Env: PEER_VENV (default ~/.cache/tiergnn-peer-venv).
set -euo pipefail
venv=${PEER_VENV:-$HOME/.cache/tiergnn-peer-venv}
if ! "$venv/bin/python" -c "import dgl, torch" 2>/dev/null; then
  echo "peer_venv: installing dgl 2.1.0 + torch 2.2.1 into $venv (several GB: torch's CUDA runtime wheels)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "torch==2.2.1" "dgl==2.1.0" "torchdata==0.7.1" "numpy<2" "pandas<2.3" pyyaml pydantic >&2
fi
echo "$venv/bin/python"
