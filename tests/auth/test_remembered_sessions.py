"""A signed-in request is checked against a session remembered in Redis for every process, yet
revoking the session takes effect at once on every process. Apps on the same PostgreSQL and Redis
stand for processes (workers, hosts): one has just served the token, another revokes it.

Each of these runs with the rate limiter off and on: when it is on, what the session check reads in
Redis comes from the limiter's script, before the route's guard runs."""

from __future__ import annotations

import urllib.parse
import uuid

import pytest
import redis
import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dorami_api.auth import remembered_sessions, sessions
from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support import services
from tests.support.auth import signed_in

# Limits no test here reaches: only how the session is read differs.
LIMITER_ON = {"RATELIMIT_ENABLED": "true", "RATELIMIT_DEFAULT": "100000/second"}


@pytest.fixture(params=["limiter off", "limiter on"])
def process(request, make_app):
    """Builds one app (a process) with the rate limiter off or on."""
    env = LIMITER_ON if request.param == "limiter on" else {}
    return lambda: make_app(**env)


def _me(app, headers) -> tuple[int, str | None]:
    response = app.test_client().get("/api/v1/auth/me", headers=headers)
    return response.status_code, (response.get_json() or {}).get("errorCode")


def test_a_logout_on_one_process_refuses_the_token_at_once_on_another(process):
    serving, other = process(), process()
    session = signed_in(serving)
    assert _me(serving, session.headers) == (200, None)
    assert _me(serving, session.headers) == (200, None)  # now served from what it remembers

    logout = other.test_client().post("/api/v1/auth/logout", headers=session.headers)
    assert logout.status_code == 200, logout.get_json()

    assert _me(serving, session.headers) == (401, "TOKEN_REVOKED")


def test_a_suspension_on_one_process_refuses_the_users_other_sessions_at_once(process):
    serving, other = process(), process()
    phone = signed_in(serving)
    user = phone.user
    laptop = signed_in(serving, user=user)
    assert _me(serving, phone.headers) == (200, None)
    assert _me(serving, laptop.headers) == (200, None)

    admin_headers = signed_in(other, role="ADMIN").headers
    suspended = other.test_client().patch(
        f"/api/v1/admin/users/{user.id}/status", json={"status": "SUSPENDED", "reason": "test"}, headers=admin_headers
    )
    assert suspended.status_code == 200, suspended.get_json()

    assert _me(serving, phone.headers) == (401, "ACCOUNT_SUSPENDED")
    assert _me(serving, laptop.headers) == (401, "ACCOUNT_SUSPENDED")


def test_after_a_redis_flush_a_revocation_still_takes_effect_at_once(process, redis_url):
    serving, other = process(), process()
    session = signed_in(serving)
    assert _me(serving, session.headers) == (200, None)

    services.flush_redis(redis_url)  # the epoch the remembered session was trusted under is gone
    assert _me(serving, session.headers) == (200, None)  # read again, remembered under a new one
    logout = other.test_client().post("/api/v1/auth/logout", headers=session.headers)
    assert logout.status_code == 200, logout.get_json()

    assert _me(serving, session.headers) == (401, "TOKEN_REVOKED")


def _session_reads(app) -> list[str]:
    """The statements of this app that read auth sessions, from now on (a list that grows)."""
    reads: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "auth_sessions" in statement:
            reads.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    return reads


def test_a_session_one_process_has_read_is_not_read_again_by_another(process):
    """A buyer whose socket was checked on one worker and whose order reaches another: the second
    process trusts what the first remembered in Redis instead of reading PostgreSQL again."""
    first, second = process(), process()
    session = signed_in(first)
    assert _me(first, session.headers) == (200, None)  # read once, remembered for every process
    reads = _session_reads(second)

    assert _me(second, session.headers) == (200, None)
    assert _me(second, session.headers) == (200, None)
    assert reads == []


def test_a_remembered_session_is_read_again_once_it_has_expired(process, redis_url):
    first, second = process(), process()
    session = signed_in(first)
    assert _me(first, session.headers) == (200, None)
    reads = _session_reads(second)
    # What REMEMBER_SECONDS does, without waiting for it: Redis drops the remembered session.
    redis.Redis.from_url(redis_url).delete(remembered_sessions.session_key(session.session_id))

    assert _me(second, session.headers) == (200, None)
    assert len(reads) == 1


