#!/usr/bin/env bash
# Create or reuse ./.venv and install galaxy-xai into it (idempotent).
# Usage: source scripts/setup-env.sh [EXTRAS]   e.g. EXTRAS=test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
py="${PYTHON:-python3}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "$py" -m venv "$root/.venv"
fi
# shellcheck disable=SC1091
. "$root/.venv/bin/activate"
stamp="$root/.venv/.galaxy-xai-installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  python -m pip install -q --upgrade pip
  # The CPU build of torch; installed first so that no other requirement pulls a CUDA build.
  python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
  if [ -n "$extras" ]; then
    python -m pip install -q -e "$root[$extras]"
  else
    python -m pip install -q -e "$root"
  fi
  touch "$stamp"
fi
