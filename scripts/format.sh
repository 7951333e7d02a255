#!/usr/bin/env bash
# House format (.clang-format, clang-format from Debian's package): `scripts/format.sh` rewrites every
# tracked C++/CUDA file in place; `scripts/format.sh --check` changes nothing and fails, naming the
# files, when any differs (scripts/test.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format || true)
if [[ -z $cf ]]; then
  echo "format: clang-format not found (scripts/setup.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h')
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    "$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]} > 0)); then
    echo "format: ${#bad[@]} file(s) differ from .clang-format ($("$cf" --version | head -1)):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "format: run scripts/format.sh to fix them" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files follow .clang-format"
else
  "$cf" -i "${files[@]}"
fi
