"""What the drills share: asking one chosen worker, a chat room of viewers spread over the
workers with every message they were told was sent, and the database's view of the orders."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import defaultdict

import psycopg2
import requests

from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product
from tests.support.sockets import Viewer, paused, serving_pid, viewers_on_distinct_workers

CLOSE = {"Connection": "close"}
CHAT = "/chat"
# A bound on every request of a drill, not a speed assertion: "answers within its deadline" means
# an answer, and a hung request fails the drill instead of hanging it.
REQUEST_SECONDS = 10
_ACCESS_LINE = re.compile(r"dorami_api\.access \[[^\]]*\] (\S+) (\S+) (\d{3}) ")


@contextlib.contextmanager
def only_worker(server, pid: int, pids: set[int]):
    """Inside the block, new connections can only be served by worker `pid`: the others are paused
    (a paused worker accepts nothing, so the kernel hands every connection to the one running)."""
    with paused(sorted(pids - {pid})):
        requests.get(f"{server.url}/api/v1/health/live", timeout=60, headers=CLOSE)
        yield


def call(server, method: str, path: str, timeout: float = REQUEST_SECONDS, **kwargs) -> requests.Response:
    headers = {**CLOSE, **kwargs.pop("headers", {})}
    return requests.request(method, f"{server.url}/api/v1{path}", headers=headers, timeout=timeout, **kwargs)


def assert_unavailable(response) -> None:
    """503 SERVICE_UNAVAILABLE in the error envelope, with Retry-After (a `requests` response
    from a server process, or the Flask test client's)."""
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert response.status_code == 503, (response.status_code, body)
    assert body["errorCode"] == "SERVICE_UNAVAILABLE", body
    assert int(response.headers["Retry-After"]) >= 1


def server_errors(log: str) -> list[str]:
    """Access-log lines of the server that answered 5xx other than 503 (a 500 is always a defect)."""
    return [line for line in log.splitlines() if (m := _ACCESS_LINE.search(line)) and m[3][0] == "5" and m[3] != "503"]


def assert_no_server_errors(server) -> None:
    """No 5xx other than 503 in the access log; on failure, the log without its access lines."""
    log = server.log()
    other_lines = "\n".join(line for line in log.splitlines() if "dorami_api.access" not in line)
    assert server_errors(log) == [], other_lines[-12000:]


class ChatRoom:
    """Viewers of one stream's chat, several on each worker, and every message sent through them."""

    def __init__(self, server, stream_key: str, tokens: list[str]) -> None:
        self.stream_key, self.tokens = stream_key, tokens
        self.viewers: list[Viewer] = []
        self.by_worker: dict[int, list[Viewer]] = defaultdict(list)
        self.sent: list[tuple[str, dict]] = []  # (clientMessageId, ack)
        try:
            for token in tokens:  # each token: one viewer on each of two workers
                for viewer in viewers_on_distinct_workers(server, token, workers=2, namespaces=(CHAT,)):
                    self.viewers.append(viewer)
                    self.by_worker[serving_pid(viewer, server.port)].append(viewer)
            for viewer in self.viewers:
                ack = viewer.call("chat:join-room", {"liveId": stream_key}, namespace=CHAT)
                assert ack["success"] is True, ack
        except BaseException:
            self.close()
            raise

    def send(self, viewer: Viewer, text: str) -> dict:
        client_id = uuid.uuid4().hex
        payload = {"liveId": self.stream_key, "message": text, "clientMessageId": client_id}
        ack = viewer.call("chat:send-message", payload, namespace=CHAT, timeout=REQUEST_SECONDS)
        self.sent.append((client_id, ack))
        return ack

    def send_from_each_worker(self, text: str) -> list[dict]:
        return [self.send(viewers[0], f"{text} (worker {pid})") for pid, viewers in sorted(self.by_worker.items())]

    def acknowledged(self) -> list[str]:
        return [client_id for client_id, ack in self.sent if ack.get("success") is True]

    def assert_every_acknowledged_message_reached_every_viewer(self) -> None:
        for client_id in self.acknowledged():
            for viewer in self.viewers:
                viewer.wait_for(
                    "chat:message", CHAT, match=lambda event, cid=client_id: event["data"]["clientMessageId"] == cid
                )

    def assert_history_holds_no_refused_message(self, server) -> None:
        """A viewer who joins now is not shown a message its sender was told was not sent."""
        refused = {client_id for client_id, ack in self.sent if ack.get("success") is not True}
        viewer = Viewer(server.url, (CHAT,), token=self.tokens[0])
        try:
            assert viewer.call("chat:join-room", {"liveId": self.stream_key}, namespace=CHAT)["success"] is True
            shown = {m["clientMessageId"] for m in viewer.wait_for("chat:history", CHAT)["data"]["messages"]}
        finally:
            viewer.close()
        assert set(self.acknowledged()[-2:]) <= shown  # the latest ones, sent after the fault
        assert not shown & refused, shown & refused

    def close(self) -> None:
        for viewer in self.viewers:
            viewer.close()


def subscribers(redis_process, channel: str) -> int:
    """How many connections listen on `channel` of that Redis (PUBSUB NUMSUB)."""
    return dict(redis_process.client().pubsub_numsub(channel)).get(channel, 0)


class LiveShow:
    """A live stream with a product on sale, a buyer, and a chat room of `viewers_per_worker`
    viewers on each of the two workers of `server`, who have all heard each other once."""

    def __init__(self, app, server, viewers_per_worker: int, stock: int) -> None:
        self.pids = server.wait_for_workers(2)
        stream_id, self.stream_key = live_stream(app)
        self.product_id = make_product(app, stock=stock, stream_id=stream_id)
        self.buyer = signed_in(app, profile=True, name="Buyer 0", depositor_name="BUYER 0").headers
        self.tokens = [signed_in(app, name=f"Viewer {n}").token for n in range(viewers_per_worker)]
        self.room = ChatRoom(server, self.stream_key, self.tokens)
        try:
            assert set(self.room.by_worker) == self.pids
            assert all(len(viewers) == viewers_per_worker for viewers in self.room.by_worker.values())
            assert all(ack["success"] for ack in self.room.send_from_each_worker("before the fault"))
            self.room.assert_every_acknowledged_message_reached_every_viewer()
        except BaseException:
            self.room.close()
            raise

    def one_unit(self) -> dict:
        return {"items": [{"productId": str(self.product_id), "quantity": 1}]}

    def assert_recovered(self, server, redis_process, queue_channel: str) -> None:
        """Once ready says 200 again: it meant it (both workers listen on both channels of
        `redis_process`), the first chat messages and every later acknowledged one reach every
        viewer, and REST works on both workers again, which were never restarted."""
        assert subscribers(redis_process, queue_channel) >= 2
        assert subscribers(redis_process, f"{queue_channel}:control") >= 2
        for attempt in range(3):
            assert all(ack["success"] for ack in self.room.send_from_each_worker(f"after the fault {attempt}"))
        self.room.assert_every_acknowledged_message_reached_every_viewer()
        self.room.assert_history_holds_no_refused_message(server)
        assert server.worker_pids() == self.pids
        for pid in sorted(self.pids):
            with only_worker(server, pid, self.pids):
                assert call(server, "GET", "/auth/me", headers=self.buyer).status_code == 200
                placed = call(server, "POST", "/orders/direct", headers=self.buyer, json=self.one_unit())
                assert placed.status_code == 201, placed.text

    def assert_two_whole_orders(self, database_url: str, stock: int) -> None:
        """The two orders of assert_recovered, each with its item, and nothing else sold."""
        orders, left = order_book(database_url, self.product_id)
        assert len(orders) == 2 and all(shape == (1, 1) for shape in orders.values())
        assert left == stock - 2


def order_book(database_url: str, product_id) -> tuple[dict[str, tuple[int, int]], int]:
    """({order id: (item rows, units)}, the product's stock) as PostgreSQL has them."""
    with contextlib.closing(psycopg2.connect(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, count(i.id), coalesce(sum(i.quantity), 0) FROM orders o"
            " LEFT JOIN order_items i ON i.order_id = o.id GROUP BY o.id"
        )
        orders = {order_id: (int(lines), int(units)) for order_id, lines, units in cursor.fetchall()}
        cursor.execute("SELECT stock FROM products WHERE id = %s", (str(product_id),))
        (stock,) = cursor.fetchone()
    return orders, stock
