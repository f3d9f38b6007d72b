"""`flask users create-admin | set-role | list-admins`: the only way to make an administrator.
Driven through Flask's CLI runner against real PostgreSQL, checked through the HTTP API a user
signs in with, plus one real `flask --app wsgi` process to prove the wiring."""

from __future__ import annotations

import os
import subprocess

import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support.auth import PASSWORD, auth_header, create_user, register, signed_in
from tests.support.server import ROOT, VENV_BIN, free_port
from tests.support.sockets import NAMESPACES, Viewer


def _run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["users", *args], **kwargs)


def _sign_in(app, email: str, password: str = PASSWORD):
    client = app.test_client(use_cookies=False)
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return client, response


def _administers(client, access_token: str) -> bool:
    status = client.get("/api/v1/admin/users", headers=auth_header(access_token)).status_code
    assert status in (200, 403)
    return status == 200


def _accounts(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_create_admin_asks_the_password_twice_and_the_admin_can_sign_in(app):
    result = _run(app, "create-admin", "Owner@Dorami.example", "--name", "Owner", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created the ADMIN account owner@dorami.example" in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    client, response = _sign_in(app, "owner@dorami.example")
    data = response.get_json()["data"]
    assert data["user"]["role"] == "ADMIN" and data["user"]["name"] == "Owner"
    assert _administers(client, data["accessToken"])


def test_create_admin_reads_the_password_from_the_environment(app):
    result = _run(app, "create-admin", "ops@dorami.example", env={"DORAMI_ADMIN_PASSWORD": "a long enough secret"})
    assert result.exit_code == 0, result.output
    _, response = _sign_in(app, "ops@dorami.example", "a long enough secret")
    user = response.get_json()["data"]["user"]
    assert (user["role"], user["name"]) == ("ADMIN", "ops")


def test_create_admin_refuses_a_weak_or_mistyped_password_and_a_bad_email(app):
    weak = _run(app, "create-admin", "owner@dorami.example", env={"DORAMI_ADMIN_PASSWORD": "short"})
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    mistyped = _run(app, "create-admin", "owner@dorami.example", input=f"{PASSWORD}\nsomething else!\n")
    assert mistyped.exit_code != 0 and "do not match" in mistyped.output
    bad_email = _run(app, "create-admin", "not-an-email", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert bad_email.exit_code == 1 and "not a valid email" in bad_email.output
    assert "Password" not in bad_email.output  # refused before asking
    assert _accounts(app) == 0


def test_create_admin_promotes_an_existing_account_and_ends_its_sessions(app):
    client = app.test_client(use_cookies=False)
    before = register(client, "dora@dorami.test")
    result = _run(app, "create-admin", "DORA@dorami.test")
    assert result.exit_code == 0, result.output
    assert "Promoted the existing account dora@dorami.test to ADMIN" in result.output
    # The old token carried role USER: its session is gone, so it cannot be used any more.
    assert client.get("/api/v1/auth/me", headers=auth_header(before["accessToken"])).status_code == 401
    client, again = _sign_in(app, "dora@dorami.test")  # the same password as before
    assert again.get_json()["data"]["user"]["role"] == "ADMIN"
    assert _administers(client, again.get_json()["data"]["accessToken"])
    repeat = _run(app, "create-admin", "dora@dorami.test")
    assert repeat.exit_code == 0 and "already an ADMIN; nothing changed" in repeat.output
    assert _accounts(app) == 1


def test_set_role_demotes_and_promotes_at_once(app):
    admin = create_user(app, email="boss@dorami.test", role="ADMIN", password=PASSWORD)
    tokens = signed_in(app, user=admin)
    client = app.test_client(use_cookies=False)
    assert _administers(client, tokens.token)

    demoted = _run(app, "set-role", "boss@dorami.test", "user")
    assert demoted.exit_code == 0 and "boss@dorami.test is now USER" in demoted.output
    assert "no ADMIN account remains" in demoted.output
    assert client.get("/api/v1/admin/users", headers=tokens.headers).status_code == 401
    client, response = _sign_in(app, "boss@dorami.test")
    assert response.get_json()["data"]["user"]["role"] == "USER"
    assert not _administers(client, response.get_json()["data"]["accessToken"])

    promoted = _run(app, "set-role", "boss@dorami.test", "ADMIN")
    assert promoted.exit_code == 0 and "now ADMIN" in promoted.output
    client, response = _sign_in(app, "boss@dorami.test")
    assert _administers(client, response.get_json()["data"]["accessToken"])
    unchanged = _run(app, "set-role", "boss@dorami.test", "ADMIN")
    assert unchanged.exit_code == 0 and "already ADMIN; nothing changed" in unchanged.output


def test_set_role_refuses_an_unknown_email_and_a_bad_role(app):
    create_user(app, email="dora@dorami.test")
    unknown = _run(app, "set-role", "nobody@dorami.test", "ADMIN")
    assert unknown.exit_code == 1 and "No account has the email nobody@dorami.test" in unknown.output
    bad_role = _run(app, "set-role", "dora@dorami.test", "OWNER")
    assert bad_role.exit_code == 2 and "'OWNER' is not a role: use USER or ADMIN" in bad_role.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.role).where(User.email == "dora@dorami.test")) == "USER"


def test_list_admins(app):
    empty = _run(app, "list-admins")
    assert empty.exit_code == 0 and "No ADMIN accounts" in empty.output
    create_user(app, email="boss@dorami.test", role="ADMIN", name="Boss")
    create_user(app, email="dora@dorami.test")
    listed = _run(app, "list-admins")
    assert listed.exit_code == 0
    assert "boss@dorami.test\tBoss\tACTIVE\tlast sign-in never" in listed.output
    assert "dora@dorami.test" not in listed.output


def test_every_command_explains_itself(app):
    for command in ("create-admin", "set-role", "list-admins"):
        result = _run(app, command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "DORAMI_ADMIN_PASSWORD" in _run(app, "create-admin", "--help").output


def test_no_database_is_a_clear_failure(make_app):
    app = make_app(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/dorami")
    for args in (("create-admin", "owner@dorami.example"), ("set-role", "a@dorami.test", "ADMIN"), ("list-admins",)):
        result = _run(app, *args, env={"DORAMI_ADMIN_PASSWORD": PASSWORD})
        assert result.exit_code == 1 and "cannot reach the database" in result.output
        assert "Traceback" not in result.output


def test_a_demoted_admin_loses_its_open_sockets(app, live_server):
    server = live_server()
    admin = create_user(app, email="boss@dorami.test", role="ADMIN")
    viewer = Viewer(server.url, token=signed_in(app, user=admin).token)
    try:
        viewer.wait_for("connection:success", "/chat")
        assert _run(app, "set-role", "boss@dorami.test", "USER").exit_code == 0
        for namespace in NAMESPACES:
            assert viewer.wait_for("session:revoked", namespace)["data"] == {"reason": "role_changed"}
        viewer.wait_disconnected()
    finally:
        viewer.close()


def test_the_real_flask_command_creates_an_admin(app, app_env):
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "users", "create-admin", "owner@dorami.example", "--name", "Owner"],
        cwd=ROOT,
        env={**os.environ, **app_env, "DORAMI_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Created the ADMIN account owner@dorami.example" in result.stdout
    _, response = _sign_in(app, "owner@dorami.example")
    assert response.get_json()["data"]["user"]["role"] == "ADMIN"
    help_text = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "--help"],
        cwd=ROOT,
        env={**os.environ, **app_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "users" in help_text.stdout, help_text.stderr[-2000:]
