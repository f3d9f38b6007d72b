"""Media-server hooks: nginx-rtmp's form and SRS's JSON start and end the stream whose
secret publishKey is published; a wrong or missing shared secret is refused, and the secret is
compared in constant time."""

from __future__ import annotations

import hmac
from types import SimpleNamespace

import pytest

from dorami_api.streaming import hooks
from tests.products.helpers import API, Actors

SECRET = "media-hook-secret-0123456789"
HOOKS = f"{API}/streaming/hooks"


@pytest.fixture
def hook_app(make_app):
    return make_app(MEDIA_HOOK_SECRET=SECRET)


@pytest.fixture
def hook_actors(hook_app) -> Actors:
    return Actors(hook_app)


def _nginx(client, action: str, name: str, secret: str | None = SECRET):
    query = f"?secret={secret}" if secret is not None else ""
    form = {"call": "publish" if action == "publish" else "publish_done", "name": name, "app": "live", "tcurl": "x"}
    return client.post(f"{HOOKS}/{action}{query}", data=form)


def _srs(client, action: str, stream: str, secret: str | None = SECRET):
    headers = {"X-Media-Hook-Secret": secret} if secret is not None else {}
    body = {"action": f"on_{action}", "client_id": "1", "vhost": "__defaultVhost__", "app": "live", "stream": stream}
    return client.post(f"{HOOKS}/{action}", json=body, headers=headers)


def _stream(actors: Actors, stream_id: str) -> dict:
    response = actors.client.get(f"{API}/streaming/streams/{stream_id}", headers=actors.admin)
    return response.get_json()["data"]


def test_nginx_rtmp_publish_and_publish_done(hook_actors, emitted):
    stream = hook_actors.create_stream()
    client = hook_actors.client
    assert _nginx(client, "publish", stream["publishKey"]).status_code == 200
    assert _stream(hook_actors, stream["id"])["status"] == "LIVE"
    assert _nginx(client, "publish", stream["publishKey"]).status_code == 200  # encoder reconnects
    # the public stream key is not an ingest key
    assert _nginx(client, "publish", stream["streamKey"]).status_code == 403

    assert _nginx(client, "unpublish", stream["publishKey"]).status_code == 200
    ended = _stream(hook_actors, stream["id"])
    assert ended["status"] == "ENDED" and ended["endedAt"] and ended["durationSeconds"] is not None
    assert [event for event, *_ in emitted.of("stream:ended")] == ["stream:ended"] * 3
    # an ended show does not go live again, and a second publish_done changes nothing
    assert _nginx(client, "publish", stream["publishKey"]).status_code == 403
    assert _nginx(client, "unpublish", stream["publishKey"]).status_code == 200
    assert len(emitted.of("stream:ended")) == 3


def test_srs_on_publish_and_on_unpublish(hook_actors):
    stream = hook_actors.create_stream()
    client = hook_actors.client
    allowed = _srs(client, "publish", stream["publishKey"])
    assert allowed.status_code == 200 and allowed.get_json()["code"] == 0
    assert _stream(hook_actors, stream["id"])["status"] == "LIVE"

    refused = _srs(client, "publish", "0" * 32)
    assert refused.status_code == 403 and refused.get_json()["code"] != 0

    done = _srs(client, "unpublish", stream["publishKey"])
    assert done.status_code == 200 and done.get_json()["code"] == 0
    assert _stream(hook_actors, stream["id"])["status"] == "ENDED"

    malformed = client.post(f"{HOOKS}/publish", json={"action": "on_publish"}, headers={"X-Media-Hook-Secret": SECRET})
    assert malformed.status_code == 400 and malformed.get_json()["code"] != 0


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x"])
def test_a_wrong_or_missing_secret_is_refused(hook_actors, secret):
    stream = hook_actors.create_stream()
    nginx = _nginx(hook_actors.client, "publish", stream["publishKey"], secret=secret)
    assert nginx.status_code == 403 and nginx.get_json()["errorCode"] == "INVALID_HOOK_SECRET"
    srs = _srs(hook_actors.client, "publish", stream["publishKey"], secret=secret)
    assert srs.status_code == 403 and srs.get_json()["code"] != 0
    assert _stream(hook_actors, stream["id"])["status"] == "SCHEDULED"


def test_without_a_configured_secret_every_hook_is_refused(actors):
    stream = actors.create_stream()
    assert _nginx(actors.client, "publish", stream["publishKey"], secret="").status_code == 403
    assert _srs(actors.client, "publish", stream["publishKey"], secret="anything").status_code == 403


def test_the_secret_is_compared_in_constant_time(hook_actors, monkeypatch):
    compared = []

    def spy(given, expected):
        compared.append((given, expected))
        return hmac.compare_digest(given, expected)

    stream = hook_actors.create_stream()
    monkeypatch.setattr(hooks, "hmac", SimpleNamespace(compare_digest=spy))
    assert _nginx(hook_actors.client, "publish", stream["publishKey"], secret="guess").status_code == 403
    assert compared == [(b"guess", SECRET.encode())]


def test_other_body_types_are_refused(hook_actors):
    response = hook_actors.client.post(
        f"{HOOKS}/publish?secret={SECRET}", data="name=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
