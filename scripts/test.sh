#!/usr/bin/env bash
# Lint and every test, against real PostgreSQL and Redis (installed and started when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv requirements-dev.txt
bash scripts/ensure-services.sh
bash scripts/ensure-tools.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  # pytest's "no tests collected" is not a failure of the code under test.
  echo "0 passed, 0 failed"
  exit 0
fi
exit "$status"
