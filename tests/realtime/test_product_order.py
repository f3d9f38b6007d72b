"""Product broadcasts from several processes reach viewers in order, and a sold-out is never lost
behind an update of the same version. The flash sale's race: one process's coalesced update reads
the product when it is sent, after another process's batch sold the last unit, so it carries the
sold-out version and can reach Redis before that process's `live:product:soldout`."""

from __future__ import annotations

import uuid

from tests.support.auth import signed_in
from tests.support.commerce import live_stream
from tests.support.sockets import broadcast_from_another_process

ROOT = "/"
PRODUCT_ID = f"p-{uuid.uuid4().hex}"


def _product(version: int, available: int) -> dict:
    status = "SOLD_OUT" if available == 0 else "AVAILABLE"
    return {"id": PRODUCT_ID, "name": "Silk scarf", "available": available, "status": status, "version": version}


def _products_heard(viewer) -> list[tuple[str, int]]:
    return [
        (name, data["data"]["version"])
        for namespace, name, data in list(viewer.events)
        if namespace == ROOT and name.startswith("live:product:") and data["data"]["id"] == PRODUCT_ID
    ]


def test_a_sold_out_is_heard_after_an_update_that_read_its_version(app, app_env, live_server, connect):
    server = live_server(workers=1)
    stream_key = live_stream(app).key
    viewer = connect(server.url, token=signed_in(app, name="Viewer").token)
    assert viewer.call("join:stream", {"streamId": stream_key}, ROOT)["success"] is True
    selling, sold = _product(6, 1), _product(7, 0)

    def from_another_process(*calls: str) -> None:
        broadcast_from_another_process(app_env, "; broadcast.".join(calls))

    from_another_process(
        f"product_updated({stream_key!r}, {selling!r})",
        f"product_updated({stream_key!r}, {sold!r})",  # the racing update, read after the sale
        f"product_soldout({stream_key!r}, {sold!r})",
    )
    assert viewer.wait_for("live:product:soldout", ROOT)["data"] == sold

    # Late copies are dropped, a newer state still goes out (a restock after the sale).
    restocked = _product(8, 5)
    from_another_process(
        f"product_updated({stream_key!r}, {sold!r})",
        f"product_soldout({stream_key!r}, {sold!r})",
        f"product_updated({stream_key!r}, {selling!r})",
        f"product_updated({stream_key!r}, {restocked!r})",
    )
    viewer.wait_for("live:product:updated", ROOT, match=lambda d: d["data"]["version"] == 8)
    assert _products_heard(viewer) == [
        ("live:product:updated", 6),
        ("live:product:updated", 7),
        ("live:product:soldout", 7),
        ("live:product:updated", 8),
    ]
