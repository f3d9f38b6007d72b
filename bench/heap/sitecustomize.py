"""Heap snapshots of the servers of a capacity run (bench/heap/README.md). Put this directory on
PYTHONPATH with HEAP_SNAPSHOT_DIR set: every Python process started from then on (the gunicorn
workers included: tracing survives the fork) traces its allocations with HEAP_FRAMES frames (8 by
default), and on SIGRTMIN+1 writes a tracemalloc snapshot named after its pid, its open file
descriptors (≈ sockets) and its RSS. Without HEAP_SNAPSHOT_DIR it does nothing."""

import os

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
