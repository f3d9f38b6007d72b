"""Joins and leaves that reach a process together are counted in one Redis call: the same counts
as one by one, and a crowd leaving at once is counted out at once (not by the presence TTL)."""

from __future__ import annotations

import threading
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dorami_api.extensions import redis_store
from dorami_api.presence import service
from tests.support.auth import signed_in
from tests.support.commerce import live_stream

STREAMING = "/streaming"

moves = st.lists(
    st.tuples(st.sampled_from(["enter", "leave"]), st.integers(0, 2), st.sampled_from(["ann", "ben", "guest:x"])),
    max_size=30,
)


def _viewers(stream_key: str) -> set[str]:
    return set(redis_store.zrange(service.viewers_key(stream_key), 0, -1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=moves)
def test_a_batch_of_moves_counts_as_the_same_moves_one_by_one(app, moves):
    run = uuid.uuid4().hex[:8]
    together = [(kind, f"{run}-together-{stream}", who) for kind, stream, who in moves]
    alone = [(kind, f"{run}-alone-{stream}", who) for kind, stream, who in moves]
    with app.app_context():
        counts_together = service._make_moves(together) if together else []
        counts_alone = [service._make_moves([move])[0] for move in alone]
        assert counts_together == counts_alone
        for stream in range(3):
            assert _viewers(f"{run}-together-{stream}") == _viewers(f"{run}-alone-{stream}")
        # What the moves leave: a participant whose last move was an enter is watching.
        watching = {}
        for kind, stream, who in moves:
            watching[(stream, who)] = kind == "enter"
        for stream in range(3):
            expected = {who for (s, who), on in watching.items() if s == stream and on}
            assert _viewers(f"{run}-together-{stream}") == expected


def test_a_crowd_leaving_at_once_is_counted_out_at_once(app, live_server, connect):
    server = live_server(workers=1)
    stream_key = live_stream(app).key
    observer = connect(server.url, token=signed_in(app).token, namespaces=[STREAMING])
    observer.call("stream:viewer:join", {"streamKey": stream_key}, STREAMING)
    crowd = [connect(server.url, token=signed_in(app).token, namespaces=[STREAMING]) for _ in range(60)]
    joined = [None] * len(crowd)

    def join(i):
        joined[i] = crowd[i].call("stream:viewer:join", {"streamKey": stream_key}, STREAMING)

    threads = [threading.Thread(target=join, args=(i,)) for i in range(len(crowd))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer["success"] for answer in joined)
    assert max(answer["data"]["viewerCount"] for answer in joined) == 61
    observer.wait_for("stream:viewer:update", STREAMING, match=lambda d: d["data"]["viewerCount"] == 61, timeout=15)

    closers = [threading.Thread(target=viewer.close) for viewer in crowd]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    # The presence TTL is 45 s: an update of 1 within 15 s is the leaves counted, not expiry.
    observer.wait_for("stream:viewer:update", STREAMING, match=lambda d: d["data"]["viewerCount"] == 1, timeout=15)
    with app.app_context():
        assert service.viewer_count(stream_key) == 1
