#!/usr/bin/env bash
# Install galaxy-xai into ./.venv (reused) and run the end-to-end demo on its embedded
# default (simulated galaxies; no data, no downloads). The report: demo-out/report.html.
# Extra arguments go to the demo, e.g. `bash scripts/quickstart.sh --quick`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$root/scripts/setup-env.sh" ""  # no extras (and not this script's arguments)
cd "$root"
exec galaxy-xai demo --out demo-out "$@"
