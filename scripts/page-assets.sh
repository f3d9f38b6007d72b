#!/usr/bin/env bash
# Install the live-room page's browser code (the Socket.IO client) from npm, exactly as pinned in
# dorami_api/liveroom/package-lock.json, into dorami_api/liveroom/node_modules (gitignored), where
# the service serves it from. Does nothing when that lock is already installed.
exec bash "$(dirname "$0")/npm-ci.sh" dorami_api/liveroom "live-room page assets (the Socket.IO client the page at / loads)"
