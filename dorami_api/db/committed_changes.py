"""What a commit in this process changed, for the per-process caches that must drop it at once:
the stream statuses (streaming/live_status.py) and the product-list pages
(products/list_cache.py).

One pair of session listeners serves every watcher: after each flush, the flushed objects are
scanned once and each watcher notes what an object of its models touched; after COMMIT, each
watcher is handed what it noted. A rolled-back attempt's notes stay until the next commit:
dropping a cache entry too many costs one read, keeping a stale one is what a cache must not do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

_NOTED = "dorami_committed_changes"


@dataclass(frozen=True)
class _Watcher:
    models: tuple[type, ...]
    touched: Callable[[Session, object], set]  # what a flushed object of these models touched
    committed: Callable[[set], None]  # called in the app context with all it touched


_WATCHERS: dict[str, _Watcher] = {}


def watch(
    name: str, models: tuple[type, ...], touched: Callable[[Session, object], set], committed: Callable[[set], None]
) -> None:
    """Call committed(everything touched) after each COMMIT in this process that flushed an
    object of `models` (touched(session, object) says what it touched; an empty set is nothing).
    Called from init_app: registering `name` again replaces it."""
    _WATCHERS[name] = _Watcher(models, touched, committed)
    for hook, listener in (("after_flush", _note), ("after_commit", _hand_over)):
        if not event.contains(Session, hook, listener):  # on every session: once per process
            event.listen(Session, hook, listener)


def _note(session: Session, _context) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        for name, watcher in _WATCHERS.items():
            if isinstance(instance, watcher.models):
                session.info.setdefault(_NOTED, {}).setdefault(name, set()).update(watcher.touched(session, instance))


def _hand_over(session: Session) -> None:
    noted = session.info.pop(_NOTED, None)
    if not noted or not has_app_context():
        return
    for name, touched in noted.items():
        if touched:
            _WATCHERS[name].committed(touched)
