#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are reachable. Reuses running services (or the
# ones named by TEST_DATABASE_URL / TEST_REDIS_URL); on a fresh Debian machine, as root, installs
# and starts them.
set -euo pipefail
PG_URL="${TEST_DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:5432/postgres}"
REDIS_URL_FOR_TESTS="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
PY=.venv/bin/python

pg_ok() { "$PY" -c "import psycopg2,sys; psycopg2.connect(sys.argv[1], connect_timeout=3).close()" "$PG_URL" 2>/dev/null; }
redis_ok() { "$PY" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_timeout=3).ping()" "$REDIS_URL_FOR_TESTS" 2>/dev/null; }
as_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! pg_ok; then
  if [ -n "${TEST_DATABASE_URL:-}" ] || ! as_root; then
    echo "PostgreSQL is not reachable at $PG_URL" >&2; exit 1
  fi
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
  # A fresh Debian cluster wants a password over TCP: give the postgres role the one we use.
  pg_ok || su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  pg_ok || { echo "PostgreSQL still not reachable at $PG_URL" >&2; exit 1; }
fi

if ! redis_ok; then
  if [ -n "${TEST_REDIS_URL:-}" ] || ! as_root; then
    echo "Redis is not reachable at $REDIS_URL_FOR_TESTS" >&2; exit 1
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  # The package's own service may have started already; start one only if nothing answers.
  sleep 1
  redis_ok || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_ok && break; sleep 1; done
  redis_ok || { echo "Redis still not reachable at $REDIS_URL_FOR_TESTS" >&2; exit 1; }
fi
echo "services: PostgreSQL and Redis reachable"
