"""The catalogue over REST: listing with filters and pagination, hidden and expired
products, admin writes with strict validation, money as strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.products.helpers import API


def _list(actors, query: str = "", headers=None):
    return actors.client.get(f"{API}/products{query}", headers=headers or {})


def test_create_and_read_a_product_with_variants(actors):
    stream = actors.create_stream()
    product = actors.create_product(
        streamId=stream["id"],
        price=19,
        originalPrice="25.5",
        images=["https://cdn.dorami.test/a.jpg"],
        stock=None,
        variants=[
            {"color": "red", "size": "M", "price": "19.00", "stock": 2},
            {"color": "blue", "size": "M", "price": 21.25, "stock": 3},
        ],
    )
    assert product["price"] == "19.00" and product["originalPrice"] == "25.50"
    assert product["stock"] == 5 and product["available"] == 5  # the variants' sum
    assert [v["price"] for v in product["variants"]] == ["19.00", "21.25"]
    assert product["streamKey"] == stream["streamKey"] and product["version"] == 1
    assert actors.get_product(product["id"]) == product


def test_patch_replaces_variants_and_bumps_version(actors):
    product = actors.create_product(
        stock=None,
        variants=[{"color": "red", "price": "10", "stock": 1}, {"color": "blue", "price": "10", "stock": 1}],
    )
    red, blue = product["variants"]
    # swap the colours of the two variants, drop nothing, add a green one
    response = actors.client.patch(
        f"{API}/products/{product['id']}",
        json={
            "name": "Renamed",
            "variants": [
                {"id": red["id"], "color": "blue", "price": "11", "stock": 4},
                {"id": blue["id"], "color": "red", "price": "12", "stock": 0},
                {"color": "green", "price": "13", "stock": 2},
            ],
        },
        headers=actors.admin,
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["name"] == "Renamed" and data["version"] == 2 and data["stock"] == 6
    assert {(v["id"], v["color"]) for v in data["variants"][:2]} == {(red["id"], "blue"), (blue["id"], "red")}
    # a variant product's stock is its variants' business
    response = actors.client.patch(f"{API}/products/{product['id']}", json={"stock": 3}, headers=actors.admin)
    assert response.status_code == 400
    # removing a variant: the list without it
    response = actors.client.patch(
        f"{API}/products/{product['id']}",
        json={"variants": [{"id": red["id"], "color": "blue", "price": "11", "stock": 4}]},
        headers=actors.admin,
    )
    assert response.get_json()["data"]["stock"] == 4 and len(response.get_json()["data"]["variants"]) == 1
    assert response.get_json()["data"]["version"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "price": "1.00", "colour": "red"},  # unknown field
        {"name": "x", "price": "-1.00"},
        {"name": "x", "price": -1},
        {"name": "x", "price": "1.005"},  # more than two decimals
        {"name": "x", "price": 1.005},
        {"name": "x", "price": "NaN"},
        {"name": "x", "price": "100000000.00"},
        {"name": "x", "price": True},
        {"name": "x", "price": "1", "stock": -1},
        {"name": "x", "price": "1", "holdMinutes": -5},
        {"name": "", "price": "1"},
        {"name": "x" * 201, "price": "1"},
        {"name": "x", "price": "1", "images": ["https://a"] * 11},
        {"name": "x", "price": "1", "variants": [{"price": "1", "label": str(i)} for i in range(51)]},
        {"name": "x", "price": "1", "variants": [{"price": "1", "color": "red"}, {"price": "2", "color": "red"}]},
        {"name": "x", "price": "1", "variants": [{"price": "1", "stock": -1}]},
        {"name": "x", "price": "1", "expiresAt": "2030-01-01T00:00:00"},  # no timezone
        {"name": "bad\u0000name", "price": "1"},
        {"name": "x", "price": "1", "stock": 3, "variants": [{"price": "1", "stock": 1}]},  # stock ≠ sum
    ],
)
def test_invalid_product_bodies_are_400(actors, body):
    response = actors.client.post(f"{API}/products", json=body, headers=actors.admin)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["errorCode"] == "VALIDATION_ERROR"
    assert _list(actors).get_json()["data"]["total"] == 0  # nothing written


def test_a_non_json_body_is_415(actors):
    response = actors.client.post(f"{API}/products", data="name=x", headers=actors.admin)
    assert response.status_code == 415


def test_patch_cannot_null_required_fields_and_rejects_unknown_ones(actors):
    product = actors.create_product()
    for body in ({"name": None}, {"price": None}, {"stock": None}, {"nope": 1}, {"price": "1.234"}):
        response = actors.client.patch(f"{API}/products/{product['id']}", json=body, headers=actors.admin)
        assert response.status_code == 400, body
    assert actors.get_product(product["id"])["version"] == 1  # untouched


def test_product_for_unknown_or_ended_stream(actors):
    import uuid

    response = actors.client.post(
        f"{API}/products", json={"name": "x", "price": "1", "streamId": str(uuid.uuid4())}, headers=actors.admin
    )
    assert response.status_code == 404 and response.get_json()["errorCode"] == "STREAM_NOT_FOUND"
    stream = actors.start(actors.create_stream())
    actors.client.post(f"{API}/streaming/streams/{stream['id']}/end", headers=actors.admin)
    response = actors.client.post(
        f"{API}/products", json={"name": "x", "price": "1", "streamId": stream["id"]}, headers=actors.admin
    )
    assert response.status_code == 409


def test_hidden_and_expired_products_are_never_listed(actors):
    visible = actors.create_product(name="Visible")
    hidden = actors.create_product(name="Hidden", status="HIDDEN")
    expired = actors.create_product(name="Expired")
    actors.client.patch(
        f"{API}/products/{expired['id']}",
        json={"expiresAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()},
        headers=actors.admin,
    )
    names = [p["name"] for p in _list(actors).get_json()["data"]["items"]]
    assert names == ["Visible"]
    assert [p["name"] for p in _list(actors, headers=actors.user).get_json()["data"]["items"]] == ["Visible"]
    # a hidden product is 404 to the public, visible to admins
    assert actors.client.get(f"{API}/products/{hidden['id']}").status_code == 404
    assert actors.client.get(f"{API}/products/{hidden['id']}", headers=actors.user).status_code == 404
    assert actors.get_product(hidden["id"], headers=actors.admin)["status"] == "HIDDEN"
    # admins may ask for everything; nobody else may
    assert _list(actors, "?includeHidden=true").status_code == 403
    assert _list(actors, "?status=HIDDEN", headers=actors.user).status_code == 403
    everything = _list(actors, "?includeHidden=true", headers=actors.admin).get_json()["data"]
    assert everything["total"] == 3
    assert visible["id"] in {p["id"] for p in everything["items"]}


def test_filters_search_and_default_order(actors):
    one, two = actors.create_stream(), actors.create_stream()
    actors.create_product(name="Blue 100% wool_hat", streamId=one["id"], sortOrder=2)
    actors.create_product(name="Red hat", streamId=one["id"], sortOrder=1)
    actors.create_product(name="Green scarf", streamId=two["id"], stock=0)
    actors.create_product(name="Store mug")

    def names(query):
        response = _list(actors, query)
        assert response.status_code == 200, response.get_json()
        return [p["name"] for p in response.get_json()["data"]["items"]]

    assert names(f"?streamId={one['id']}") == ["Red hat", "Blue 100% wool_hat"]  # sortOrder first
    assert names(f"?streamKey={two['streamKey']}") == ["Green scarf"]
    assert names("?status=SOLD_OUT") == ["Green scarf"]
    assert names("?search=HAT") == ["Red hat", "Blue 100% wool_hat"]
    assert names("?search=100%25") == ["Blue 100% wool_hat"]  # LIKE wildcards are literal
    assert names("?search=o_l") == []  # "_" is not "any character"
    assert names("?search=wool_") == ["Blue 100% wool_hat"]
    assert names("?streamKey=unknown") == []
    assert _list(actors, "?status=GONE").status_code == 400
    assert _list(actors, "?streamId=not-a-uuid").status_code == 400


def test_pagination_edges(actors):
    for index in range(5):
        actors.create_product(name=f"P{index}", sortOrder=index)
    page = _list(actors, "?page=2&limit=2").get_json()["data"]
    assert [p["name"] for p in page["items"]] == ["P2", "P3"]
    assert (page["page"], page["limit"], page["total"], page["totalPages"]) == (2, 2, 5, 3)
    beyond = _list(actors, "?page=9&limit=2").get_json()["data"]
    assert beyond["items"] == [] and beyond["total"] == 5 and beyond["page"] == 9
    capped = _list(actors, "?limit=100000").get_json()["data"]
    assert capped["limit"] == 100 and len(capped["items"]) == 5
    assert _list(actors).get_json()["data"]["limit"] == 20
    for bad in ("?limit=0", "?limit=-1", "?page=0", "?page=-3", "?limit=abc", "?page=1.5", "?page=10000000", "?x=1"):
        response = _list(actors, bad)
        assert response.status_code == 400, bad
        assert response.get_json()["errorCode"] == "VALIDATION_ERROR"


def test_delete_product(actors):
    product = actors.create_product()
    assert actors.client.delete(f"{API}/products/{product['id']}", headers=actors.admin).status_code == 204
    assert actors.client.get(f"{API}/products/{product['id']}").status_code == 404
    assert actors.client.delete(f"{API}/products/{product['id']}", headers=actors.admin).status_code == 404


def test_unknown_product_ids(actors):
    import uuid

    unknown = uuid.uuid4()
    assert actors.client.get(f"{API}/products/{unknown}").status_code == 404
    assert actors.client.get(f"{API}/products/not-a-uuid").status_code == 404
    response = actors.client.patch(f"{API}/products/{unknown}", json={"name": "x"}, headers=actors.admin)
    assert response.status_code == 404 and response.get_json()["errorCode"] == "PRODUCT_NOT_FOUND"
