"""Fixtures of the auth tests."""

from __future__ import annotations

import pytest

from dorami_api.auth import sessions


@pytest.fixture
def revocations():
    """Every revocation published during the test: (user_id, session_ids | None, reason)."""
    seen = []

    def listener(user_id, session_ids, reason):
        seen.append((user_id, session_ids, reason))

    sessions.on_revocation(listener)
    yield seen
    sessions._revocation_listeners.remove(listener)
