"""`live:product:updated` is coalesced per product (clients keep the newest `version`):
what a viewer of the stream's room sees when a product changes many times in a second — the
first change at once, the latest state shortly after, sold-out at once, never an older version
after a newer one."""

from __future__ import annotations

import time

from dorami_api.products import events
from dorami_api.realtime import timers
from dorami_api.realtime.coalesce import Coalescer
from dorami_api.server import shutdown
from tests.products.helpers import API


def _versions(emitted, room) -> list[int]:
    return [data["version"] for _e, data, to, _ns in emitted if to == room and "version" in data]


def _watched(actors, emitted, stock: int) -> tuple[str, dict]:
    """A product of a stream; the room its viewers are in; nothing recorded yet."""
    stream = actors.create_stream()
    product = actors.create_product(streamId=stream["id"], stock=stock)
    emitted.clear()
    return f"stream:{stream['streamKey']}", product


def _sell(actors, product, units: int) -> None:
    for _ in range(units):
        assert actors.adjust(product, -1).status_code == 200


def _wait_for(predicate, seconds: float = 5.0) -> None:
    """Wait for a trailing broadcast (sent by a background task at the end of the window)."""
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_burst_of_changes_reaches_viewers_as_the_first_and_then_the_latest_state(actors, emitted):
    room, product = _watched(actors, emitted, stock=50)
    _sell(actors, product, 10)
    latest = actors.get_product(product["id"])
    assert latest["stock"] == 40

    # The first change went out at once; the rest arrive as one trailing update, at the latest.
    assert emitted.events(room)[0] == "live:product:updated"
    _wait_for(lambda: emitted.of("live:product:updated")[-1][1]["version"] == latest["version"])
    updates = emitted.of("live:product:updated")
    assert updates[-1][1] == latest
    assert len(updates) < 10
    versions = _versions(emitted, room)
    assert versions == sorted(set(versions))  # strictly newer each time


def test_sold_out_goes_out_at_once_and_no_older_update_follows_it(actors, emitted):
    room, product = _watched(actors, emitted, stock=5)
    _sell(actors, product, 5)
    assert emitted.events(room)[-1] == "live:product:soldout"  # not held back by the window
    sold_out = emitted.of("live:product:soldout")[-1][1]
    assert sold_out == actors.get_product(product["id"]) and sold_out["status"] == "SOLD_OUT"

    events.flush_pending_updates(actors.app)
    time.sleep(2 * events.UPDATE_WINDOW_SECONDS)  # let any timer of the burst run out
    assert emitted.events(room)[-1] == "live:product:soldout"
    assert _versions(emitted, room) == sorted(set(_versions(emitted, room)))


def test_removal_is_never_delayed_and_drops_a_pending_update(actors, emitted):
    room, product = _watched(actors, emitted, stock=20)
    _sell(actors, product, 2)  # the second within the window: pending
    assert actors.client.delete(f"{API}/products/{product['id']}", headers=actors.admin).status_code in (200, 204)
    assert emitted.events(room)[-1] == "live:product:deleted"
    events.flush_pending_updates(actors.app)
    time.sleep(2 * events.UPDATE_WINDOW_SECONDS)
    assert emitted.events(room)[-1] == "live:product:deleted"


def test_pending_updates_are_sent_at_shutdown(app):  # the app registers its shutdown steps
    assert "product-updates" in shutdown.registered(app)
    ran = []
    coalescer = Coalescer(window=60)
    assert coalescer.submit("p", lambda: ran.append("lead"), lambda: ran.append("trail 1")) is True
    assert coalescer.submit("p", lambda: ran.append("lead"), lambda: ran.append("trail 1")) is False
    assert coalescer.submit("p", lambda: ran.append("lead"), lambda: ran.append("trail 2")) is False
    assert ran == ["lead"]
    coalescer.flush()
    assert ran == ["lead", "trail 2"]  # the latest only, once
    coalescer.flush()
    assert ran == ["lead", "trail 2"]


def test_at_shutdown_a_sleeping_timer_ends_and_what_it_held_went_out_once():
    ran = []
    coalescer = Coalescer(window=60)  # its trailing timer would sleep for a minute
    for _ in range(2):
        coalescer.submit("p", lambda: ran.append("lead"), lambda: ran.append("trail"))
    coalescer.flush()
    assert timers.finish_threads(5) == []  # woken and ended, not still asleep
    assert ran == ["lead", "trail"]


def test_a_cancelled_update_is_not_sent_and_the_next_change_goes_out_at_once():
    ran = []
    coalescer = Coalescer(window=60)
    coalescer.submit("p", lambda: ran.append("lead 1"), lambda: ran.append("trail"))
    coalescer.submit("p", lambda: ran.append("lead 1"), lambda: ran.append("trail"))
    coalescer.cancel("p")
    coalescer.flush()
    assert ran == ["lead 1"]
    coalescer.submit("p", lambda: ran.append("lead 2"), lambda: ran.append("trail"))
    assert ran == ["lead 1", "lead 2"]
