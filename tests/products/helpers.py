"""Helpers shared by the catalogue and streaming tests: admin/user clients and quick fixtures made
through the real routes, and a recorder of what the broadcast layer is asked to emit."""

from __future__ import annotations

import pytest

from dorami_api.realtime import broadcast
from tests.support.auth import signed_in

API = "/api/v1"


class Actors:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.admin_user, self.admin = signed_in(app, role="ADMIN", name="Host")
        self.user_user, self.user = signed_in(app, role="USER")

    def create_stream(self, **fields) -> dict:
        body = {"title": "Live show", **fields}
        response = self.client.post(f"{API}/streaming/streams", json=body, headers=self.admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    def start(self, stream: dict) -> dict:
        response = self.client.post(f"{API}/streaming/streams/{stream['id']}/start", headers=self.admin)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]

    def create_product(self, **fields) -> dict:
        body = {"name": "Silk scarf", "price": "29.50", "stock": 10, **fields}
        response = self.client.post(f"{API}/products", json=body, headers=self.admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    def adjust(self, product: dict, delta: int, **fields):
        return self.client.post(
            f"{API}/products/{product['id']}/stock", json={"delta": delta, **fields}, headers=self.admin
        )

    def get_product(self, product_id: str, headers=None) -> dict:
        response = self.client.get(f"{API}/products/{product_id}", headers=headers or {})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]


@pytest.fixture
def actors(app) -> Actors:
    return Actors(app)


class Emitted(list):
    """(event, data, room, namespace) of every emit the broadcast layer makes (patched after the
    app exists, so that it also wins over an emitter the realtime layer installs)."""

    def events(self, room: str | None = None) -> list[str]:
        return [event for event, _data, to, _ns in self if room is None or to == room]

    def of(self, event: str) -> list[tuple]:
        return [item for item in self if item[0] == event]


@pytest.fixture
def emitted(app, monkeypatch) -> Emitted:
    record = Emitted()

    def record_emit(event, data, room, namespace=broadcast.ROOT, local_only=False):
        record.append((event, data, room, namespace))

    def record_emit_in_order(event, data, room, order_key, window_ms=0, rank=None):
        record.append((event, data, room, broadcast.ROOT))
        return "sent", 0

    monkeypatch.setattr(broadcast, "_emit", record_emit)
    # Product updates and sold-outs go out in version order through the queue (tested on real
    # processes); here only what was sent, and to which room, is recorded.
    monkeypatch.setattr(broadcast, "_emit_in_order", record_emit_in_order)
    return record
