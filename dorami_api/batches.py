"""Work that reaches a process together, done together: per key, the items that arrive while a
batch is being done wait, and the next batch takes them all at once — one locked transaction for
many bidders (auctions/service.py) or many buyers of one product (products/flash_sale.py), one
Redis round trip for many socket events' rate-limit hits (realtime/socket_limits.py).

No extra greenlet or thread: the first caller of an idle key does its own batch; when it is done
and more items have queued meanwhile, it hands the lead to the first of them, which does the next
batch in its own request (its own app context and session) and so on, so no caller waits for
more than the batch being done and its own. Each caller gets its own outcome (what `decide`
returned for its item); an error of the whole batch reaches every caller of that batch and no
other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class _Pending:
    item: Any
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Any = None
    failed: BaseException | None = None
    lead: bool = False  # handed the lead: this caller decides the next batch


@dataclass(eq=False)
class _Line:
    waiting: list[_Pending] = field(default_factory=list)
    running: bool = False


class Batches:
    def __init__(self, max_batch: int, interrupted: Callable[[], BaseException]) -> None:
        self.max_batch = max_batch  # the most items one batch takes; more wait for the next one
        # The error the others of a batch get when the caller deciding it is killed meanwhile.
        self.interrupted = interrupted
        self._lines: dict[Hashable, _Line] = {}
        # Made in an init_app, which runs after gevent's monkey-patching in a worker: a caller
        # waiting for it yields to the other greenlets.
        self._lock = threading.Lock()

    def submit(self, key: Hashable, item: Any, decide: Callable[[list[Any]], list[Any]]) -> Any:
        """The outcome of `item`. decide(items) decides them in arrival order and returns one
        outcome per item; if it raises, every item of that batch gets its error."""
        pending = _Pending(item)
        with self._lock:
            line = self._lines.setdefault(key, _Line())
            line.waiting.append(pending)
            pending.lead = not line.running
            line.running = True
        if not pending.lead:
            self._wait(key, line, pending)
        if pending.lead:
            self._decide_next(key, line, decide)
        if pending.failed is not None:
            raise pending.failed
        return pending.outcome

    def _wait(self, key: Hashable, line: _Line, pending: _Pending) -> None:
        try:
            pending.done.wait()
        except BaseException:  # killed while waiting: out of the line, and a lead handed to it passed on
            with self._lock:
                if pending in line.waiting:  # else already taken into a batch being decided
                    line.waiting.remove(pending)
                handed = pending.lead
            if handed:
                self._hand_on(key, line, [])
            raise

    def _decide_next(self, key: Hashable, line: _Line, decide: Callable[[list[Any]], list[Any]]) -> None:
        with self._lock:
            batch = line.waiting[: self.max_batch]
            del line.waiting[: self.max_batch]
        try:
            outcomes = decide([pending.item for pending in batch])
            for pending, outcome in zip(batch, outcomes, strict=True):
                pending.outcome = outcome
        except Exception as error:
            for pending in batch:
                pending.failed = error
        except BaseException:  # this greenlet is being killed: the others hear `interrupted`
            for pending in batch:
                pending.failed = self.interrupted()
            self._hand_on(key, line, batch)
            raise
        self._hand_on(key, line, batch)

    def _hand_on(self, key: Hashable, line: _Line, batch: list[_Pending]) -> None:
        """Wake the batch's callers, and hand the lead to the first caller still waiting (one that
        stopped waiting has left the line undecided: a retry of its item is decided then)."""
        with self._lock:
            following = line.waiting[0] if line.waiting else None
            if following is None:
                line.running = False
                if self._lines.get(key) is line:
                    del self._lines[key]
            else:
                following.lead = True
        for pending in batch:
            pending.done.set()
        if following is not None:
            following.done.set()
