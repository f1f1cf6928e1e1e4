#!/usr/bin/env bash
# Install galaxy-xai with its test extras into ./.venv (reused) and run the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k store`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$root/scripts/setup-env.sh" test
cd "$root"
workers="${GALAXY_XAI_TEST_WORKERS:-2}"
exec python -m pytest -n "$workers" --dist loadfile "$@"
