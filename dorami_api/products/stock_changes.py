"""The two endings of every stock change, with the product locked and its change made:

- units taken (a hold placed or grown, a purchase, stock cut): settle the product's status and
  version and announce the change after commit;
- units released — the one path of units that come back: a hold removed or expired, an order
  cancelled, a restock, a variant's stock raised, a hidden product shown again, a promotion left
  unused. The waitlist is served first (it may take every unit back), then the product is
  settled, and the change is announced after commit. A HIDDEN product serves nobody: nobody can
  see it, so no one may be handed a hold on it; its queue is served when it is shown again.
"""

from __future__ import annotations

import dataclasses

from dorami_api.db.after_commit import after_commit
from dorami_api.products import events, stock
from dorami_api.products.models import Product
from dorami_api.waitlist.promotion import promote_waiting_in_transaction


def units_taken(product: Product, held: int | None = None) -> stock.StockSettlement:
    """Settle and announce after units were taken. held: the product's live held units, when the
    caller already counted them (the purchase hot path)."""
    settlement = stock.settle(product, held)
    after_commit(events.announce_stock_change, settlement)
    return settlement


def settle_released(product: Product) -> stock.StockSettlement:
    """Serve the waitlist (never for a hidden product), then settle; for callers that announce
    the change themselves (a product edit announces it as an edit)."""
    promoted = promote_waiting_in_transaction(product)  # none for a hidden product
    return dataclasses.replace(stock.settle(product), promoted=promoted)


def units_released(product: Product) -> stock.StockSettlement:
    """Serve the waitlist, settle, and announce the stock change after commit."""
    settlement = settle_released(product)
    after_commit(events.announce_stock_change, settlement)
    return settlement
