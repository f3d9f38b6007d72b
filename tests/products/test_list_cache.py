"""The public product list is served from a short per-process cache (products/list_cache.py):
what a viewer sees must still be right — changes made here at once, never a hidden product, never
an admin's page, one page per query string."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.products import list_cache
from tests.products.helpers import API


@pytest.fixture
def long_ttl(monkeypatch):
    """A cached page outlives the test: a stale read would show, however slow the machine."""
    monkeypatch.setattr(list_cache, "TTL_SECONDS", 600.0)


@pytest.fixture
def live(actors, long_ttl):
    stream = actors.start(actors.create_stream())
    products = [actors.create_product(streamId=stream["id"], name=f"Item {n}", sortOrder=n, stock=5) for n in range(3)]
    return stream, products


def _page(actors, query: str, headers=None) -> dict:
    response = actors.client.get(f"{API}/products{query}", headers=headers or {})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["timestamp"].endswith("Z")
    return body["data"]


def _names(data: dict) -> list[str]:
    return [item["name"] for item in data["items"]]


def _change_behind_the_service(app, product_id: str, **columns) -> None:
    """A change committed elsewhere (another process): this process is not told about it."""
    with app.app_context():
        db.session.execute(sa.update(db.metadata.tables["products"]).where(sa.text(f"id = '{product_id}'")), columns)
        db.session.commit()


def test_an_admin_edit_is_visible_to_the_next_public_read(app, actors, live):
    stream, products = live
    query = f"?streamId={stream['id']}"
    assert _names(_page(actors, query)) == ["Item 0", "Item 1", "Item 2"]
    before = _page(actors, query)

    response = actors.client.patch(
        f"{API}/products/{products[1]['id']}", json={"name": "Renamed"}, headers=actors.admin
    )
    assert response.status_code == 200
    assert _names(_page(actors, query)) == ["Item 0", "Renamed", "Item 2"]
    assert actors.adjust(products[0], -5).status_code == 200
    after = _page(actors, query)
    assert after["items"][0]["status"] == "SOLD_OUT" and after["items"][0]["available"] == 0
    assert after["items"][0]["version"] > before["items"][0]["version"]


def test_a_cart_hold_and_a_new_product_show_at_once(actors, live):
    stream, products = live
    query = f"?streamId={stream['id']}"
    assert _page(actors, query)["items"][2]["available"] == 5
    response = actors.client.post(
        f"{API}/cart", json={"productId": products[2]["id"], "quantity": 2}, headers=actors.user
    )
    assert response.status_code in (200, 201), response.get_json()
    assert _page(actors, query)["items"][2]["available"] == 3

    actors.create_product(streamId=stream["id"], name="Late arrival", sortOrder=9)
    assert _page(actors, query)["total"] == 4
    response = actors.client.delete(f"{API}/products/{products[0]['id']}", headers=actors.admin)
    assert response.status_code == 204
    assert _names(_page(actors, query)) == ["Item 1", "Item 2", "Late arrival"]


def test_hiding_a_product_removes_it_from_the_public_page_at_once(actors, live):
    stream, products = live
    query = f"?streamId={stream['id']}"
    assert _page(actors, query)["total"] == 3
    response = actors.client.patch(
        f"{API}/products/{products[0]['id']}", json={"status": "HIDDEN"}, headers=actors.admin
    )
    assert response.status_code == 200
    assert _names(_page(actors, query)) == ["Item 1", "Item 2"]
    # an admin's includeHidden page (never cached) does not leak into the public one
    assert _page(actors, query + "&includeHidden=true", headers=actors.admin)["total"] == 3
    assert _names(_page(actors, query)) == ["Item 1", "Item 2"]
    assert _names(_page(actors, query, headers=actors.user)) == ["Item 1", "Item 2"]
    assert actors.client.get(f"{API}/products{query}&includeHidden=true").status_code == 403


def test_an_admin_list_is_never_served_from_the_public_cache(app, actors, live):
    stream, products = live
    query = f"?streamId={stream['id']}"
    assert _names(_page(actors, query)) == ["Item 0", "Item 1", "Item 2"]
    _change_behind_the_service(app, products[0]["id"], name="Changed elsewhere")

    assert _names(_page(actors, query, headers=actors.admin))[0] == "Changed elsewhere"
    # The public page is the cached one until its time is up (list_cache.TTL_SECONDS).
    assert _names(_page(actors, query))[0] == "Item 0"
    assert _names(_page(actors, query, headers=actors.user))[0] == "Item 0"


def test_a_public_page_expires_after_its_time(app, actors, live, monkeypatch):
    stream, products = live
    query = f"?streamId={stream['id']}"
    _page(actors, query)
    _change_behind_the_service(app, products[0]["id"], name="Changed elsewhere")
    monkeypatch.setattr(list_cache, "TTL_SECONDS", 0.0)
    with app.app_context():
        list_cache.cache()._pages.clear()  # what the passing of TTL_SECONDS does
    assert _names(_page(actors, query))[0] == "Changed elsewhere"


def test_each_query_string_is_its_own_page(actors, live):
    stream, products = live
    base = f"?streamId={stream['id']}"
    assert _names(_page(actors, base + "&page=1&limit=2")) == ["Item 0", "Item 1"]
    assert _names(_page(actors, base + "&page=2&limit=2")) == ["Item 2"]
    assert _names(_page(actors, base + "&limit=1")) == ["Item 0"]
    assert _names(_page(actors, base + "&search=item 2")) == ["Item 2"]
    assert _page(actors, base + "&status=SOLD_OUT")["total"] == 0
    assert actors.adjust(products[1], -5).status_code == 200
    assert _names(_page(actors, base + "&status=SOLD_OUT")) == ["Item 1"]
    assert _names(_page(actors, f"?streamKey={stream['streamKey']}")) == ["Item 0", "Item 1", "Item 2"]
    other = actors.start(actors.create_stream(title="Other show"))
    actors.create_product(streamId=other["id"], name="Elsewhere")
    assert _names(_page(actors, f"?streamId={other['id']}")) == ["Elsewhere"]
    assert _names(_page(actors, base)) == ["Item 0", "Item 1", "Item 2"]


def test_the_cached_envelope_is_the_usual_one(actors, live):
    stream, _products = live
    query = f"?streamId={stream['id']}"
    admin_view = actors.client.get(f"{API}/products{query}", headers=actors.admin).get_json()
    first = actors.client.get(f"{API}/products{query}")
    second = actors.client.get(f"{API}/products{query}")
    assert first.mimetype == second.mimetype == "application/json"
    assert set(second.get_json()) == {"success", "data", "timestamp"}
    assert second.get_json()["data"] == first.get_json()["data"] == admin_view["data"]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_readers_during_a_rebuild_get_the_page_that_just_expired(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(list_cache, "time", clock)
    pages = list_cache.ListCache()
    assert pages.page("p", None, lambda: "v1") == "v1"
    clock.now += list_cache.TTL_SECONDS + 0.1  # expired

    seen_meanwhile = []

    def rebuild() -> str:
        # another viewer asks while this build is still running: no wait, no second build
        seen_meanwhile.append(pages.page("p", None, lambda: "a second build"))
        return "v2"

    assert pages.page("p", None, rebuild) == "v2"
    assert seen_meanwhile == ["v1"]
    assert pages.page("p", None, lambda: "not needed") == "v2"

    # a page dropped by a change is never served, not even during a rebuild
    pages.invalidate({None})
    seen_meanwhile.clear()
    assert pages.page("p", None, lambda: "v3") == "v3"
    clock.now += 3 * list_cache.TTL_SECONDS  # long expired: too old to serve while rebuilding
    monkeypatch.setattr(list_cache, "BUILD_WAIT_SECONDS", 0.0)  # one thread here: do not wait on itself
    assert pages.page("p", None, rebuild) == "v2" and seen_meanwhile == ["a second build"]


def test_a_change_during_a_rebuild_is_never_hidden_by_the_old_page(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(list_cache, "time", clock)
    monkeypatch.setattr(list_cache, "BUILD_WAIT_SECONDS", 0.0)
    pages = list_cache.ListCache()
    pages.page("p", None, lambda: "v1")
    clock.now += list_cache.TTL_SECONDS + 0.1
    seen_meanwhile = []

    def rebuild() -> str:
        pages.invalidate({None})  # a product changes while the page is being read
        seen_meanwhile.append(pages.page("p", None, lambda: "read after the change"))
        return "read before the change"

    assert pages.page("p", None, rebuild) == "read before the change"
    assert seen_meanwhile == ["read after the change"]
    assert pages.page("p", None, lambda: "v3") == "v3"  # the overtaken build was not kept


def test_deleting_a_stream_empties_its_page_at_once(actors, long_ttl):
    stream = actors.create_stream(title="Never aired")
    actors.create_product(streamId=stream["id"], name="Unsold")
    query = f"?streamId={stream['id']}"
    assert _names(_page(actors, query)) == ["Unsold"]
    response = actors.client.delete(f"{API}/streaming/streams/{stream['id']}", headers=actors.admin)
    assert response.status_code == 204, response.get_json()
    assert _page(actors, query)["items"] == []
