"""Coalescing repeated broadcasts about one thing (a product) into a few per second.

For each key the first call runs at once (leading edge); calls arriving within `window` seconds of
the last run are merged into one trailing run at the end of the window — the trailing callable is
expected to read the newest state when it runs, so nothing is lost by merging. `cancel(key)` drops
a pending trailing run (an event that supersedes it was just sent) and lets the next call run at
once; `flush()` runs every pending trailing run now (graceful shutdown, tests).

Timers come from realtime/timers.py (greenlets in a worker, threads in the jobs process);
failures of a callable are logged, never raised into the timer.
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from dorami_api.realtime.timers import LateLock, run_safely, sleep, spawn

# Keys idle for longer than this many windows are forgotten once the table grows past _PRUNE_AT.
_PRUNE_AT = 4096


@dataclass
class _Key:
    last_run: float = float("-inf")
    pending: Callable[[], None] | None = None
    timer: bool = False


class Coalescer:
    def __init__(self, window: float) -> None:
        self.window = window
        self._keys: dict[Hashable, _Key] = {}
        self._lock = LateLock()
        atexit.register(self.flush)

    def submit(self, key: Hashable, leading: Callable[[], None], trailing: Callable[[], None]) -> bool:
        """Run `leading()` now if `key` ran more than a window ago, else queue `trailing` (the latest
        one wins) for the end of the window. True when it ran at once."""
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                self._prune()
                state = self._keys[key] = _Key()
            now = time.monotonic()
            run_now = state.pending is None and now - state.last_run >= self.window
            if run_now:
                state.last_run = now
            else:
                state.pending = trailing
                if not state.timer:
                    state.timer = True
                    spawn(self._trail, key, max(state.last_run + self.window - now, 0.0))
        if run_now:
            leading()
        return run_now

    def cancel(self, key: Hashable) -> None:
        with self._lock:
            state = self._keys.get(key)
            if state is not None:
                state.pending, state.last_run = None, float("-inf")

    def flush(self) -> None:
        with self._lock:
            due = [state.pending for state in self._keys.values() if state.pending is not None]
            for state in self._keys.values():
                state.pending = None
        for run in due:
            run_safely(run)

    def _trail(self, key: Hashable, delay: float) -> None:
        sleep(delay)
        with self._lock:
            state = self._keys[key]
            run, state.pending, state.timer = state.pending, None, False
            if run is not None:
                state.last_run = time.monotonic()
        if run is not None:
            run_safely(run)

    def _prune(self) -> None:
        if len(self._keys) < _PRUNE_AT:
            return
        horizon = time.monotonic() - 4 * self.window
        for key in [k for k, s in self._keys.items() if not s.timer and s.pending is None and s.last_run < horizon]:
            del self._keys[key]
