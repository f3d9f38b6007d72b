"""`flask demo audience`: simulated viewers drive a real gunicorn service after a seed — they
join, chat (every message reaches every viewer), buy — and the load only targets this machine.
The main run is a real `flask --app wsgi` process, under the gevent patching wsgi.py applies."""

from __future__ import annotations

import os
import re
import subprocess

import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.orders.models import Order
from dorami_api.users.models import User
from tests.support.server import ROOT, VENV_BIN


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["demo", *args])


def _figure(output: str, pattern: str) -> tuple[int, ...]:
    found = re.search(pattern, output)
    assert found, output
    return tuple(int(group) for group in found.groups())


def test_a_short_audience_chats_and_buys_on_a_seeded_service(app, app_env, live_server):
    server = live_server(ENABLE_DEV_AUTH="true")
    assert _cli(app, "seed").exit_code == 0
    run = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "demo", "audience", "--url", server.url]
        + ["--viewers", "3", "--seconds", "5"],
        cwd=ROOT,
        env={**os.environ, **app_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    result = run.stdout
    assert _figure(result, r"viewers connected: (\d+) of (\d+)") == (3, 3)
    (sent,) = _figure(result, r"chat messages sent: (\d+)")
    received, expected = _figure(result, r"chat messages received: (\d+) of (\d+) expected")
    assert sent >= 3 and expected == sent * 3 and received == expected
    (made,) = _figure(result, r"orders made: (\d+)")
    assert made >= 1
    assert re.search(r"server events received: .*chat:message \d+", result)
    assert "order:purchase:notification" in result  # the viewers saw each other buy
    with app.app_context():
        buyers = sa.select(User.id).where(User.email.like("viewer-%@audience.dorami.test"))
        assert db.session.scalar(sa.select(sa.func.count()).where(Order.user_id.in_(buyers))) == made


def test_the_audience_refuses_a_host_that_is_not_this_machine_and_unbounded_load(app):
    remote = _cli(app, "audience", "--url", "http://203.0.113.7:3001", "--viewers", "1", "--seconds", "1")
    assert remote.exit_code == 1 and "is not this machine" in remote.output and "--allow-remote" in remote.output
    # The host is what the URL connects to, not what its user-info part says.
    disguised = _cli(app, "audience", "--url", "http://127.0.0.1@203.0.113.7:3001", "--seconds", "1")
    assert disguised.exit_code == 1 and "203.0.113.7 is not this machine" in disguised.output
    not_http = _cli(app, "audience", "--url", "ftp://127.0.0.1/", "--seconds", "1")
    assert not_http.exit_code == 1 and "is not an http(s) URL" in not_http.output
    too_many = _cli(app, "audience", "--viewers", "100000")
    assert too_many.exit_code == 2 and "--viewers" in too_many.output
    forever = _cli(app, "audience", "--seconds", "86400")
    assert forever.exit_code == 2 and "--seconds" in forever.output


def test_the_audience_explains_a_service_without_dev_login(app, live_server):
    server = live_server()
    assert _cli(app, "seed").exit_code == 0
    result = _cli(app, "audience", "--url", server.url, "--viewers", "1", "--seconds", "1")
    assert result.exit_code == 1 and "ENABLE_DEV_AUTH=true" in result.output