def test_what_is_remembered_is_checked_against_the_token_and_garbage_is_ignored(process, redis_url):
    app = process()
    mine, theirs = signed_in(app), signed_in(app)
    assert _me(app, theirs.headers) == (200, None)
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    # Someone else's remembered session under my session's key does not make me them.
    store.set(
        remembered_sessions.session_key(mine.session_id),
        store.get(remembered_sessions.session_key(theirs.session_id)),
    )
    response = app.test_client().get("/api/v1/auth/me", headers=mine.headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["id"] == str(mine.user.id)

    store.set(remembered_sessions.session_key(mine.session_id), "{not json")
    assert _me(app, mine.headers) == (200, None)


def test_a_suspension_refuses_a_session_every_process_remembers(process):
    processes = [process() for _ in range(3)]
    session = signed_in(processes[0])
    for process in processes:
        assert _me(process, session.headers) == (200, None)

    admin = signed_in(processes[1], role="ADMIN").headers
    suspended = (
        processes[2]
        .test_client()
        .patch(
            f"/api/v1/admin/users/{session.user.id}/status", json={"status": "SUSPENDED", "reason": "t"}, headers=admin
        )
    )
    assert suspended.status_code == 200, suspended.get_json()

    for process in processes:
        assert _me(process, session.headers) == (401, "ACCOUNT_SUSPENDED")


class SessionsAcrossProcesses(RuleBasedStateMachine):
    """Random sequences of logouts, per-session revocations and a suspension on any of three
    processes, Redis flushes and expiries of what is remembered; after every step each session is
    asked for on every process (so something is always remembered somewhere): it is served exactly
    until it is revoked (or its user suspended), on every process."""

    def __init__(self, apps, redis_url):
        super().__init__()
        self.apps = apps
        self.store = redis.Redis.from_url(redis_url)
        user = signed_in(apps[0]).user
        self.sessions = [signed_in(apps[0], user=user) for _ in range(2)]
        self.revoked: set[int] = set()
        self.suspended = False

    @invariant()
    def each_session_is_served_exactly_until_revoked(self):
        for which, session in enumerate(self.sessions):
            refusals = {"ACCOUNT_SUSPENDED"} if self.suspended else set()
            if which in self.revoked:  # either code when both are true: both are the truth
                refusals.add("TOKEN_REVOKED")
            for process in self.apps:
                answer = _me(process, session.headers)
                if refusals:
                    assert answer[0] == 401 and answer[1] in refusals, answer
                else:
                    assert answer == (200, None)

    @rule(process=st.integers(0, 2), which=st.integers(0, 1))
    def log_out(self, process, which):
        if which in self.revoked or self.suspended:
            return
        answer = self.apps[process].test_client().post("/api/v1/auth/logout", headers=self.sessions[which].headers)
        assert answer.status_code == 200, answer.get_json()
        self.revoked.add(which)

    @rule(process=st.integers(0, 2), which=st.integers(0, 1))
    def revoke_one(self, process, which):
        session = self.sessions[which]
        with self.apps[process].app_context():
            sessions.revoke_sessions(session.user.id, [uuid.UUID(session.session_id)], "session-deleted")
        self.revoked.add(which)

    @rule(process=st.integers(0, 2))
    def suspend(self, process):
        with self.apps[process].app_context():
            user = db.session.get(User, self.sessions[0].user.id)
            user.status = "SUSPENDED"
            db.session.commit()
            sessions.revoke_sessions(user.id, None, "suspended")
        self.suspended = True

    @rule()
    def flush_redis(self):
        self.store.flushdb()

    @rule(which=st.integers(0, 1))
    def forget(self, which):
        """What REMEMBER_SECONDS does to a remembered session, without waiting for it."""
        self.store.delete(remembered_sessions.session_key(self.sessions[which].session_id))


def test_sessions_across_processes_are_served_exactly_until_revoked(process, redis_url):
    apps = [process() for _ in range(3)]
    profile = settings(max_examples=15, stateful_step_count=10, derandomize=True, database=None, deadline=None)
    run_state_machine_as_test(lambda: SessionsAcrossProcesses(apps, redis_url), settings=profile)


def _redis_commands_during(redis_url: str, action) -> list[str]:
    """The commands clients send to this test's database while `action` runs (Redis's MONITOR)."""
    database = int(urllib.parse.urlparse(redis_url).path.lstrip("/") or 0)
    marker = f"end-of-action-{uuid.uuid4().hex}"
    ending = redis.Redis.from_url(redis_url)
    ending.ping()  # connected (and its database selected) before watching
    with redis.Redis.from_url(redis_url).monitor() as monitor:
        action()
        ending.echo(marker)
        commands = []
        while marker not in (entry := monitor.next_command())["command"]:
            if entry["db"] == database and entry["client_type"] != "lua":  # not a script's own calls
                commands.append(entry["command"])
    return commands


def test_with_the_limiter_on_a_signed_in_request_reaches_redis_once_before_its_view(make_app, redis_url):
    """The limiter's script counts the request and reads what the session check needs: the
    blocklist entry, the epoch and the remembered session."""
    app = make_app(**LIMITER_ON)
    session = signed_in(app)
    assert _me(app, session.headers) == (200, None)  # the session is remembered now

    commands = _redis_commands_during(redis_url, lambda: _me(app, session.headers))

    assert len(commands) == 1, commands
    assert commands[0].startswith("EVALSHA"), commands
    assert remembered_sessions.session_key(session.session_id) in commands[0]
