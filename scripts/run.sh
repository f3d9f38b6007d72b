#!/usr/bin/env bash
# Start the service for local work. With no DATABASE_URL/REDIS_URL it runs on an embedded SQLite
# file (instance/dorami.sqlite3) and an in-process Redis, migrated automatically on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv requirements.txt
exec .venv/bin/python -m dorami_api
