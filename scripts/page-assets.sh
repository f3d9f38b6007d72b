#!/usr/bin/env bash
# Install the live-room page's browser code (the Socket.IO client) from npm, exactly as pinned in
# dorami_api/liveroom/package-lock.json, into dorami_api/liveroom/node_modules (gitignored), where
# the service serves it from. Does nothing when that lock is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
page=dorami_api/liveroom
stamp="$page/node_modules/.installed-$(sha256sum "$page/package-lock.json" | cut -c1-16)"
[ -e "$stamp" ] && exit 0
if ! command -v npm >/dev/null; then
  echo "npm is not installed: the live-room page at / cannot load its Socket.IO client" >&2
  exit 1
fi
(cd "$page" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
touch "$stamp"
echo "live-room page assets installed ($page/node_modules)"
