"""The availability gate: what PostgreSQL last committed of a product's units on hand, kept in
Redis so that a buyer of a sold-out product is refused before any slot, connection or row lock.

PostgreSQL stays the authority. The gate only ever says "no": a buy it lets through is checked
by the precheck and, for real, under the product's row lock, so it cannot sell a unit that
PostgreSQL has not recorded. Each entry is `version:units` — the product's stock version and
units on hand as of a committed change:

- every settled stock change (products/stock.py `settle`, the one ending of all of them)
  publishes its version and units after commit;
- a buy that finds no entry (a new product, an expired entry, a Redis flush) rebuilds it from the
  precheck's read of PostgreSQL;
- an entry is replaced only by a newer version, so a slow rebuild read before a restock cannot
  overwrite the restock, whatever order they arrive in.

A refusal from the gate is the answer the buy would have had from PostgreSQL at a committed
version. Entries expire after TTL_SECONDS: if a publication is ever lost (the process died
between commit and publish, Redis failed at that moment), the gate is rebuilt from PostgreSQL
within that time. Hidden products have no units here (units -1): PostgreSQL answers for them.
When Redis cannot answer, the gate decides nothing and the buy goes on as before.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from dorami_api.errors import REDIS_OUTAGE
from dorami_api.extensions import redis_store

log = logging.getLogger(__name__)

KEY_PREFIX = "dorami:available:"
TTL_SECONDS = 10
UNKNOWN = -1  # a hidden product: the gate has no say

# KEYS[1] the entry; ARGV version, units, ttl. Newer versions only (see the module's docstring).
_PUBLISH = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def _key(product_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{product_id}"


def units_on_hand(product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int | None]:
    """Each product's units on hand as last committed, None where the gate does not know (no
    entry, a hidden product, Redis unavailable). One round trip."""
    ids = list(product_ids)
    try:
        values = redis_store.mget([_key(product_id) for product_id in ids])
    except REDIS_OUTAGE:
        return dict.fromkeys(ids)
    known: dict[uuid.UUID, int | None] = {}
    for product_id, value in zip(ids, values, strict=True):
        units = int(value.rpartition(":")[2]) if value else UNKNOWN
        known[product_id] = units if units >= 0 else None
    return known


def publish(product_id: uuid.UUID, version: int, units: int, hidden: bool = False) -> None:
    """Record a committed version of the product's units (after commit, or from a read of
    committed data). Never raises: a lost publication only costs a rebuild."""
    try:
        units = UNKNOWN if hidden else max(units, 0)
        redis_store.run_script(_PUBLISH, [_key(product_id)], [version, units, TTL_SECONDS])
    except Exception:  # the gate is an optimisation; the sale goes on without it
        log.debug("availability gate not published for %s", product_id, exc_info=True)
