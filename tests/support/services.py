"""The real PostgreSQL and Redis the tests run against, isolated per test run.

Each pytest run gets its own database (dorami_test_<pid>) migrated by Alembic, and its own Redis
database index claimed with a lock key, so several runs can share one machine. Nothing here
mocks either service.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

import psycopg2
import redis

DEFAULT_PG = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
REDIS_CLAIM_KEY = "dorami-test:claimed-by"


def postgres_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


@contextmanager
def _admin_connection():
    connection = psycopg2.connect(postgres_admin_url(), connect_timeout=5)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def create_database() -> str:
    name = f"dorami_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    return _with_database(postgres_admin_url(), name)


def drop_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    with _admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def claim_redis_database() -> str:
    """Claim a Redis database index (15 down to 1) no other test run is using."""
    base = os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS
    owner = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    for index in range(15, 0, -1):
        url = urlunparse(urlparse(base)._replace(path=f"/{index}"))
        client = redis.Redis.from_url(url)
        if client.set(REDIS_CLAIM_KEY, owner, nx=True, ex=6 * 3600):
            client.close()
            return url
        client.close()
    raise RuntimeError("no free Redis database index for this test run (15 in use?)")


def release_redis_database(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def flush_redis(url: str) -> None:
    """Empty the run's Redis database but keep its claim."""
    client = redis.Redis.from_url(url)
    owner = client.get(REDIS_CLAIM_KEY)
    client.flushdb()
    if owner:
        client.set(REDIS_CLAIM_KEY, owner, ex=6 * 3600)
    client.close()
