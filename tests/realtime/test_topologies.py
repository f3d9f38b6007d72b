"""The two deployment topologies (README, Deployment topologies), with real processes end to end:
(a) one gunicorn with several gevent workers and WebSocket-only clients;
(b) two single-worker instances behind nginx with sticky sessions, where polling works too.
In both, a chat message sent on one process reaches viewers on the other, a broadcast from a
process that serves no sockets (a REST worker, the jobs worker) reaches sockets on every process,
and a revoked session loses its sockets wherever they are."""

from __future__ import annotations

import uuid

import pytest
import requests

from dorami_api.auth.sessions import revoke_sessions
from dorami_api.extensions import db
from dorami_api.streaming.models import LiveStream
from tests.support.auth import create_user, signed_in
from tests.support.commerce import live_stream
from tests.support.nginx import start_nginx
from tests.support.sockets import (
    broadcast_from_another_process,
    viewers_on_distinct_workers,
)

CHAT = "/chat"
# Product updates carry the version they are ordered by across processes (as the service sends).
PRODUCT = {"id": f"p-{uuid.uuid4().hex[:8]}", "name": "Silk scarf", "price": "29.50", "available": 3, "version": 2}


def _join_everything(viewer, stream_key):
    assert viewer.call("chat:join-room", {"liveId": stream_key}, CHAT)["success"] is True
    assert viewer.call("join:stream", {"streamId": stream_key}, "/")["success"] is True


def _assert_fan_out(app, app_env, base_url, sender, receivers, stream_key):
    sent = sender.call("chat:send-message", {"liveId": stream_key, "message": "across processes"}, CHAT)
    assert sent["success"] is True
    for receiver in receivers:
        got = receiver.wait_for("chat:message", CHAT, match=lambda d: d["data"]["id"] == sent["data"]["id"])
        assert got["data"]["message"] == "across processes"

    # A REST change, committed by whichever process took the request.
    _, admin_headers = signed_in(app, role="ADMIN")
    with app.app_context():
        stream_id = db.session.scalar(db.select(LiveStream.id).where(LiveStream.stream_key == stream_key))
    created = requests.post(
        f"{base_url}/api/v1/products",
        json={"streamId": str(stream_id), "name": "Silk scarf", "price": "29.50", "stock": 3},
        headers={**admin_headers, "Connection": "close"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    for viewer in [sender, *receivers]:
        added = viewer.wait_for("live:product:added", "/")["data"]
        assert added["id"] == created.json()["data"]["id"]

    # A process that serves no sockets at all (the jobs worker, a script): the write-only side.
    broadcast_from_another_process(app_env, f"product_updated({stream_key!r}, {PRODUCT!r})")
    for viewer in [sender, *receivers]:
        assert viewer.wait_for("live:product:updated", "/")["data"] == PRODUCT


def test_several_gevent_workers_share_rooms_through_redis(app, app_env, live_server):
    server = live_server(workers=2)
    stream_key = live_stream(app).key
    user = create_user(app, name="Viewer")
    tokens = signed_in(app, user=user)
    first, second = viewers_on_distinct_workers(server, tokens.token)
    for viewer in (first, second):
        _join_everything(viewer, stream_key)
    try:
        _assert_fan_out(app, app_env, server.url, first, [second], stream_key)

        # Revoked from this (third) process: both workers cut their sockets of that session.
        with app.app_context():
            revoke_sessions(user.id, None, "logout-all")
        for viewer in (first, second):
            assert viewer.wait_for("session:revoked", "/")["data"] == {"reason": "logout-all"}
            viewer.wait_disconnected()
    finally:
        first.close()
        second.close()


@pytest.fixture
def behind_nginx(live_server, tmp_path):
    instances = [live_server(workers=1), live_server(workers=1)]
    nginx = start_nginx(tmp_path, [instance.port for instance in instances])
    yield nginx, instances
    nginx.stop()


def test_two_instances_behind_nginx_with_sticky_sessions_serve_polling_clients(app, app_env, behind_nginx, connect):
    nginx, (one, two) = behind_nginx
    stream_key = live_stream(app).key
    token_one = signed_in(app, name="One").token
    token_two = signed_in(app, name="Two").token
    polling = ("polling",)
    on_one = connect(
        nginx.url, token=token_one, transports=polling, headers={"Cookie": f"dorami_route={nginx.route_to(one.port)}"}
    )
    on_two = connect(
        nginx.url, token=token_two, transports=polling, headers={"Cookie": f"dorami_route={nginx.route_to(two.port)}"}
    )
    # A WebSocket client crosses nginx too (the Upgrade headers are passed through).
    token_ws = signed_in(app, name="Socket").token
    websocket = connect(nginx.url, token=token_ws, transports=("websocket",))
    for viewer in (on_one, on_two, websocket):
        _join_everything(viewer, stream_key)
    _assert_fan_out(app, app_env, nginx.url, on_one, [on_two, websocket], stream_key)


def test_a_polling_client_without_a_route_is_pinned_by_the_cookie_nginx_gives_it(app, behind_nginx, connect):
    nginx, _instances = behind_nginx
    stream_key = live_stream(app).key
    token = signed_in(app, name="Newcomer").token
    first_response = requests.get(f"{nginx.url}/api/v1/health/live", headers={"Connection": "close"}, timeout=5)
    assert "dorami_route=" in first_response.headers["Set-Cookie"]
    # Several polling sessions, each pinned only by the cookie nginx set on its handshake.
    for _ in range(4):
        viewer = connect(nginx.url, token=token, transports=("polling",), namespaces=[CHAT])
        assert viewer.call("chat:join-room", {"liveId": stream_key}, CHAT)["success"] is True
        sent = viewer.call("chat:send-message", {"liveId": stream_key, "message": "polling works"}, CHAT)
        assert viewer.wait_for("chat:message", CHAT, match=lambda d, s=sent: d["data"]["id"] == s["data"]["id"])
        viewer.close()


def test_rest_suspension_and_logout_cut_sockets_on_every_worker(app, live_server, connect):
    server = live_server(workers=2)
    _, admin_headers = signed_in(app, role="ADMIN")
    user = create_user(app, name="Soon suspended")
    kept_session, cut_session = signed_in(app, user=user), signed_in(app, user=user)

    # POST /auth/logout from one worker cuts that session's sockets on both workers, and only those.
    cut = viewers_on_distinct_workers(server, cut_session.token, namespaces=[CHAT])
    kept = connect(server.url, token=kept_session.token, namespaces=[CHAT])
    try:
        response = requests.post(
            f"{server.url}/api/v1/auth/logout", headers={**cut_session.headers, "Connection": "close"}, timeout=10
        )
        assert response.status_code in (200, 204), response.text
        for viewer in cut:
            assert viewer.wait_for("session:revoked", CHAT)["data"] == {"reason": "logout"}
            viewer.wait_disconnected()
        assert kept.client.connected

        # Suspension by an admin cuts every remaining socket of the user.
        response = requests.patch(
            f"{server.url}/api/v1/admin/users/{user.id}/status",
            json={"status": "SUSPENDED", "reason": "abuse"},
            headers={**admin_headers, "Connection": "close"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert kept.wait_for("session:revoked", CHAT)["data"] == {"reason": "suspended"}
        kept.wait_disconnected()
    finally:
        for viewer in cut:
            viewer.close()
