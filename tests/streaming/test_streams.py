"""Live streams over REST: the lifecycle, what every end records and broadcasts, the
public/secret key split, the featured product, and the admin guard on every write route."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from dorami_api.extensions import redis_store
from tests.products.helpers import API

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _set_viewers(app, stream_key: str, count: int) -> None:
    """As the presence layer records viewers: distinct participants scored by their expiry."""
    with app.app_context():
        key = f"stream:{stream_key}:viewers"
        redis_store.delete(key)
        if count:
            redis_store.zadd(key, {f"user-{i}": time.time() + 60 for i in range(count)})


def test_lifecycle_records_every_end(app, actors, emitted):
    stream = actors.create_stream(
        title="Spring drop",
        scheduledAt="2030-03-01T19:00:00+09:00",
        freeShippingMode="THRESHOLD",
        freeShippingThreshold=50,
    )
    assert stream["status"] == "SCHEDULED" and stream["scheduledAt"] == "2030-03-01T10:00:00.000Z"
    assert stream["freeShippingThreshold"] == "50.00" and stream["host"]["name"] == "Host"
    assert HEX32.match(stream["publishKey"]) and stream["streamKey"] != stream["publishKey"]

    edited = actors.client.patch(
        f"{API}/streaming/streams/{stream['id']}", json={"title": "Spring drop II"}, headers=actors.admin
    )
    assert edited.status_code == 200 and edited.get_json()["data"]["title"] == "Spring drop II"

    live = actors.start(stream)
    assert live["status"] == "LIVE" and live["isLive"] and live["startedAt"]
    assert actors.client.post(f"{API}/streaming/streams/{stream['id']}/start", headers=actors.admin).status_code == 409

    _set_viewers(app, stream["streamKey"], 3)
    active = actors.client.get(f"{API}/streaming/streams/active").get_json()["data"]
    assert [(s["id"], s["viewerCount"]) for s in active["items"]] == [(stream["id"], 3)]
    status = actors.client.get(f"{API}/streaming/streams/key/{stream['streamKey']}/status").get_json()["data"]
    assert (status["status"], status["isLive"], status["viewerCount"]) == ("LIVE", True, 3)

    emitted.clear()
    ended = actors.client.post(f"{API}/streaming/streams/{stream['id']}/end", headers=actors.admin)
    data = ended.get_json()["data"]
    assert data["status"] == "ENDED" and data["endedAt"] and data["durationSeconds"] >= 0
    assert data["peakViewers"] == 3
    sent = emitted.of("stream:ended")
    assert {(to, ns) for _e, _d, to, ns in sent} == {
        (f"stream:{stream['streamKey']}", "/"),
        (f"stream:{stream['streamKey']}", "/streaming"),
        (f"live:{stream['streamKey']}", "/chat"),
    }
    assert sent[0][1]["endedAt"] == data["endedAt"] and sent[0][1]["peakViewers"] == 3
    assert "publishKey" not in json.dumps(sent) and stream["publishKey"] not in json.dumps(sent)

    for action in ("start", "end"):
        response = actors.client.post(f"{API}/streaming/streams/{stream['id']}/{action}", headers=actors.admin)
        assert response.status_code == 409 and response.get_json()["errorCode"] == "INVALID_STREAM_STATE"
    assert actors.client.patch(
        f"{API}/streaming/streams/{stream['id']}", json={"title": "x"}, headers=actors.admin
    ).status_code == (409)
    assert actors.client.get(f"{API}/streaming/streams/active").get_json()["data"]["total"] == 0


def test_only_a_scheduled_stream_can_be_deleted(actors, emitted):
    scheduled = actors.create_stream()
    product = actors.create_product(streamId=scheduled["id"])
    emitted.clear()
    assert actors.client.delete(f"{API}/streaming/streams/{scheduled['id']}", headers=actors.admin).status_code == 204
    assert actors.client.get(f"{API}/streaming/streams/{scheduled['id']}").status_code == 404
    assert actors.client.get(f"{API}/products/{product['id']}").status_code == 404  # went with it
    assert emitted.events() == ["live:product:deleted"]

    live = actors.start(actors.create_stream())
    response = actors.client.delete(f"{API}/streaming/streams/{live['id']}", headers=actors.admin)
    assert response.status_code == 409
    actors.client.post(f"{API}/streaming/streams/{live['id']}/end", headers=actors.admin)
    assert actors.client.delete(f"{API}/streaming/streams/{live['id']}", headers=actors.admin).status_code == 409


def test_upcoming_lists_scheduled_streams_soonest_first(actors):
    late = actors.create_stream(title="Late", scheduledAt="2031-01-02T00:00:00Z")
    actors.create_stream(title="Unscheduled")
    actors.create_stream(title="Soon", scheduledAt="2031-01-01T00:00:00Z")
    actors.start(late)
    titles = [s["title"] for s in actors.client.get(f"{API}/streaming/streams/upcoming").get_json()["data"]["items"]]
    assert titles == ["Soon", "Unscheduled"]
    assert actors.client.get(f"{API}/streaming/streams/upcoming?limit=0").status_code == 400


def test_publish_key_is_for_admins_only(app, actors):
    stream = actors.create_stream()
    secret = stream["publishKey"]
    actors.start(stream)
    public_reads = [
        f"{API}/streaming/streams/{stream['id']}",
        f"{API}/streaming/streams/active",
        f"{API}/streaming/streams/upcoming",
        f"{API}/streaming/streams/key/{stream['streamKey']}/status",
    ]
    for headers in ({}, actors.user, {"Authorization": "Bearer not-a-token"}):
        for url in public_reads:
            response = actors.client.get(url, headers=headers)
            assert response.status_code == 200, url
            assert secret not in response.get_data(as_text=True) and "publishKey" not in response.get_data(as_text=True)
    detail = actors.client.get(f"{API}/streaming/streams/{stream['id']}", headers=actors.admin).get_json()["data"]
    assert detail["publishKey"] == secret
    listing = actors.client.get(f"{API}/streaming/streams", headers=actors.admin).get_json()["data"]
    assert listing["items"][0]["publishKey"] == secret

    rotated = actors.client.post(f"{API}/streaming/streams/{stream['id']}/publish-key", headers=actors.admin)
    assert HEX32.match(rotated.get_json()["data"]["publishKey"]) and rotated.get_json()["data"]["publishKey"] != secret


def test_stream_validation(actors):
    def create(body):
        return actors.client.post(f"{API}/streaming/streams", json=body, headers=actors.admin)

    assert create({"title": "x", "freeShippingMode": "THRESHOLD"}).status_code == 400
    assert create({"title": "x", "freeShippingThreshold": "1.234"}).status_code == 400
    assert create({"title": "x", "freeShippingThreshold": "-1"}).status_code == 400
    assert create({"title": "x", "scheduledAt": "2030-01-01T00:00:00"}).status_code == 400
    assert create({"title": "x", "publishKey": "0" * 32}).status_code == 400  # never chosen by a client
    assert create({"title": ""}).status_code == 400
    stream = actors.create_stream()
    response = actors.client.patch(
        f"{API}/streaming/streams/{stream['id']}", json={"freeShippingMode": "THRESHOLD"}, headers=actors.admin
    )
    assert response.status_code == 400
    url = f"{API}/streaming/streams/{stream['id']}"
    assert actors.client.patch(url, json={"title": None}, headers=actors.admin).status_code == 400
    assert actors.client.get(f"{API}/streaming/streams/key/no%20such/status").status_code == 404
    assert actors.client.get(f"{API}/streaming/streams/key/unknown/status").status_code == 404


def test_featured_product(actors, emitted):
    stream = actors.create_stream()
    other = actors.create_stream()
    product = actors.create_product(streamId=stream["id"])
    foreign = actors.create_product(streamId=other["id"])
    hidden = actors.create_product(streamId=stream["id"], status="HIDDEN")
    url = f"{API}/streaming/streams/{stream['id']}/featured-product"
    emitted.clear()

    response = actors.client.put(url, json={"productId": product["id"]}, headers=actors.admin)
    assert response.status_code == 200
    assert response.get_json()["data"]["featuredProduct"] == actors.get_product(product["id"])
    [(event, data, room, _ns)] = emitted
    assert event == "stream:featured-product:updated" and room == f"stream:{stream['streamKey']}"
    assert data == {"streamKey": stream["streamKey"], "product": actors.get_product(product["id"])}
    public = actors.client.get(f"{API}/streaming/streams/{stream['id']}").get_json()["data"]
    assert public["featuredProductId"] == product["id"] and public["featuredProduct"]["id"] == product["id"]

    assert actors.client.put(url, json={"productId": foreign["id"]}, headers=actors.admin).status_code == 409
    assert actors.client.put(url, json={"productId": hidden["id"]}, headers=actors.admin).status_code == 404
    assert actors.client.put(url, json={"productId": str(uuid.uuid4())}, headers=actors.admin).status_code == 404
    assert actors.client.put(url, json={"productId": "nope"}, headers=actors.admin).status_code == 400

    emitted.clear()
    cleared = actors.client.delete(url, headers=actors.admin)
    assert cleared.status_code == 200 and cleared.get_json()["data"]["featuredProduct"] is None
    assert [(e, d) for e, d, _r, _n in emitted] == [
        ("stream:featured-product:updated", {"streamKey": stream["streamKey"], "product": None})
    ]

    # deleting the featured product unpins it, and says so
    actors.client.put(url, json={"productId": product["id"]}, headers=actors.admin)
    emitted.clear()
    actors.client.delete(f"{API}/products/{product['id']}", headers=actors.admin)
    assert sorted(emitted.events()) == ["live:product:deleted", "stream:featured-product:updated"]
    assert actors.client.get(f"{API}/streaming/streams/{stream['id']}").get_json()["data"]["featuredProductId"] is None


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _admin_routes(app):
    """Every write route of streams and products (hooks have their own secret), plus the
    admin-only stream list."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("streaming.", "products.")):
            continue
        for method in sorted(rule.methods & (WRITE_METHODS | {"GET"})):
            if method == "GET" and rule.endpoint != "streaming.list_all":
                continue
            path = re.sub(r"<uuid:[a-z_]+>", str(uuid.uuid4()), rule.rule)
            yield method, path


