"""Heap snapshots of the servers of a capacity run (bench/heap/README.md). Put this directory on
PYTHONPATH with HEAP_SNAPSHOT_DIR set: every Python process started from then on (the gunicorn
workers included: tracing survives the fork) traces its allocations with HEAP_FRAMES frames (8 by
default), and on SIGRTMIN+1 writes a tracemalloc snapshot named after its pid, its open file
descriptors (≈ sockets) and its RSS. Without HEAP_SNAPSHOT_DIR it does nothing."""

import os


def _where(frame, describe=lambda code: "") -> list[str]:
    """The chain of frames from `frame` out, as `file:function` plus what `describe` adds."""
    chain = []
    while frame is not None:
        code = frame.f_code
        chain.append(f"{os.path.basename(code.co_filename)}:{code.co_name}{describe(code)}")
        frame = frame.f_back
    return chain


if os.environ.get("HEAP_SNAPSHOT_DIR"):
    import signal
    import time
    import tracemalloc

    tracemalloc.start(int(os.environ.get("HEAP_FRAMES", "8")))

    def _rss_kb() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def _dump(signum, frame):
        descriptors = len(os.listdir("/proc/self/fd"))
        name = f"{os.getpid()}-{int(time.time())}-fds{descriptors}-rss{_rss_kb()}.snap"
        tracemalloc.take_snapshot().dump(os.path.join(os.environ["HEAP_SNAPSHOT_DIR"], name))

    signal.signal(signal.SIGRTMIN + 1, _dump)

if os.environ.get("HEAP_GREENLETS_DIR"):
    # A census of the process's suspended greenlets on SIGRTMIN+2 (no tracing, so RSS is as in a
    # real run): how many, grouped by the frames they wait in, and how deep each group's Python
    # stack is — memory that tracemalloc does not see (each greenlet's saved C stack and its own
    # frame data stack) grows with both.
    import collections
    import gc
    import json
    import signal
    import sys
    import time

    def _census(signum, frame):
        from greenlet import greenlet

        groups: dict[str, dict] = {}
        states = collections.Counter()
        for obj in gc.get_objects():
            if not isinstance(obj, greenlet):
                continue
            if obj.dead:
                states["dead"] += 1
                continue
            if obj.gr_frame is None:
                states["not started or running"] += 1
                continue
            states["suspended"] += 1
            chain = _where(obj.gr_frame)
            group = groups.setdefault(" < ".join(chain[:3]), {"count": 0, "depth": len(chain), "stack": chain})
            group["count"] += 1
        descriptors = len(os.listdir("/proc/self/fd"))
        with open("/proc/self/status") as status:
            rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        name = f"{os.getpid()}-{int(time.time())}-fds{descriptors}"
        # pymalloc's own account (blocks in use, free blocks kept in its pools and arenas): memory
        # tracemalloc does not count once freed, and malloc_trim cannot give back. CPython writes
        # it to C's stderr, so fd 2 is pointed at a file meanwhile.
        stats_path = os.path.join(os.environ["HEAP_GREENLETS_DIR"], name + "-pymalloc.txt")
        saved = os.dup(2)
        with open(stats_path, "w") as stats:
            os.dup2(stats.fileno(), 2)
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        with open(stats_path) as stats:
            pymalloc = [line.strip() for line in stats if line.startswith("#") or line.startswith("Total")]
        report = {
            "pid": os.getpid(),
            "descriptors": descriptors,
            "rss_kb": rss_kb,
            "greenlets": dict(states),
            "pymalloc": pymalloc,
            "groups": sorted(groups.values(), key=lambda group: -group["count"]),
        }
        with open(os.path.join(os.environ["HEAP_GREENLETS_DIR"], name + ".json"), "w") as out:
            json.dump(report, out, indent=1)

    signal.signal(signal.SIGRTMIN + 2, _census)

if os.environ.get("HEAP_STACKS_DIR"):
    # The deepest each greenlet's Python frame stack has been (a profile hook on every call:
    # slow, for a few hundred sockets only), written on SIGRTMIN+3 for the greenlets still
    # suspended, grouped by the frames they wait in. Under CPython 3.11 a greenlet keeps every
    # page of its frame data stack it has touched while it lives, so a socket's reader greenlet
    # costs what its deepest moment needed, not what it waits in.
    import collections
    import json
    import signal
    import sys
    import time
    import weakref

    from greenlet import getcurrent

    # CPython 3.11's frame header, in pointer-sized slots: FRAME_SPECIALS_SIZE, that is
    # (sizeof(_PyInterpreterFrame) - 1) / sizeof(PyObject *) = (80 - 1) / 8 (pycore_frame.h).
    _FRAME_SPECIALS = 9

    def _slots(code) -> int:
        return code.co_nlocals + len(code.co_cellvars) + len(code.co_freevars) + code.co_stacksize + _FRAME_SPECIALS

    _deepest: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def _on_call(frame, event, arg):
        if event != "call":
            return
        total, walk = 0, frame
        while walk is not None:
            total += _slots(walk.f_code)
            walk = walk.f_back
        try:
            current = getcurrent()
        except RuntimeError:  # "greenlet is being finalized": calls made while one dies
            return
        known = _deepest.get(current)
        if known is None or total > known[0]:
            _deepest[current] = (total, _where(frame, lambda code: f":{_slots(code) * 8}"))

    def _stacks(signum, frame):
        groups: dict[str, dict] = {}
        for greenlet, (total, chain) in list(_deepest.items()):
            if greenlet.dead or greenlet.gr_frame is None:
                continue
            where = _where(greenlet.gr_frame)
            empty = {"count": 0, "deepest_bytes": collections.Counter(), "deepest": (0, [])}
            group = groups.setdefault(" < ".join(where[:3]), empty)
            depth = total * 8  # bytes
            group["count"] += 1
            group["deepest_bytes"][depth // 1024 * 1024] += 1
            if depth > group["deepest"][0]:
                group["deepest"] = (depth, chain)
        name = f"{os.getpid()}-{int(time.time())}-stacks.json"
        with open(os.path.join(os.environ["HEAP_STACKS_DIR"], name), "w") as out:
            json.dump(sorted(groups.values(), key=lambda g: -g["count"]), out, indent=1)

    signal.signal(signal.SIGRTMIN + 3, _stacks)
    sys.setprofile(_on_call)
