"""Access tokens revoked before their expiry (logout, a revoked session): their ids in Redis,
each kept for the token's remaining lifetime, so the list never outgrows the live tokens."""

from __future__ import annotations

from datetime import datetime

from dorami_api.db.types import utcnow
from dorami_api.extensions import redis_store

BLOCKLIST_PREFIX = "auth:blocklist:"


def blocklist_key(jti: str) -> str:
    return f"{BLOCKLIST_PREFIX}{jti}"


def block_access_token(jti: str, expires_at: datetime) -> None:
    """Blocklist an access token until its own expiry (TTL = its remaining lifetime)."""
    remaining = int((expires_at - utcnow()).total_seconds()) + 1
    if remaining > 0:
        redis_store.set(blocklist_key(jti), "1", ex=remaining)


def is_blocked(jti: str | None) -> bool:
    return bool(jti) and bool(redis_store.exists(blocklist_key(jti)))
