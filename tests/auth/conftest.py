"""Fixtures of the auth tests."""

from __future__ import annotations

import pytest

from dorami_api.auth import sessions


@pytest.fixture
def revocations(make_app):
    """Every revocation published during the test, by any of its apps: (user_id, session_ids | None, reason)."""
    seen = []

    def listener(user_id, session_ids, reason):
        seen.append((user_id, session_ids, reason))

    make_app.each(lambda app: sessions.on_revocation(app, listener))
    return seen
