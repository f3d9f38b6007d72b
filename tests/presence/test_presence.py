"""`/streaming` over real servers: distinct viewers across processes, coalesced updates, peak
viewers, self-healing after a worker is killed, `stream:ended`, guests."""

from __future__ import annotations

import os
import signal
import time

from dorami_api.extensions import db
from dorami_api.presence.service import viewer_count
from dorami_api.streaming.models import LiveStream
from tests.support.auth import signed_in
from tests.support.commerce import live_stream
from tests.support.sockets import (
    broadcast_from_another_process,
    serving_pid,
    viewers_on_distinct_workers,
)

STREAMING = "/streaming"


def watch(viewer, stream_key):
    return viewer.call("stream:viewer:join", {"streamKey": stream_key}, STREAMING)


def updates(viewer, count):
    """Wait for the next update announcing `count` (ignoring the ones already received)."""

    def match(data):
        return data["data"]["viewerCount"] == count

    seen = len(viewer.received("stream:viewer:update", STREAMING, match))
    return lambda: viewer.wait_for("stream:viewer:update", STREAMING, match=match, timeout=15, count=seen + 1)


def peak(app, stream_key):
    with app.app_context():
        return db.session.scalar(db.select(LiveStream.peak_viewers).where(LiveStream.stream_key == stream_key))


def test_a_user_with_tabs_on_two_workers_counts_once(app, live_server, connect):
    server = live_server(workers=2)
    stream_key = live_stream(app).key
    alice_token = signed_in(app).token
    bob_token = signed_in(app).token
    tab_one, tab_two = viewers_on_distinct_workers(server, alice_token, namespaces=[STREAMING])
    bob = connect(server.url, token=bob_token, namespaces=[STREAMING])
    try:
        assert watch(tab_one, stream_key)["data"] == {"streamKey": stream_key, "viewerCount": 1}
        assert watch(tab_two, stream_key)["data"]["viewerCount"] == 1
        two = updates(bob, 2)
        assert watch(bob, stream_key)["data"]["viewerCount"] == 2
        two()
        # One of Alice's tabs closes on one worker: she still watches on the other.
        tab_one.close()
        time.sleep(0.3)
        with app.app_context():
            assert viewer_count(stream_key) == 2
        one = updates(bob, 1)
        assert tab_two.call("stream:viewer:leave", {"streamKey": stream_key}, STREAMING)["data"]["viewerCount"] == 1
        one()
        assert peak(app, stream_key) == 2
        assert bob.call("stream:viewer:join", {"streamKey": "nope"}, STREAMING)["errorCode"] == "STREAM_NOT_FOUND"
    finally:
        tab_one.close()
        tab_two.close()


def test_viewer_updates_are_coalesced_to_one_per_second(app, live_server, connect):
    server = live_server(workers=1)
    stream_key = live_stream(app).key
    observer_token = signed_in(app).token
    observer = connect(server.url, token=observer_token, namespaces=[STREAMING])
    watch(observer, stream_key)
    crowd = [connect(server.url, token=signed_in(app).token, namespaces=[STREAMING]) for _ in range(8)]
    nine = updates(observer, 9)
    started = time.monotonic()
    for viewer in crowd:
        watch(viewer, stream_key)
    nine()
    times = [t for t in observer.arrival_times("stream:viewer:update", STREAMING) if t >= started - 1]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(times) <= 4, f"{len(times)} updates for 8 joins"
    # Sent a second apart; measured on arrival, so allow for delivery jitter on a loaded machine.
    assert all(gap >= 0.75 for gap in gaps), gaps
    assert peak(app, stream_key) == 9


def test_viewers_of_a_killed_worker_drop_out_of_the_count(app, live_server, connect):
    server = live_server(workers=2, SOCKET_PRESENCE_TTL="3")
    stream_key = live_stream(app).key
    doomed, survivor = viewers_on_distinct_workers(server, signed_in(app).token, namespaces=[STREAMING])
    observer_token = signed_in(app).token
    observer = None
    for _ in range(10):  # an observer on the surviving worker
        candidate = connect(server.url, token=observer_token, namespaces=[STREAMING])
        if serving_pid(candidate, server.port) == serving_pid(survivor, server.port):
            observer = candidate
            break
        candidate.close()
    assert observer is not None
    try:
        two = updates(observer, 2)
        watch(doomed, stream_key)
        watch(observer, stream_key)
        two()
        dropped = updates(observer, 1)
        os.kill(serving_pid(doomed, server.port), signal.SIGKILL)
        dropped()  # within TTL (3 s) + one refresh period
        with app.app_context():
            assert viewer_count(stream_key) == 1
    finally:
        doomed.close()
        survivor.close()


def test_stream_end_reaches_every_room_and_guests_watch_read_only(app, app_env, live_server, connect):
    server = live_server(SOCKET_ALLOW_GUESTS="true")
    stream_key = live_stream(app).key
    guest = connect(server.url, namespaces=["/", STREAMING])
    assert watch(guest, stream_key)["data"]["viewerCount"] == 1
    assert guest.call("join:stream", {"streamId": stream_key}, "/")["success"] is True
    broadcast_from_another_process(app_env, f"stream_ended({stream_key!r}, {{'peakViewers': 1}})")
    for namespace in ("/", STREAMING):
        ended = guest.wait_for("stream:ended", namespace)
        assert ended["data"] == {"streamKey": stream_key, "peakViewers": 1}


def test_join_and_leave_events_are_rate_limited_per_socket_for_guests(app, live_server, connect):
    server = live_server(SOCKET_ALLOW_GUESTS="true")
    stream_key = live_stream(app).key
    guest = connect(server.url, namespaces=["/"])
    other_guest = connect(server.url, namespaces=["/"])
    answers = [guest.call("join:stream", {"streamId": stream_key}, "/") for _ in range(11)]
    assert all(answer["success"] for answer in answers[:10])
    assert answers[10]["errorCode"] == "RATE_LIMIT_EXCEEDED" and answers[10]["retryAfter"] >= 1
    assert other_guest.call("join:stream", {"streamId": stream_key}, "/")["success"] is True
    guest.emit("leave:stream", {"streamId": stream_key}, "/")
    assert guest.wait_for("error", "/")["errorCode"] == "RATE_LIMIT_EXCEEDED"
    assert guest.client.connected
