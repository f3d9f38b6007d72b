"""Run work only once the current transaction has committed — broadcasts above all: nothing is
broadcast for a change that rolled back (ARCHITECTURE.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from dorami_api.extensions import db

log = logging.getLogger(__name__)
_KEY = "dorami_after_commit"
_COMMITTED = "dorami_after_commit_ready"


def init_app(_app) -> None:
    """Install the session listeners (on every SQLAlchemy Session class: once per process)."""
    for name, listener in (
        ("after_commit", _mark_committed),
        ("after_transaction_end", _run_committed),
        ("after_rollback", _drop_queued),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def after_commit(callback: Callable, *args, **kwargs) -> None:
    """Queue callback(*args, **kwargs) on the current session; it runs right after COMMIT and is
    dropped on ROLLBACK."""
    db.session.info.setdefault(_KEY, []).append((callback, args, kwargs))


def _mark_committed(session: Session) -> None:
    # No SQL may run inside after_commit itself; the callbacks (which read committed data
    # afresh) run once the transaction has ended, below.
    queued = session.info.pop(_KEY, [])
    if queued:
        session.info.setdefault(_COMMITTED, []).extend(queued)


def _run_committed(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    queued = session.info.pop(_COMMITTED, [])
    for callback, args, kwargs in queued:
        try:
            callback(*args, **kwargs)
        except Exception:  # the data is committed; a failed notification must not undo it
            log.exception("after-commit callback %s failed", getattr(callback, "__name__", callback))
            session.rollback()


def _drop_queued(session: Session) -> None:
    session.info.pop(_KEY, None)
