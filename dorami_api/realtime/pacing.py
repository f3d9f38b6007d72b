"""Pacing a stream of broadcasts that must each go out, but need not all go out at once.

Per key, up to `burst` calls run at once; beyond that they queue and run one every 1/`rate`
seconds, in order. Nothing is merged or dropped — unless a key's queue passes `backlog`, when the
oldest waiting call is dropped and counted in the log (a queue that long is minutes old and no
longer news). `flush()` runs everything waiting now (graceful shutdown, tests).

Used for the purchase notices of a flash sale: each order's notice reaches every viewer of the
stream, so a hundred orders in a second are a hundred deliveries per viewer — two hundred thousand
sends for 2,000 viewers, which would otherwise compete for the CPU with the orders themselves.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from dorami_api.realtime.timers import LateLock, run_safely, sleep, spawn

log = logging.getLogger(__name__)


@dataclass
class _Key:
    tokens: float
    refilled: float
    waiting: deque = field(default_factory=deque)
    draining: bool = False


class Pacer:
    def __init__(self, rate: float, burst: int, backlog: int = 1000) -> None:
        self.rate, self.burst, self.backlog = rate, burst, backlog
        self._keys: dict[Hashable, _Key] = {}
        self._lock = LateLock()

    def submit(self, key: Hashable, call: Callable[[], None]) -> bool:
        """Run `call` now if the key has a token and nothing waiting, else queue it. True if run now."""
        with self._lock:
            now = time.monotonic()
            state = self._keys.get(key)
            if state is None:
                if len(self._keys) >= 4096:  # idle keys hold only a refill time: drop them
                    self._keys = {k: s for k, s in self._keys.items() if s.waiting or s.draining}
                state = self._keys[key] = _Key(tokens=float(self.burst), refilled=now)
            state.tokens = min(float(self.burst), state.tokens + (now - state.refilled) * self.rate)
            state.refilled = now
            run_now = not state.waiting and state.tokens >= 1
            if run_now:
                state.tokens -= 1
            else:
                state.waiting.append(call)
                if len(state.waiting) > self.backlog:
                    state.waiting.popleft()
                    log.warning("paced broadcast dropped: more than %d waiting for %s", self.backlog, key)
                if not state.draining:
                    state.draining = True
                    spawn(self._drain, key)
        if run_now:
            run_safely(call)
        return run_now

    def flush(self) -> None:
        with self._lock:
            due = [call for state in self._keys.values() for call in state.waiting]
            for state in self._keys.values():
                state.waiting.clear()
        for call in due:
            run_safely(call)

    def _drain(self, key: Hashable) -> None:
        while True:
            sleep(1 / self.rate)
            with self._lock:
                state = self._keys[key]
                if not state.waiting:
                    state.draining = False
                    return
                call = state.waiting.popleft()
                state.refilled = time.monotonic()
                state.tokens = 0.0  # the queue spends the tokens as they come
            run_safely(call)
