"""Demo data for a fresh service: a live stream with a featured product, products with and
without variants and with low stock, a scheduled stream, a store product, and buyers with
complete profiles.

Everything goes through the same services and request schemas as the HTTP API, so the stock
rules hold and every change is broadcast as if an admin had made it. Seeding is idempotent: a
row is found by what identifies it (an account by email, a demo stream by its title and demo
host while it has not ended, a product by name within its stream) and made only when missing;
what exists is kept as it is, stock included, so a second run changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from dorami_api.auth.passwords import hash_password, verify_password
from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from dorami_api.products import service as products
from dorami_api.products.models import Product
from dorami_api.products.schemas import ProductCreate
from dorami_api.streaming import service as streams
from dorami_api.streaming.models import LiveStream
from dorami_api.streaming.schemas import StreamCreate
from dorami_api.users import roles
from dorami_api.users import service as users
from dorami_api.users.models import User
from dorami_api.users.schemas import ShippingAddress

HOST = {"email": "host@demo.dorami.test", "name": "Dorami Demo Host"}
BUYERS = (
    {
        "email": "mina@demo.dorami.test",
        "name": "Mina Park",
        "depositorName": "Mina Park",
        "address": {
            "fullName": "Mina Park",
            "address1": "12 Market St",
            "city": "Austin",
            "state": "TX",
            "zip": "73301",
        },
    },
    {
        "email": "jun@demo.dorami.test",
        "name": "Jun Lee",
        "depositorName": "Jun Lee",
        "address": {"fullName": "Jun Lee", "address1": "400 Pine St", "city": "Seattle", "state": "WA", "zip": "98101"},
    },
    {
        "email": "sora@demo.dorami.test",
        "name": "Sora Kim",
        "depositorName": "Sora Kim",
        "address": {
            "fullName": "Sora Kim",
            "address1": "1 Beacon St",
            "address2": "Apt 5",
            "city": "Boston",
            "state": "MA",
            "zip": "02108",
        },
    },
)

LIVE_STREAM = {
    "title": "Dorami demo: spring drop",
    "description": "A demo live show: scarves, shirts and mugs while stock lasts.",
    "freeShippingMode": "THRESHOLD",
    "freeShippingThreshold": "50.00",
}
FEATURED = "Silk scarf"
LIVE_PRODUCTS = (
    {"name": FEATURED, "price": "29.50", "originalPrice": "39.00", "stock": 40, "sortOrder": 1},
    {
        "name": "Linen shirt",
        "price": "45.00",
        "sortOrder": 2,
        "variants": [
            {"size": "S", "price": "45.00", "stock": 6, "sortOrder": 1},
            {"size": "M", "price": "45.00", "stock": 8, "sortOrder": 2},
            {"size": "L", "price": "47.00", "stock": 3, "sortOrder": 3},
        ],
    },
    {
        "name": "Ceramic mug",
        "price": "18.00",
        "sortOrder": 3,
        "variants": [
            {"color": "Ivory", "price": "18.00", "stock": 10, "sortOrder": 1},
            {"color": "Sage", "price": "18.00", "stock": 2, "sortOrder": 2},
        ],
    },
    {"name": "Last-call tote bag", "price": "24.00", "stock": 3, "holdMinutes": 5, "sortOrder": 4},
)
UPCOMING_STREAM = {
    "title": "Dorami demo: summer preview",
    "description": "Next week's show; chat is already open.",
    "freeShippingMode": "UNCONDITIONAL",
}
UPCOMING_PRODUCTS = (
    {"name": "Straw hat", "price": "32.00", "stock": 15, "sortOrder": 1},
    {
        "name": "Beach towel",
        "price": "22.00",
        "sortOrder": 2,
        "variants": [
            {"color": "Blue", "price": "22.00", "stock": 10, "sortOrder": 1},
            {"color": "Coral", "price": "22.00", "stock": 10, "sortOrder": 2},
        ],
    },
)
STORE_PRODUCTS = ({"name": "Gift wrapping", "price": "3.00", "stock": 500, "holdMinutes": 0},)


@dataclass
class SeedReport:
    """What the seed made (created) and what it found already there (kept)."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    buyer_emails: list[str] = field(default_factory=list)
    live_stream_key: str = ""
    live_stream_id: str = ""
    upcoming_stream_key: str = ""

    def note(self, made: bool, what: str) -> None:
        self.lines.append(("created" if made else "kept", what))

    @property
    def created(self) -> int:
        return sum(1 for outcome, _ in self.lines if outcome != "kept")


