# Sourced by the run script. Dev sign-in (POST /api/v1/auth/dev-login, loopback callers only) is
# how the live-room page at / signs in, so a plain local development run switches it on. It is
# left as it is when ENABLE_DEV_AUTH is already set, when the environment is not development, or
# when .env names the environment or dev sign-in itself: .env decides then (it may say production,
# which refuses to start with dev sign-in on).
default_dev_auth() {
  [ -n "${ENABLE_DEV_AUTH+set}" ] && return 0
  if [ -f .env ] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?(ENABLE_DEV_AUTH|APP_ENV|NODE_ENV)[[:space:]]*=' .env; then
    return 0
  fi
  local env_name="${APP_ENV:-${NODE_ENV:-development}}"
  [ "${env_name,,}" = development ] || return 0
  export ENABLE_DEV_AUTH=true
  echo "dev sign-in on (ENABLE_DEV_AUTH=true, loopback callers only): open http://localhost:${PORT:-3001}/"
}
