"""The Procfile's `worker` (python -m dorami_api.jobs) as real processes: two of them at once do
each unit of work once, and both stop cleanly on SIGTERM."""

from __future__ import annotations

import signal
import time

import pytest
import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.extensions import db
from tests.orders.helpers import add
from tests.support.auth import signed_in
from tests.support.commerce import expire_hold, make_product
from tests.support.server import start_jobs_worker
from tests.support.sockets import Viewer

pytestmark = pytest.mark.slow


def _holds(app) -> dict:
    with app.app_context():
        rows = db.session.execute(sa.select(CartHold.source, CartHold.status)).all()
        db.session.remove()
    return {"expired": sum(s == "EXPIRED" for _, s in rows), "promoted": sum(src == "WAITLIST" for src, _ in rows)}


def test_two_worker_processes_sweep_once_and_stop_on_sigterm(app, client, app_env, tmp_path, live_server):
    product_id = make_product(app, stock=1)
    holder_in, alice_in = signed_in(app, profile=True), signed_in(app, profile=True)
    holder, alice = holder_in.headers, alice_in.headers
    hold_id = add(client, holder, product_id)["id"]
    assert client.post("/api/v1/waitlist", json={"productId": str(product_id)}, headers=alice).status_code == 201
    # The workers serve no sockets: what they emit reaches the users' sockets on the web server
    # through the Redis message queue.
    server = live_server(workers=1)
    holder_socket = Viewer(server.url, namespaces=("/",), token=holder_in.token)
    alice_socket = Viewer(server.url, namespaces=("/",), token=alice_in.token)

    workers = [start_jobs_worker(app_env, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        time.sleep(1.5)  # both running and ticking before the hold expires
        expire_hold(app, hold_id)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _holds(app)["expired"] == 0:
            time.sleep(0.2)
        time.sleep(2.5)  # a couple more ticks of both workers: nothing may happen twice
        assert _holds(app) == {"expired": 1, "promoted": 1}
        assert client.get("/api/v1/cart", headers=alice).get_json()["data"]["items"][0]["source"] == "WAITLIST"
        expired = holder_socket.wait_for("cart:expired", "/")
        assert expired["data"]["cartItemId"] == hold_id
        promoted = alice_socket.wait_for("waitlist:promoted", "/")
        assert promoted["data"]["productId"] == str(product_id)
        assert len(holder_socket.received("cart:expired")) == 1
        assert len(alice_socket.received("waitlist:promoted")) == 1
        assert alice_socket.received("cart:expired") == []
    finally:
        holder_socket.close()
        alice_socket.close()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=20) for worker in workers]
    logs = [(tmp_path / f"worker-{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    assert all("dorami-jobs: stopped" in log for log in logs), logs
