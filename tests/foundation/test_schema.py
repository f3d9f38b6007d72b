"""The schema exists only through the Alembic migration, on PostgreSQL and on SQLite, and its
constraints protect the data."""

from __future__ import annotations

import subprocess
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorami_api.extensions import db
from dorami_api.models import LiveStream, Order, Product, User
from tests.support.server import ROOT, VENV_BIN


def test_migrated_schema_matches_the_models(app):
    """`flask db check`: no model change is missing from the migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_the_migration_runs_on_sqlite_and_downgrades(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/m.sqlite3", "APP_ENV": "test"}
    for command in (["db", "upgrade"], ["db", "downgrade", "base"], ["db", "upgrade"]):
        result = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", *command, "--directory", "migrations"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path}/m.sqlite3")
    tables = set(sa.inspect(engine).get_table_names())
    assert {"users", "products", "orders", "cart_holds", "waitlist_entries", "order_day_counters"} <= tables


def _user(**fields) -> User:
    return User(email=f"{uuid.uuid4().hex[:8]}@dorami.test", name="Dora", **fields)


def _commit_fails(*objects):
    db.session.add_all(objects)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_stock_can_never_go_negative(app):
    with app.app_context():
        _commit_fails(Product(name="Bag", price=Decimal("10.00"), stock=-1))


def test_prices_can_never_be_negative(app):
    with app.app_context():
        _commit_fails(Product(name="Bag", price=Decimal("-0.01"), stock=1))


def test_email_and_instagram_id_are_unique(app):
    with app.app_context():
        db.session.add(User(email="same@dorami.test", name="A", instagram_id="@dora"))
        db.session.commit()
        _commit_fails(User(email="same@dorami.test", name="B"))
        _commit_fails(User(email="other@dorami.test", name="C", instagram_id="@dora"))


def test_an_order_total_must_be_subtotal_plus_shipping(app):
    with app.app_context():
        user = _user()
        db.session.add(user)
        db.session.commit()
        _commit_fails(
            Order(
                id="ORD-20260101-00001",
                user_id=user.id,
                subtotal=Decimal("10.00"),
                shipping_fee=Decimal("3.00"),
                total=Decimal("12.00"),
                depositor_name="Dora",
                shipping_address={},
            )
        )


def test_stream_keys_are_unique(app):
    with app.app_context():
        host = _user(role="ADMIN")
        db.session.add(host)
        db.session.commit()
        db.session.add(LiveStream(stream_key="k1", publish_key="a" * 32, host_id=host.id, title="t"))
        db.session.commit()
        _commit_fails(LiveStream(stream_key="k1", publish_key="b" * 32, host_id=host.id, title="t"))


def test_roles_are_limited_to_the_known_values(app):
    with app.app_context():
        _commit_fails(_user(role="ROOT"))