def test_every_write_route_is_admin_only(app, actors):
    routes = list(_admin_routes(app))
    assert len(routes) == 14  # 9 stream routes, 5 product routes
    for method, path in routes:
        anonymous = actors.client.open(path, method=method, json={})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.get_json()["errorCode"] == "UNAUTHORIZED"
        user = actors.client.open(path, method=method, json={}, headers=actors.user)
        assert user.status_code == 403, (method, path)
        admin = actors.client.open(path, method=method, json={}, headers=actors.admin)
        assert admin.status_code not in (401, 403), (method, path)


@pytest.mark.parametrize("path", ["/streaming/streams/active", "/streaming/streams/upcoming", "/products"])
def test_public_reads_need_no_account(actors, path):
    assert actors.client.get(f"{API}{path}").status_code == 200


def test_expiry_ends_a_stream_like_any_other_end(app, actors, emitted):
    from datetime import UTC, datetime, timedelta

    from dorami_api.extensions import db
    from dorami_api.streaming import service
    from dorami_api.streaming.models import LiveStream

    old = actors.start(actors.create_stream())
    fresh = actors.start(actors.create_stream())
    with app.app_context():
        db.session.get(LiveStream, uuid.UUID(old["id"])).started_at = datetime.now(UTC) - timedelta(hours=13)
        db.session.commit()
    emitted.clear()
    with app.app_context():
        assert service.end_expired_streams(timedelta(hours=12)) == [old["streamKey"]]
        assert service.end_expired_streams(timedelta(hours=12)) == []  # once only
    ended = actors.client.get(f"{API}/streaming/streams/{old['id']}").get_json()["data"]
    assert ended["status"] == "ENDED" and ended["endedAt"] and ended["durationSeconds"] >= 13 * 3600
    assert [data["streamKey"] for _e, data, _r, ns in emitted.of("stream:ended") if ns == "/"] == [old["streamKey"]]
    assert actors.client.get(f"{API}/streaming/streams/{fresh['id']}").get_json()["data"]["status"] == "LIVE"
