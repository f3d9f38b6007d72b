"""Every REST change of a product or stream reaches, over a real Socket.IO connection to a real
server (two gunicorn workers sharing the Redis queue), the room of the product's stream — and
nowhere else: a viewer in another stream's room, or in no room, gets nothing."""

from __future__ import annotations

import pytest
import requests

from tests.support.auth import signed_in
from tests.support.sockets import Viewer

pytestmark = pytest.mark.slow
PRODUCT_EVENTS = (
    "live:product:added",
    "live:product:updated",
    "live:product:soldout",
    "live:product:deleted",
    "product:low-stock",
    "stream:featured-product:updated",
    "stream:ended",
)


class Rest:
    """The admin's REST calls to the server under test (no idle keep-alive connections)."""

    def __init__(self, url: str, headers: dict) -> None:
        self.url = f"{url}/api/v1"
        self.headers = {**headers, "Connection": "close"}

    def call(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict | None:
        response = requests.request(method, f"{self.url}{path}", json=body, headers=self.headers, timeout=10)
        assert response.status_code == expect, response.text
        return response.json()["data"] if response.content else None

    def product(self, product_id: str) -> dict:
        return self.call("GET", f"/products/{product_id}")


@pytest.fixture
def viewers():
    opened = []

    def open_viewer(url, token, stream_key=None) -> Viewer:
        viewer = Viewer(url, namespaces=["/"], token=token)
        opened.append(viewer)
        if stream_key is not None:
            answer = viewer.call("join:stream", {"streamId": stream_key}, "/")
            assert answer["success"] is True, answer
        return viewer

    yield open_viewer
    for viewer in opened:
        viewer.close()


def _data(viewer: Viewer, event: str, count: int = 1) -> dict:
    envelope = viewer.wait_for(event, "/", count=count)
    assert envelope["type"] == event
    return envelope["data"]


def test_rest_changes_reach_the_stream_room_and_nowhere_else(app, live_server, viewers):
    server = live_server(workers=2)
    _, admin_headers = signed_in(app, role="ADMIN")
    rest = Rest(server.url, admin_headers)
    token = signed_in(app).token

    show = rest.call("POST", "/streaming/streams", {"title": "Show"}, expect=201)
    other = rest.call("POST", "/streaming/streams", {"title": "Other show"}, expect=201)
    watcher = viewers(server.url, token, show["streamKey"])
    elsewhere = viewers(server.url, token, other["streamKey"])
    lobby = viewers(server.url, token)  # connected, in no stream room

    product = rest.call("POST", "/products", {"streamId": show["id"], "name": "Scarf", "price": "10", "stock": 6}, 201)
    assert _data(watcher, "live:product:added") == rest.product(product["id"])

    rest.call("POST", f"/products/{product['id']}/stock", {"delta": -3})
    assert _data(watcher, "live:product:updated") == rest.product(product["id"])
    assert _data(watcher, "product:low-stock") == {"productId": product["id"], "productName": "Scarf", "available": 3}

    rest.call("POST", f"/products/{product['id']}/sold-out")
    soldout = _data(watcher, "live:product:soldout")
    assert soldout == rest.product(product["id"]) and soldout["status"] == "SOLD_OUT"

    rest.call("PATCH", f"/products/{product['id']}", {"name": "Silk scarf", "stock": 2})
    updated = _data(watcher, "live:product:updated", count=2)
    assert updated == rest.product(product["id"]) and updated["version"] > soldout["version"]

    rest.call("PUT", f"/streaming/streams/{show['id']}/featured-product", {"productId": product["id"]})
    featured = _data(watcher, "stream:featured-product:updated")
    assert featured == {"streamKey": show["streamKey"], "product": rest.product(product["id"])}

    last = rest.product(product["id"])
    rest.call("DELETE", f"/products/{product['id']}", expect=204)
    assert _data(watcher, "stream:featured-product:updated", count=2)["product"] is None
    deleted = _data(watcher, "live:product:deleted")
    assert deleted["id"] == product["id"] and deleted["version"] == last["version"] + 1

    rest.call("POST", f"/streaming/streams/{show['id']}/start")
    rest.call("POST", f"/streaming/streams/{show['id']}/end")
    ended = _data(watcher, "stream:ended")
    assert ended["streamKey"] == show["streamKey"] and ended["endedAt"] and "publishKey" not in ended
    assert show["publishKey"] not in str(watcher.events)

    # A change in the other stream is the barrier: once its viewer has it, everything sent
    # before has had its chance to arrive.
    barrier = rest.call("POST", "/products", {"streamId": other["id"], "name": "Mug", "price": "5", "stock": 9}, 201)
    assert _data(elsewhere, "live:product:added")["id"] == barrier["id"]

    def product_events(viewer: Viewer) -> list[tuple[str, str | None]]:
        found = []
        for _ns, event, envelope in viewer.events:
            if event in PRODUCT_EVENTS:
                data = envelope["data"]
                found.append((event, data.get("id") or data.get("productId") or data.get("streamKey")))
        return found

    assert product_events(elsewhere) == [("live:product:added", barrier["id"])]
    assert product_events(lobby) == []
    assert ("live:product:added", barrier["id"]) not in product_events(watcher)
    seen = [event for event, _ in product_events(watcher)]
    # A low-stock notice is not versioned: it goes out at once, while the update of the same change
    # is delivered in version order through the queue, so the two may arrive either way round.
    assert seen.count("product:low-stock") == 2 and seen.index("product:low-stock") > 0
    assert [event for event in seen if event != "product:low-stock"] == [
        "live:product:added",
        "live:product:updated",
        "live:product:soldout",
        "live:product:updated",
        "stream:featured-product:updated",
        "stream:featured-product:updated",  # the deleted product is no longer featured
        "live:product:deleted",
        "stream:ended",
    ]


def test_a_burst_of_stock_changes_ends_on_the_latest_state_for_viewers(app, live_server, viewers):
    """Updates are coalesced per product (a trailing broadcast sent by the gevent worker's timer):
    the viewer ends up with the state GET returns, and versions only ever grow."""
    server = live_server(workers=1)
    _, admin_headers = signed_in(app, role="ADMIN")
    rest = Rest(server.url, admin_headers)
    show = rest.call("POST", "/streaming/streams", {"title": "Show"}, expect=201)
    watcher = viewers(server.url, signed_in(app).token, show["streamKey"])
    product = rest.call("POST", "/products", {"streamId": show["id"], "name": "Bag", "price": "10", "stock": 30}, 201)

    for _ in range(8):
        rest.call("POST", f"/products/{product['id']}/stock", {"delta": -1})
    latest = rest.product(product["id"])
    assert latest["stock"] == 22
    assert watcher.wait_for("live:product:updated", "/", match=lambda e: e["data"] == latest)
    versions = [envelope["data"]["version"] for envelope in watcher.received("live:product:updated", "/")]
    assert versions == sorted(set(versions))
