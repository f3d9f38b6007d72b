"""The Procfile's `worker` (python -m dorami_api.jobs) as real processes: two of them at once do
each unit of work once, and both stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.extensions import db
from tests.orders.helpers import add
from tests.support.commerce import expire_hold, make_product, shopper
from tests.support.server import ROOT

pytestmark = pytest.mark.slow


def _start_worker(env: dict, log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dorami_api.jobs"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _holds(app) -> dict:
    with app.app_context():
        rows = db.session.execute(sa.select(CartHold.source, CartHold.status)).all()
        db.session.remove()
    return {"expired": sum(s == "EXPIRED" for _, s in rows), "promoted": sum(src == "WAITLIST" for src, _ in rows)}


def test_two_worker_processes_sweep_once_and_stop_on_sigterm(app, client, app_env, tmp_path):
    product_id = make_product(app, stock=1)
    _, holder = shopper(app)
    _, alice = shopper(app)
    hold_id = add(client, holder, product_id)["id"]
    assert client.post("/api/v1/waitlist", json={"productId": str(product_id)}, headers=alice).status_code == 201

    workers = [_start_worker(app_env, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        time.sleep(1.5)  # both running and ticking before the hold expires
        expire_hold(app, hold_id)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _holds(app)["expired"] == 0:
            time.sleep(0.2)
        time.sleep(2.5)  # a couple more ticks of both workers: nothing may happen twice
        assert _holds(app) == {"expired": 1, "promoted": 1}
        assert client.get("/api/v1/cart", headers=alice).get_json()["data"]["items"][0]["source"] == "WAITLIST"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=20) for worker in workers]
    logs = [(tmp_path / f"worker-{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    assert all("dorami-jobs: stopped" in log for log in logs), logs
