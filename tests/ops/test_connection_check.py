"""A pooled database connection that died while idle (database restart, failover, a proxy
closing quiet sockets) is replaced before a request uses it: the user never sees the failure."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.db import connection_check
from dorami_api.extensions import db
from tests.support import services


def _kill_idle_connections_of(app) -> int:
    with app.app_context():
        name = db.engine.url.database
    with services._admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'dorami-api' AND state = 'idle'",
            (name,),
        )
        return cursor.fetchone()[0]


def test_a_connection_killed_while_idle_is_replaced_before_use(app, client, monkeypatch):
    assert client.get("/api/v1/streaming/streams/active").status_code == 200
    assert _kill_idle_connections_of(app) >= 1
    monkeypatch.setattr(connection_check, "IDLE_PING_SECONDS", 0.0)  # any idle time counts

    response = client.get("/api/v1/streaming/streams/active")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["success"] is True


def test_a_connection_in_steady_use_is_not_pinged(app, client):
    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert client.get("/api/v1/streaming/streams/active").status_code == 200
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert statements and not [s for s in statements if s.strip().upper() == "SELECT 1"]
