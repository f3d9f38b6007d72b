# Sourced by the run and test scripts: a virtualenv in .venv with the pinned requirements.
# Each requirement file has its own stamp, named after a hash of that file and of every file it
# includes with -r: the run command installing requirements.txt says nothing about
# requirements-dev.txt (so the test command still installs it), and a change to either file
# reinstalls whatever depends on it, in whichever order the two commands run.

# The file and, recursively, every file it includes (`-r other.txt`, relative to the including one).
requirement_files() {
  local req="$1" included
  echo "$req"
  for included in $(sed -n 's/^[[:space:]]*\(-r\|--requirement\)[[:space:]=]*\([^[:space:]#]*\).*/\2/p' "$req"); do
    requirement_files "$(dirname "$req")/$included"
  done
}

installed_stamp() {
  local hash
  hash=$(requirement_files "$1" | xargs cat | sha256sum | cut -c1-16)
  echo ".venv/.installed-$(basename "$1")-$hash"
}

ensure_venv() {
  local req="$1" file
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
  if [ ! -e "$(installed_stamp "$req")" ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -r "$req"
    # One install covers the included files too: stamp each of them, dropping their old stamps.
    for file in $(requirement_files "$req"); do
      rm -f ".venv/.installed-$(basename "$file")-"*
      touch "$(installed_stamp "$file")"
    done
  fi
}
