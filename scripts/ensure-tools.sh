#!/usr/bin/env bash
# Tools the tests drive besides PostgreSQL and Redis: nginx (the sticky-session topology), Node
# with npm (the official Socket.IO JavaScript client, and the live-room page's assets), Chromium
# (the live-room page's browser test) and redis-server (the fault drills start their own Redis,
# replica and Sentinel — `redis-server --sentinel` — to kill and fail over). Installed from
# Debian's packages when missing and we are root; otherwise the tests that need them say what is
# missing.
set -euo pipefail
as_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  if as_root; then
    apt_install "${missing[@]}"
  else
    echo "missing tools (tests needing them will fail): ${missing[*]}" >&2
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  if as_root; then
    # Without recommends: a headless browser needs no printing, notification or power services.
    apt_install --no-install-recommends chromium fonts-liberation
  else
    echo "missing /usr/bin/chromium (the live-room browser test will fail): apt-get install chromium" >&2
  fi
fi
bash scripts/page-assets.sh || echo "live-room page assets not installed (its tests will fail)" >&2
bash scripts/contract-tools.sh || echo "contract tools not installed (tests/contract will fail)" >&2
