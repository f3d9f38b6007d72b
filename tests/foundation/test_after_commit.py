"""Broadcast hooks run only after COMMIT, never for a rolled-back change."""

from __future__ import annotations

from decimal import Decimal

from dorami_api.db.after_commit import after_commit
from dorami_api.extensions import db
from dorami_api.products.models import Product


def test_callbacks_run_after_commit_and_are_dropped_on_rollback(app):
    seen = []
    with app.app_context():
        db.session.add(Product(name="Kept", price=Decimal("1.00"), stock=1))
        after_commit(seen.append, "kept")
        assert seen == []
        db.session.commit()
        assert seen == ["kept"]

        db.session.add(Product(name="Dropped", price=Decimal("1.00"), stock=1))
        after_commit(seen.append, "dropped")
        db.session.rollback()
        db.session.commit()
        assert seen == ["kept"]
        assert db.session.scalar(db.select(db.func.count()).select_from(Product)) == 1


def test_callbacks_can_read_the_committed_data(app):
    """Broadcasts load the committed row: the callback must be able to run SQL."""
    seen = []
    with app.app_context():
        product = Product(name="Read back", price=Decimal("1.00"), stock=3)
        db.session.add(product)
        db.session.flush()
        product_id = product.id
        after_commit(lambda: seen.append(db.session.get(Product, product_id, populate_existing=True).stock))
        db.session.commit()
        assert seen == [3]
