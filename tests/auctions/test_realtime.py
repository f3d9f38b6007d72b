"""Auctions with real processes: two gunicorn workers and the jobs worker, bidders on both
workers (the official JavaScript client, and python-socketio).

No timing assertion except the bound the feature promises (the end within a second of endsAt or
of the jobs worker's restart, measured on the database's clock); the rest is what every viewer
and the database saw."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa

from dorami_api.auctions.models import Auction, AuctionBid
from dorami_api.extensions import db
from dorami_api.web.responses import iso
from tests.auctions.helpers import history, orders_of_auction, row, stock_of
from tests.support.auth import signed_in
from tests.support.commerce import complete_users, live_stream, make_product
from tests.support.js import JS_DIR
from tests.support.sockets import Viewer, paused, viewers_on_distinct_workers

pytestmark = pytest.mark.slow
ROOT_NS = "/"
CLOSE = {"Connection": "close"}
BIDDERS = 200
WATCHERS = 20


def _api(server, method, path, headers=None, **kwargs):
    response = requests.request(
        method, f"{server.url}/api/v1{path}", headers={**CLOSE, **(headers or {})}, timeout=30, **kwargs
    )
    return response


def _bidders(app, count: int) -> list[tuple[uuid.UUID, str]]:
    """(user id, access token) of `count` new users with complete profiles."""
    with app.app_context():
        ids = [user.id for user in complete_users(count)]
    return [(user_id, signed_in(app, user=SimpleNamespace(id=user_id)).token) for user_id in ids]


def _tokens(app, count: int) -> list[str]:
    return [token for _, token in _bidders(app, count)]


def _established_per_worker(server) -> dict[int, int]:
    """How many established connections each worker of `server` holds (read from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == server.port and fields[3] == "01":
                inodes.add(f"socket:[{fields[9]}]")
    counts = {}
    for pid in server.worker_pids():
        try:
            counts[pid] = sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if _link(fd) in inodes)
        except OSError:
            counts[pid] = 0
    return counts


