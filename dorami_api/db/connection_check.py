"""A pooled database connection is checked before use only when it has sat idle.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` round trip on every checkout: on a busy worker that
is one extra round trip per request (14 % of a worker's time on the stream status route), for
connections that were in use a moment ago. Connections die while idle — a database restart or
failover, a proxy or firewall closing quiet sockets — so one idle for IDLE_PING_SECONDS or more is
pinged first and, if dead, replaced before the request sees it (the pool retries checkout on
DisconnectionError). A connection that fails while in use is still caught by SQLAlchemy's
disconnect handling, which also discards every older connection of the pool; TCP keepalives
(engine options) notice a peer that vanished without closing.
"""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import event, exc

from dorami_api.extensions import db

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
