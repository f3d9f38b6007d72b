"""Commerce test data: products, streams, shoppers with a complete profile, and a clock moved by
editing the rows (holds are made to expire by moving their expiry into the past)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from dorami_api.products.models import Product, ProductVariant
from dorami_api.streaming.models import LiveStream
from dorami_api.users.crypto import encrypt_address
from dorami_api.users.models import User
from tests.support.auth import ADDRESS, create_user  # noqa: F401 - ADDRESS: the tests compare with it


@dataclass(frozen=True)
class Stream:
    """A stream row and the products made in it. Unpacks as (id, key): `stream_id, key = live_stream(app)`."""

    id: uuid.UUID
    key: str
    product_ids: tuple[uuid.UUID, ...] = ()

    def __iter__(self):
        return iter((self.id, self.key))


def live_stream(
    app,
    *products: dict,
    status: str = "LIVE",
    key: str | None = None,
    mode: str = "DISABLED",
    threshold: str | None = None,
) -> Stream:
    """The one way tests make a stream: the row and its host (an admin), then `products` in it,
    each given by make_product's fields (`live_stream(app, {"stock": 5}, {"price": "9.00"})`)."""
    host = create_user(app, role="ADMIN")
    with app.app_context():
        stream = LiveStream(
            stream_key=key or f"live-{secrets.token_hex(6)}",
            publish_key=secrets.token_hex(16),
            host_id=host.id,
            title="Flash sale",
            status=status,
            free_shipping_mode=mode,
            free_shipping_threshold=Decimal(threshold) if threshold else None,
        )
        db.session.add(stream)
        db.session.commit()
        stream_id, stream_key = stream.id, stream.stream_key
    product_ids = tuple(make_product(app, stream_id=stream_id, **fields) for fields in products)
    return Stream(stream_id, stream_key, product_ids)


def make_product(
    app,
    stock: int = 10,
    price: str = "29.50",
    hold_minutes: int = 10,
    stream_id: uuid.UUID | None = None,
    status: str | None = None,
    name: str = "Silk scarf",
    variants: list[dict] | None = None,
) -> uuid.UUID:
    with app.app_context():
        product = Product(
            name=name,
            price=Decimal(price),
            stock=stock,
            hold_minutes=hold_minutes,
            stream_id=stream_id,
            status=status or ("AVAILABLE" if stock > 0 else "SOLD_OUT"),
        )
        for index, variant in enumerate(variants or []):
            product.variants.append(
                ProductVariant(
                    color=variant.get("color"),
                    size=variant.get("size"),
                    label=variant.get("label"),
                    price=Decimal(variant.get("price", price)),
                    stock=variant["stock"],
                    sort_order=index,
                )
            )
        db.session.add(product)
        db.session.commit()
        return product.id


def product_row(app, product_id) -> Product:
    with app.app_context():
        product = db.session.get(Product, product_id)
        db.session.expunge(product)
        return product


def variant_ids(app, product_id) -> list[uuid.UUID]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(ProductVariant.id).where(ProductVariant.product_id == product_id).order_by("sort_order")
            )
        )


def set_stock(app, product_id, stock: int) -> None:
    with app.app_context():
        db.session.get(Product, product_id).stock = stock
        db.session.commit()


def expire_hold(app, hold_id, seconds_ago: int = 1) -> None:
    """Time passes for one hold: its expiry moves into the past."""
    with app.app_context():
        db.session.execute(
            sa.update(CartHold)
            .where(CartHold.id == uuid.UUID(str(hold_id)))
            .values(expires_at=utcnow() - timedelta(seconds=seconds_ago))
        )
        db.session.commit()


def hold_status(app, hold_id) -> str:
    with app.app_context():
        return db.session.get(CartHold, uuid.UUID(str(hold_id))).status


def complete_users(count: int) -> list[User]:
    """`count` new users with complete profiles, committed (inside an app context)."""
    users = []
    for index in range(count):
        user_id = uuid.uuid4()
        # The whole id in the address: six hex digits of it collided once in a CI run, where
        # the stateful tests create hundreds of buyers in one database.
        users.append(
            User(
                id=user_id,
                email=f"buyer{index}-{user_id.hex}@dorami.test",
                name=f"Buyer {index}",
                depositor_name=f"BUYER {index}",
                shipping_address_enc=encrypt_address(ADDRESS, str(user_id)),
            )
        )
    db.session.add_all(users)
    db.session.commit()
    return users