def _link(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return ""


def _auction(app, stream_id, **fields) -> tuple[str, uuid.UUID]:
    product_id = make_product(app, stock=3, stream_id=stream_id, price="80.00")
    client = app.test_client()
    body = {"productId": str(product_id), "startingPrice": "10.00", "increment": "1.00", **fields}
    response = client.post("/api/v1/auctions", json=body, headers=signed_in(app, role="ADMIN").headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"], product_id


def test_two_hundred_bidders_on_two_workers_one_truth(app, app_env, live_server, jobs_worker, node, tmp_path):
    server = live_server(workers=2)
    jobs_worker()
    stream_id, stream_key = live_stream(app)
    auction_id, product_id = _auction(app, stream_id, durationSeconds=12, antiSnipeSeconds=1)
    people = _bidders(app, BIDDERS + WATCHERS)
    tokens = [token for _, token in people]
    config = tmp_path / "storm.json"
    half = (BIDDERS + WATCHERS) // 2
    config.write_text(
        json.dumps(
            {
                "url": server.url,
                "streamKey": stream_key,
                "auctionId": auction_id,
                "tokens": tokens,
                "groups": [half, BIDDERS + WATCHERS - half],
                "bidders": BIDDERS,
                "startingPrice": "10.00",
                "increment": "1.00",
                "bidSeconds": 10,
                "endWaitSeconds": 30,
                "resultPath": str(tmp_path / "storm-result.json"),
            }
        )
    )
    first, second = sorted(server.wait_for_workers(2))
    with paused([first]):  # the first group can only land on the second worker
        requests.get(f"{server.url}/api/v1/health/live", timeout=60, headers=CLOSE)
        storm = subprocess.Popen(
            [node, str(JS_DIR / "auction_storm.mjs"), str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _expect(storm, "connected")
    with paused([second]):
        requests.get(f"{server.url}/api/v1/health/live", timeout=60, headers=CLOSE)
        _send(storm)
        _expect(storm, "connected")
    _send(storm)
    _expect(storm, "ready")
    per_worker = _established_per_worker(server)
    assert all(count >= half - 5 for count in per_worker.values()), per_worker  # bidders on both workers

    started = _api(server, "POST", f"/auctions/{auction_id}/start", signed_in(app, role="ADMIN").headers)
    assert started.status_code == 200, started.text
    _send(storm)
    _expect(storm, "bidding-done", timeout=60)
    _expect(storm, "result", timeout=60)
    storm.wait(timeout=30)
    result = json.loads((tmp_path / "storm-result.json").read_text())

    ended = _settled(app, auction_id)
    assert ended.status == "ENDED"
    rows = history(app, auction_id)
    amounts = [bid.amount for bid in rows]
    assert len(rows) > 1 and all(a < b for a, b in zip(amounts, amounts[1:], strict=False))
    stored = {(bid.bidder_id, bid.bid_id): bid.amount for bid in rows}
    bidder_of = {index: user_id for index, (user_id, _) in enumerate(people[:BIDDERS])}
    acked, unanswered = set(), 0
    for socket in result["sockets"]:
        if socket["bidder"] is None:
            continue
        for ack in socket["acks"]:
            key = (bidder_of[socket["bidder"]], ack["bidId"])
            if ack["success"]:
                acked.add(key)
                assert stored.get(key) == Decimal(ack["data"]["amount"]), (key, ack)  # every acked bid is stored
            elif ack["errorCode"] == "NO_ACK":
                unanswered += 1
    # No proxy bids here: every stored bid was acknowledged to its bidder (unless the answer never
    # reached it within the client's 10 s wait).
    assert len(set(stored) - acked) <= unanswered
    assert ended.winner_id == rows[-1].bidder_id and ended.final_price == amounts[-1]
    for socket in result["sockets"]:  # every viewer, bidders and watchers, on both workers
        assert len(socket["ended"]) == 1, socket["ended"]
        assert socket["ended"][0]["finalPrice"] == str(ended.final_price)
        versions = socket["updates"]
        assert versions == sorted(set(versions)), versions
        assert not versions or versions[-1] < socket["ended"][0]["version"]
    orders = orders_of_auction(app, auction_id)
    assert len(orders) == 1 and orders[0].id == ended.order_id and orders[0].user_id == ended.winner_id
    assert stock_of(app, product_id) == 2  # 3 on hand, 1 sold to the winner
    print(
        f"storm: {len(acked)} accepted bids, "
        f"{sum(len(s['acks']) for s in result['sockets'])} bids answered, "
        f"end {(ended.ended_at - ended.ends_at).total_seconds():.3f} s after endsAt"
    )


def _settled(app, auction_id, timeout: float = 30):
    """The auction once its settlement (the order, made just after the end) has committed."""
    deadline = time.monotonic() + timeout
    while True:
        auction = row(app, auction_id)
        if auction.settled_at is not None or time.monotonic() > deadline:
            return auction
        time.sleep(0.05)


def _send(process, line: str = "go") -> None:
    process.stdin.write(line + "\n")
    process.stdin.flush()


def _expect(process, step: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"node exited before {step!r}: {process.stderr.read()[-3000:]}")
        if line.startswith("{"):
            message = json.loads(line)
            if message["step"] == step:
                return message
    raise AssertionError(f"no {step!r} from node within {timeout}s")


def test_the_jobs_worker_killed_before_the_end_still_ends_it_once(app, app_env, live_server, jobs_worker):
    server = live_server(workers=2)
    stream_id, stream_key = live_stream(app)
    # Started and bid on from this test's process: no web worker knows the auction, so only the
    # jobs worker can end it (as when the process that started it has died).
    auction_id, product_id = _auction(app, stream_id, durationSeconds=5, antiSnipeSeconds=0)
    client = app.test_client()
    assert (
        client.post(f"/api/v1/auctions/{auction_id}/start", headers=signed_in(app, role="ADMIN").headers).status_code
        == 200
    )
    watchers = viewers_on_distinct_workers(server, _tokens(app, 1)[0], namespaces=[ROOT_NS])
    for viewer in watchers:
        assert viewer.call("join:stream", {"streamId": stream_key}, namespace=ROOT_NS)["success"]
    bidder_token = _tokens(app, 1)[0]
    bid = client.post(
        f"/api/v1/auctions/{auction_id}/bids",
        json={"amount": "10.00", "bidId": "only"},
        headers={"Authorization": f"Bearer {bidder_token}"},
    )
    assert bid.status_code == 200, bid.get_json()
    first = jobs_worker()
    first_ready = _wait_ready(first)
    ends_at = row(app, auction_id).ends_at
    _sleep_until(app, ends_at, before=2.0)
    first.kill()
    assert row(app, auction_id).status == "RUNNING"
    _sleep_until(app, ends_at, before=-1.0)  # a second past the end, nobody to end it
    assert row(app, auction_id).status == "RUNNING"
    second = jobs_worker()
    ready_at = _wait_ready(second)
    for viewer in watchers:
        viewer.wait_for("auction:ended", namespace=ROOT_NS, timeout=30)
    ended = _settled(app, auction_id)
    assert ended.status == "ENDED" and ended.order_id is not None
    for viewer in watchers:
        assert len(viewer.received("auction:ended", namespace=ROOT_NS)) == 1
    assert len(orders_of_auction(app, auction_id)) == 1
    # The bound, on the database's clock: within 1 s of the later of endsAt and the restart.
    later = max(ends_at, ready_at)
    delay = (ended.ended_at - later).total_seconds()
    assert delay <= 1.0, delay
    print(f"jobs restart: ended {delay:.3f} s after the worker was ready (first ready {first_ready})")
    for viewer in watchers:
        viewer.close()


def _wait_ready(worker, timeout: float = 60) -> datetime:
    """When the jobs worker is polling: the time it printed, on this host's clock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in worker.log().splitlines():
            if line.startswith("dorami-jobs: ready at "):
                return datetime.fromisoformat(line.removeprefix("dorami-jobs: ready at ").strip())
        time.sleep(0.05)
    raise AssertionError(f"jobs worker not ready:\n{worker.log()[-3000:]}")


def _sleep_until(app, moment: datetime, before: float) -> None:
    """Sleep until `before` seconds before `moment` on the database's clock."""
    with app.app_context():
        now = db.session.scalar(sa.select(sa.func.clock_timestamp()))
        db.session.remove()
    wait = (moment - now).total_seconds() - before
    if wait > 0:
        time.sleep(wait)


def test_sockets_anti_snipe_sudden_death_skewed_clocks_and_retries(app, app_env, live_server, jobs_worker):
    server = live_server(workers=2)
    jobs_worker()
    stream_id, stream_key = live_stream(app)
    standard, _ = _auction(app, stream_id, durationSeconds=30, antiSnipeSeconds=10)
    sudden, _ = _auction(app, stream_id, durationSeconds=30, antiSnipeSeconds=10, mode="SUDDEN_DEATH")
    alice, bob = _tokens(app, 2)
    alice_tabs = viewers_on_distinct_workers(server, alice, namespaces=[ROOT_NS])
    bob_tab = Viewer(server.url, namespaces=[ROOT_NS], token=bob)
    for viewer in (*alice_tabs, bob_tab):
        assert viewer.call("join:stream", {"streamId": stream_key}, namespace=ROOT_NS)["success"]
    for auction_id in (standard, sudden):
        assert (
            _api(server, "POST", f"/auctions/{auction_id}/start", signed_in(app, role="ADMIN").headers).status_code
            == 200
        )
    started = alice_tabs[0].wait_for("auction:started", ROOT_NS, match=lambda e: e["data"]["auctionId"] == standard)
    # A client whose clock is an hour off still counts down the right time: endsAt - serverTime.
    data = started["data"]
    remaining = _parse(data["endsAt"]) - _parse(data["serverTime"])
    skewed_now = datetime.now(UTC).timestamp() + 3600
    assert 0 < remaining.total_seconds() <= 30
    assert _parse(data["endsAt"]).timestamp() - skewed_now < 0  # its own clock would say "over"

    # Idempotent over the socket, from both of Alice's tabs on both workers, and over REST.
    bid = {"auctionId": standard, "amount": "10.00", "bidId": "alice-1"}
    answers = [tab.call("auction:bid", bid, namespace=ROOT_NS) for tab in alice_tabs for _ in range(3)]
    rest = _api(
        server,
        "POST",
        f"/auctions/{standard}/bids",
        {"Authorization": f"Bearer {alice}"},
        json={"amount": "10.00", "bidId": "alice-1"},
    )
    assert rest.status_code == 200
    assert all(answer["success"] for answer in answers), answers
    versions = {answer["data"]["version"] for answer in answers} | {rest.json()["data"]["version"]}
    assert len(versions) == 1
    assert len(history(app, standard)) == 1
    low = bob_tab.call("auction:bid", {"auctionId": standard, "amount": "10.50", "bidId": "b1"}, namespace=ROOT_NS)
    assert low["success"] is False and low["errorCode"] == "BID_TOO_LOW"
    leading = alice_tabs[1].call(
        "auction:bid", {"auctionId": standard, "amount": "30.00", "bidId": "a2"}, namespace=ROOT_NS
    )
    assert leading["errorCode"] == "ALREADY_LEADING"

    # A bid a second before the end: STANDARD moves endsAt to now + 10 s; SUDDEN_DEATH does not.
    for auction_id in (standard, sudden):
        _ends_in(app, auction_id, 1.5)
    before = {auction_id: row(app, auction_id).ends_at for auction_id in (standard, sudden)}
    late = bob_tab.call("auction:bid", {"auctionId": standard, "amount": "11.00", "bidId": "b2"}, namespace=ROOT_NS)
    assert late["success"], late
    assert _parse(late["data"]["endsAt"]) > before[standard]
    late_sd = bob_tab.call("auction:bid", {"auctionId": sudden, "amount": "10.00", "bidId": "b3"}, namespace=ROOT_NS)
    assert late_sd["success"] and late_sd["data"]["endsAt"] == iso(before[sudden])
    alice_tabs[0].wait_for("auction:outbid", ROOT_NS)  # Alice lost the lead on the standard one
    moved = alice_tabs[1].wait_for(
        "auction:updated", ROOT_NS, match=lambda e: e["data"]["auctionId"] == standard and e["data"]["bidCount"] == 2
    )
    assert _parse(moved["data"]["endsAt"]) > before[standard]
    # The sudden-death auction ends on time, the standard one later; each once, at every viewer.
    for viewer in (*alice_tabs, bob_tab):
        viewer.wait_for("auction:ended", ROOT_NS, match=lambda e: e["data"]["auctionId"] == sudden, timeout=30)
    assert row(app, standard).status == "RUNNING"
    bob_tab.wait_for("auction:won", ROOT_NS, match=lambda e: e["data"]["auctionId"] == sudden, timeout=30)
    for viewer in (*alice_tabs, bob_tab):
        viewer.wait_for("auction:ended", ROOT_NS, match=lambda e: e["data"]["auctionId"] == standard, timeout=30)
    won = bob_tab.wait_for("auction:won", ROOT_NS, match=lambda e: e["data"]["auctionId"] == standard, timeout=30)
    assert won["data"]["orderId"] == row(app, standard).order_id
    time.sleep(0.5)
    for viewer in (*alice_tabs, bob_tab):
        for auction_id in (standard, sudden):
            ends = viewer.received("auction:ended", ROOT_NS, match=lambda e, a=auction_id: e["data"]["auctionId"] == a)
            assert len(ends) == 1
    assert not alice_tabs[0].received("auction:won", ROOT_NS)
    for viewer in (*alice_tabs, bob_tab):
        viewer.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuctionBid)) >= 3
        assert db.session.scalar(sa.select(sa.func.count()).where(Auction.status == "ENDED")) == 2


def _ends_in(app, auction_id, seconds: float) -> None:
    from datetime import timedelta

    with app.app_context():
        db.session.execute(
            sa.update(Auction)
            .where(Auction.id == uuid.UUID(auction_id))
            .values(ends_at=sa.func.clock_timestamp() + timedelta(seconds=seconds))
        )
        db.session.commit()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
