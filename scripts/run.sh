#!/usr/bin/env bash
# Start the service for local work. With no DATABASE_URL/REDIS_URL it runs on an embedded SQLite
# file (instance/dorami.sqlite3) and an in-process Redis, migrated automatically on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv requirements.txt
. scripts/dev-auth.sh
default_dev_auth
# The live-room page at / loads the Socket.IO client from npm; without npm the page says so.
if command -v npm >/dev/null; then
  bash scripts/page-assets.sh || echo "the live-room page's assets could not be installed (the page says how)" >&2
fi
exec .venv/bin/python -m dorami_api
