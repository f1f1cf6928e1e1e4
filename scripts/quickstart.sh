#!/usr/bin/env bash
# Install galaxy-xai into ./.venv (reused) and run the main job on its embedded default.
# Extra arguments go to the job, e.g. `bash scripts/quickstart.sh --quick`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$root/scripts/setup-env.sh"
cd "$root"
if galaxy-xai demo --help >/dev/null 2>&1; then
  exec galaxy-xai demo --out demo-out "$@"
fi
# Until the end-to-end demo lands: simulate a small SDSS-like suite and summarise it.
galaxy-xai simulate --preset sdss --n 64 --size 64 --bar-fraction 0.5 --seed 1 --out demo-out/sims.h5 "$@"
exec galaxy-xai data info demo-out/sims.h5
