"""Purchase notices are paced, never lost: a burst beyond the first few goes out a couple per
second, in order, per stream; another stream is not held up; whatever waits goes out at shutdown."""

from __future__ import annotations

import time

from dorami_api.realtime.pacing import Pacer
from dorami_api.server import shutdown


def _wait_for(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_burst_goes_out_in_order_and_nothing_is_dropped():
    sent = []
    pacer = Pacer(rate=20.0, burst=3)
    ran_now = [pacer.submit("stream-a", lambda i=i: sent.append(("a", i))) for i in range(10)]
    assert ran_now == [True] * 3 + [False] * 7
    assert sent == [("a", 0), ("a", 1), ("a", 2)]

    # Another stream has its own allowance.
    assert pacer.submit("stream-b", lambda: sent.append(("b", 0))) is True

    _wait_for(lambda: len(sent) == 11)
    assert [i for key, i in sent if key == "a"] == list(range(10))
    assert ("b", 0) in sent


def test_the_pace_is_kept_after_a_burst():
    sent = []
    pacer = Pacer(rate=10.0, burst=1)
    started = time.monotonic()
    for i in range(4):
        pacer.submit("s", lambda i=i: sent.append((i, time.monotonic() - started)))
    _wait_for(lambda: len(sent) == 4)
    assert [i for i, _ in sent] == [0, 1, 2, 3]
    # One at once, then one per 1/rate: the last cannot have left before 3 intervals.
    assert sent[-1][1] >= 0.3


def test_waiting_notices_go_out_at_shutdown(app):  # the app registers its shutdown steps
    assert "purchase-notices" in shutdown.registered(app)
    sent = []
    pacer = Pacer(rate=0.01, burst=1)  # the second would wait 100 s
    pacer.submit("s", lambda: sent.append(1))
    pacer.submit("s", lambda: sent.append(2))
    assert sent == [1]
    pacer.flush()
    assert sent == [1, 2]


def test_an_endless_backlog_drops_the_oldest_waiting():
    sent = []
    pacer = Pacer(rate=0.01, burst=1, backlog=3)
    for i in range(6):
        pacer.submit("s", lambda i=i: sent.append(i))
    pacer.flush()
    assert sent == [0, 3, 4, 5]
