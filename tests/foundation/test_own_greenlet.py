"""concurrency.call_in_own_greenlet, in a process gevent has patched (as a gunicorn worker is): the
caller gets fn's result or its exception, fn sees the caller's context (Flask's request context is
a context variable), a refusal prints nothing, and the deep stack fn needed does not stay in the
memory of the long-lived greenlet that called it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import contextvars
    import json

    import gevent
    import gevent.event

    from dorami_api.concurrency import call_in_own_greenlet

    who = contextvars.ContextVar("who")


    class Refused(Exception):
        pass


    def answer(x):
        return {"x": x, "who": who.get(), "same_greenlet": gevent.getcurrent() is caller}


    def refuse():
        raise Refused("TOKEN_EXPIRED")


    def deep(n):
        a = b = c = d = e = f = g = h = n  # locals, so that each frame takes room on the stack
        return deep(n - 1) if n else a + b + c + d + e + f + g + h


    def rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096


    def kilobytes_per_idle_greenlet(call, count=2000):
        gone = gevent.event.Event()

        def socket_like():
            call(deep, 60)  # once, at the start (a connect), then idle for the socket's life
            gone.wait()

        before = rss()
        greenlets = [gevent.spawn(socket_like) for _ in range(count)]
        gevent.sleep(0.5)
        grown = rss() - before
        gone.set()
        gevent.joinall(greenlets)
        return grown / count / 1024


    caller = gevent.getcurrent()
    who.set("buyer-1")
    result = call_in_own_greenlet(answer, 7)
    try:
        call_in_own_greenlet(refuse)
        refused = None
    except Refused as error:
        refused = error.args[0]
    direct = kilobytes_per_idle_greenlet(lambda fn, *args: fn(*args))
    aside = kilobytes_per_idle_greenlet(call_in_own_greenlet)
    print(json.dumps({"result": result, "refused": refused, "direct_kb": direct, "aside_kb": aside}))
    """
)


def test_the_call_runs_aside_with_the_callers_context_and_leaves_no_deep_stack_behind():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    measured = json.loads(run.stdout)
    assert measured["result"] == {"x": 7, "who": "buyer-1", "same_greenlet": False}
    assert measured["refused"] == "TOKEN_EXPIRED"
    assert run.stderr == ""  # gevent prints a greenlet's uncaught exception; a refusal is not one
    # A 60-frame call touches two more 4 KB pages of a greenlet's frame stack; made directly, an
    # idle greenlet keeps them; made aside, the greenlet that touched them has ended.
    assert measured["aside_kb"] < measured["direct_kb"] - 4, measured
