#!/usr/bin/env bash
# Every benchmark against the service and both references, in one session (about 30 minutes on
# 2 cores). Extra arguments go to bench/run.py (e.g. --quick, --targets node-ref, --repeats 1).
set -euo pipefail
cd "$(dirname "$0")"
# Servers and generators each hold up to 10,000 sockets: raise the descriptor limit (run.py also
# raises it in every child it starts).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ -d node_modules ] || npm ci --no-audit --no-fund
command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y wrk >/dev/null; } || echo "wrk missing: REST reads will be skipped" >&2
# The full run also sells to 5,000 buyers (how the cost grows); --quick keeps the smoke sizes.
sizes=(--flash-sizes 500,2000,5000)
for arg in "$@"; do
    case "$arg" in --quick|--flash-sizes|--flash-sizes=*) sizes=() ;; esac
done
exec ../.venv/bin/python run.py all "${sizes[@]}" "$@"