def seed(password: str | None = None) -> SeedReport:
    """Make whatever demo data is missing. With `password` (registration rules apply), every demo
    account signs in with it through POST /auth/login; without, through the development
    dev-login."""
    if password is not None:
        password = roles.checked_registration(BUYERS[0]["email"], password, BUYERS[0]["name"]).password
    report = SeedReport()
    host = _account(report, HOST, password)
    for buyer in BUYERS:
        _buyer(report, buyer, password)
        report.buyer_emails.append(buyer["email"])

    live = _stream(report, host, LIVE_STREAM, scheduled_in=None)
    for spec in LIVE_PRODUCTS:
        _product(report, spec, live)
    if live.status == "SCHEDULED":
        streams.start_stream(live.id)
        report.lines.append(("started", f'stream "{live.title}" is LIVE'))
    if live.featured_product_id is None:
        featured = _find_product(FEATURED, live.id)
        streams.set_featured_product(live.id, featured.id)
        report.lines.append(("featured", f'"{FEATURED}" in "{live.title}"'))
    report.live_stream_key, report.live_stream_id = live.stream_key, str(live.id)

    upcoming = _stream(report, host, UPCOMING_STREAM, scheduled_in=timedelta(days=7))
    for spec in UPCOMING_PRODUCTS:
        _product(report, spec, upcoming)
    report.upcoming_stream_key = upcoming.stream_key
    for spec in STORE_PRODUCTS:
        _product(report, spec, None)
    return report


def _account(report: SeedReport, spec: dict, password: str | None) -> User:
    user = roles.account_by_email(spec["email"])
    made = user is None
    if made:
        user = roles.create_account(spec["email"], spec["name"], password)
    elif password is not None and not verify_password(user.password_hash, password):
        user.password_hash = hash_password(password)
        db.session.commit()
    report.note(made, f"account {spec['email']}")
    return user


def _buyer(report: SeedReport, spec: dict, password: str | None) -> None:
    """A buyer whose profile is complete (name, depositor name, shipping address), so that it
    can order at once. Fields the account already has are left alone."""
    user = _account(report, spec, password)
    if not user.depositor_name:
        users.update_profile(str(user.id), {"depositor_name": spec["depositorName"]})
    if user.shipping_address_enc is None:
        users.set_shipping_address(str(user.id), ShippingAddress.model_validate(spec["address"]).stored())


def _stream(report: SeedReport, host: User, spec: dict, scheduled_in: timedelta | None) -> LiveStream:
    """The demo stream with this title that has not ended, or a new SCHEDULED one."""
    stream = db.session.scalar(
        sa.select(LiveStream)
        .where(LiveStream.host_id == host.id, LiveStream.title == spec["title"], LiveStream.status != "ENDED")
        .order_by(LiveStream.created_at)
        .limit(1)
    )
    made = stream is None
    if made:
        body = dict(spec)
        if scheduled_in is not None:
            body["scheduledAt"] = (utcnow() + scheduled_in).isoformat()
        created = streams.create_stream(str(host.id), StreamCreate.model_validate(body))
        stream = db.session.get(LiveStream, uuid.UUID(created["id"]))
    report.note(made, f'stream "{spec["title"]}" ({stream.status})')
    return stream


def _find_product(name: str, stream_id: uuid.UUID | None) -> Product | None:
    in_stream = Product.stream_id.is_(None) if stream_id is None else Product.stream_id == stream_id
    return db.session.scalar(sa.select(Product).where(in_stream, Product.name == name).order_by(Product.created_at))


def _product(report: SeedReport, spec: dict, stream: LiveStream | None) -> None:
    stream_id = stream.id if stream is not None else None
    made = _find_product(spec["name"], stream_id) is None
    if made:
        products.create_product(ProductCreate.model_validate({**spec, "streamId": stream_id}))
    where = f'"{stream.title}"' if stream is not None else "the store"
    report.note(made, f'product "{spec["name"]}" in {where}')
