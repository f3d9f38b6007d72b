"""Dead database connections: a pooled connection is checked before use when it has sat idle, and
one that died during a request is discarded at its end without failing the request.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` round trip on every checkout: on a busy worker that
is one extra round trip per request (14 % of a worker's time on the stream status route), for
connections that were in use a moment ago. Connections die while idle — a database restart or
failover, a proxy or firewall closing quiet sockets — so one idle for IDLE_PING_SECONDS or more is
pinged first and, if dead, replaced before the request sees it (the pool retries checkout on
DisconnectionError). A connection that fails while in use is still caught by SQLAlchemy's
disconnect handling, which also discards every older connection of the pool; TCP keepalives
(engine options) notice a peer that vanished without closing.

At the end of every request (and socket event) the session is removed, which rolls back what it
still holds open: after the response was built — possibly for an order that was committed. If the
connection died meanwhile (PostgreSQL stopped or failed over), that rollback fails, and the error
would escape Flask's handlers as a bare 500 in place of the answer already decided. Instead the
session's connections are invalidated (nothing to roll back on a dead connection; PostgreSQL has
already dropped the transaction) and the answer stands.
"""

from __future__ import annotations

import logging
import time

from flask import Flask
from sqlalchemy import event, exc

from dorami_api.errors import DATABASE_OUTAGE
from dorami_api.extensions import db

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 5.0
_RETURNED = "dorami_returned_at"


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect

    def returned(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    def checked_out(dbapi_connection, record, _proxy) -> None:
        returned_at = record.info.get(_RETURNED)
        if returned_at is None or time.monotonic() - returned_at < IDLE_PING_SECONDS:
            return  # just opened, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"idle connection failed its ping: {type(error).__name__}") from error

    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checked_out)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs before it (teardowns run in
    # reverse order); the session is then already removed and Flask-SQLAlchemy's is a no-op.
    app.teardown_appcontext(release_session)


def release_session(_error: BaseException | None = None) -> None:
    try:
        db.session.remove()
    except DATABASE_OUTAGE as error:
        log.warning("database connection lost before the end of the request (%s)", type(error).__name__)
        db.session().invalidate()  # the scoped session proxies no invalidate()
        db.session.remove()
