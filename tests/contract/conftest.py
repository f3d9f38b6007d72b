"""The recorded-events check reads what every server of the run emitted: it runs last, after the
realtime, chat and presence tests of the same run (and drives a short session of its own)."""

from __future__ import annotations

LAST = "test_every_event_the_servers_sent_is_in_the_document"


def pytest_collection_modifyitems(session, config, items):
    last = [item for item in items if item.name == LAST]
    items[:] = [item for item in items if item.name != LAST] + last
