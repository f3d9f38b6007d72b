"""psycopg2 is cooperative under gevent: requests waiting on PostgreSQL inside one gevent worker
overlap instead of queueing, and the worker keeps answering meanwhile."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import requests


def test_database_waits_do_not_block_a_gevent_worker(live_server, database_url):
    server = live_server(workers=1)
    # Readiness reads alembic_version; an exclusive lock held by this test makes every such read
    # wait inside PostgreSQL until the lock is released.
    blocker = psycopg2.connect(database_url)
    cursor = blocker.cursor()
    cursor.execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
    pool = ThreadPoolExecutor(max_workers=6)
    try:
        waiting = [pool.submit(requests.get, f"{server.url}/api/v1/health/ready", timeout=10) for _ in range(5)]
        time.sleep(0.3)
        assert not any(f.done() for f in waiting), "the reads should be waiting on the lock"
        # While five requests wait on the database, the same worker still answers at once.
        live = requests.get(f"{server.url}/api/v1/health/live", timeout=5)
        assert live.status_code == 200
        assert not any(f.done() for f in waiting)
    finally:
        blocker.rollback()
        blocker.close()
    responses = [f.result(timeout=10) for f in waiting]
    pool.shutdown()
    # All five were waiting at the same time and all completed once the lock went away.
    assert [r.status_code for r in responses] == [200] * 5
