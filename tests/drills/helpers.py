"""What the drills share: asking one chosen worker, a chat room of viewers spread over the
workers with every message they were told was sent, and the database's view of the orders."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import defaultdict

import psycopg2
import requests

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


def call(server, method: str, path: str, **kwargs) -> requests.Response:
    headers = {**CLOSE, **kwargs.pop("headers", {})}
    return requests.request(method, f"{server.url}/api/v1{path}", headers=headers, timeout=REQUEST_SECONDS, **kwargs)


def assert_unavailable(response: requests.Response) -> None:
    """503 SERVICE_UNAVAILABLE in the error envelope, with Retry-After."""
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert response.json()["errorCode"] == "SERVICE_UNAVAILABLE", response.text[:500]
    assert int(response.headers["Retry-After"]) >= 1


def server_errors(log: str) -> list[str]:
    """Access-log lines of the server that answered 5xx other than 503 (a 500 is always a defect)."""
    return [line for line in log.splitlines() if (m := _ACCESS_LINE.search(line)) and m[3][0] == "5" and m[3] != "503"]


class ChatRoom:
    """Viewers of one stream's chat, several on each worker, and every message sent through them."""

    def __init__(self, server, stream_key: str, tokens: list[str]) -> None:
        self.stream_key = stream_key
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

    def close(self) -> None:
        for viewer in self.viewers:
            viewer.close()


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
