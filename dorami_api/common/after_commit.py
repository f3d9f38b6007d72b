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
_READY = "dorami_after_commit_ready"


def after_commit(callback: Callable, *args, **kwargs) -> None:
    """Queue callback(*args, **kwargs) on the current session; it runs right after COMMIT and is
    dropped on ROLLBACK."""
    db.session.info.setdefault(_KEY, []).append((callback, args, kwargs))


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    # The committed transaction cannot emit SQL any more; callbacks that read (broadcasts load
    # the committed row) run once it has ended, in a fresh transaction of their own.
    if _KEY in session.info:
        session.info[_READY] = session.info.pop(_KEY)


@event.listens_for(Session, "after_transaction_end")
def _run_queued(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    queued = session.info.pop(_READY, [])
    for callback, args, kwargs in queued:
        try:
            callback(*args, **kwargs)
        except Exception:  # the data is committed; a failed notification must not undo it
            log.exception("after-commit callback %s failed", getattr(callback, "__name__", callback))


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_KEY, None)
