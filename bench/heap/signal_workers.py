"""Ask each gunicorn worker for a heap snapshot (SIGRTMIN+1, bench/heap/sitecustomize.py) the first
time its established connections pass each threshold, for at most SECONDS; with `census` as a third
argument, for a greenlet census instead (SIGRTMIN+2); with `stacks`, for the deepest frame stack of
each suspended greenlet (SIGRTMIN+3).

    python bench/heap/signal_workers.py 450,1450 600 [census|stacks]"""

import os
import re
import signal
import subprocess
import sys
import time

SETTLE_SECONDS = 3  # let the step that crossed the threshold finish connecting


def main() -> None:
    thresholds = [int(x) for x in sys.argv[1].split(",")]
    deadline = time.monotonic() + float(sys.argv[2])
    asked = signal.SIGRTMIN + {"census": 2, "stacks": 3}.get(sys.argv[3] if sys.argv[3:] else "", 1)
    signalled: dict[int, set[int]] = {}
    while time.monotonic() < deadline:
        listing = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True).stdout
        counts: dict[int, int] = {}
        for pid in re.findall(r'"gunicorn",pid=(\d+)', listing):
            counts[int(pid)] = counts.get(int(pid), 0) + 1
        for pid, count in counts.items():
            done = signalled.setdefault(pid, set())
            for threshold in thresholds:
                if count >= threshold and threshold not in done:
                    done.add(threshold)
                    time.sleep(SETTLE_SECONDS)
                    os.kill(pid, asked)
                    print(time.strftime("%H:%M:%S"), "asked", pid, "at", count, "connections", flush=True)
        time.sleep(1)


if __name__ == "__main__":
    main()
