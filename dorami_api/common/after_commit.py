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


def after_commit(callback: Callable, *args, **kwargs) -> None:
    """Queue callback(*args, **kwargs) on the current session; it runs right after COMMIT and is
    dropped on ROLLBACK."""
    db.session.info.setdefault(_KEY, []).append((callback, args, kwargs))


@event.listens_for(Session, "after_commit")
def _run_queued(session: Session) -> None:
    queued = session.info.pop(_KEY, [])
    for callback, args, kwargs in queued:
        try:
            callback(*args, **kwargs)
        except Exception:  # the data is committed; a failed notification must not undo it
            log.exception("after-commit callback %s failed", getattr(callback, "__name__", callback))


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_KEY, None)
