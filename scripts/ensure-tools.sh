#!/usr/bin/env bash
# Tools the tests drive besides PostgreSQL and Redis: nginx (the sticky-session topology), Node
# with npm (the official Socket.IO JavaScript client), and redis-server (the fault drills start
# their own Redis, replica and Sentinel — `redis-server --sentinel` — to kill and fail over). Installed from Debian's packages when
# missing and we are root; otherwise the tests that need them say what is missing.
set -euo pipefail
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing tools (tests needing them will fail): ${missing[*]}" >&2
  fi
fi
