"""Commerce test data: products, streams, shoppers with a complete profile, and a clock moved by
editing the rows (holds are made to expire by moving their expiry into the past)."""

from __future__ import annotations

import secrets
import uuid
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
from tests.support.auth import bearer, create_user, login

ADDRESS = {
    "fullName": "Dora Kim",
    "address1": "1 Market St",
    "address2": "Apt 2",
    "city": "San Francisco",
    "state": "CA",
    "zip": "94105",
}


def shopper(app, complete: bool = True, **fields) -> tuple[User, dict]:
    """A user and their bearer headers; complete: name, depositor name and address set."""
    user_id = uuid.uuid4()
    if complete:
        with app.app_context():
            fields.setdefault("depositor_name", "DORA KIM")
            fields.setdefault("shipping_address_enc", encrypt_address(ADDRESS, str(user_id)))
    user = create_user(app, id=user_id, **fields)
    return user, login(app, user)["headers"]


def admin(app) -> dict:
    return bearer(app, role="ADMIN")[1]


def make_stream(app, mode: str = "DISABLED", threshold: str | None = None) -> tuple[uuid.UUID, str]:
    host = create_user(app, role="ADMIN")
    with app.app_context():
        stream = LiveStream(
            stream_key=f"live-{secrets.token_hex(4)}",
            publish_key=secrets.token_hex(16),
            host_id=host.id,
            title="Flash sale",
            status="LIVE",
            free_shipping_mode=mode,
            free_shipping_threshold=Decimal(threshold) if threshold else None,
        )
        db.session.add(stream)
        db.session.commit()
        return stream.id, stream.stream_key


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
        users.append(
            User(
                id=user_id,
                email=f"buyer{index}-{user_id.hex[:6]}@dorami.test",
                name=f"Buyer {index}",
                depositor_name=f"BUYER {index}",
                shipping_address_enc=encrypt_address(ADDRESS, str(user_id)),
            )
        )
    db.session.add_all(users)
    db.session.commit()
    return users


def shoppers(app, count: int) -> list[dict]:
    """`count` users with complete profiles, each logged in; returns their bearer headers."""
    from dorami_api.auth.sessions import start_session

    with app.app_context():
        users = complete_users(count)
        headers = [{"Authorization": f"Bearer {start_session(user)[1].access_token}"} for user in users]
        db.session.remove()
        return headers
