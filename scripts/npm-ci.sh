#!/usr/bin/env bash
# npm-ci.sh DIR WHAT: install DIR's npm packages exactly as pinned in DIR/package-lock.json into
# DIR/node_modules (gitignored); does nothing when that lock is already installed. WHAT names
# them in the messages (what fails without them).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1 what=$2
stamp="$dir/node_modules/.installed-$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
[ -e "$stamp" ] && exit 0
if ! command -v npm >/dev/null; then
  echo "npm is not installed: $what cannot be installed" >&2
  exit 1
fi
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
touch "$stamp"
echo "$what installed ($dir/node_modules)"
