# Sourced by the run and test scripts: a virtualenv in .venv with the pinned requirements.
# Reinstalls only when the requirement files change.
ensure_venv() {
  local req="$1"
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv .venv
      else
        echo "python3 -m venv failed: install python3-venv" >&2
        return 1
      fi
    fi
  fi
  local stamp=.venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)
  if [ ! -e "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -r "$req"
    rm -f .venv/.installed-* && touch "$stamp"
  fi
}
