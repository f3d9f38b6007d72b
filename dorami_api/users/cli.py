"""`flask users ...`: make and unmake administrators from a shell on the service's host.

The password of a new admin is asked twice with hidden input, or read from
DORAMI_ADMIN_PASSWORD (for scripts), never taken as an argument: arguments show in `ps` and in
shell history."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from dorami_api.cli_errors import command_errors
from dorami_api.users import roles
from dorami_api.users.models import ROLES
from dorami_api.web.responses import iso

PASSWORD_ENV = "DORAMI_ADMIN_PASSWORD"  # noqa: S105 - the name of the variable, not a password

users = AppGroup("users", help="Administrator accounts: create, change a role, list.")


def _new_password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    return click.prompt("Password (at least 10 characters)", hide_input=True, confirmation_prompt=True)


@users.command("create-admin")
@click.argument("email")
@click.option("--name", help="Display name of a new account (default: the part of EMAIL before @).")
@command_errors
def create_admin(email: str, name: str | None) -> None:
    """Create the ADMIN account EMAIL, or promote the existing account with that email.

    A new account's password is asked twice (hidden), or read from DORAMI_ADMIN_PASSWORD; it
    follows the rules of registration (at least 10 characters). An existing account keeps its
    password and sign-in methods, and its open sessions are ended so that the role holds at once.
    """
    email = roles.checked_email(email)  # before asking for a password that could not be used
    existing = roles.account_by_email(email)
    if existing is not None:
        user, changed = roles.set_role(email, "ADMIN")
        if changed:
            click.echo(f"Promoted the existing account {user.email} to ADMIN (password unchanged; sessions ended).")
        else:
            click.echo(f"{user.email} is already an ADMIN; nothing changed.")
        if name:
            click.echo(f"--name ignored: the account keeps its name ({user.name}).", err=True)
        if user.status == "SUSPENDED":
            click.echo("Note: the account is SUSPENDED and cannot sign in until it is reactivated.", err=True)
        return
    registration = roles.checked_registration(email, _new_password(), name or _default_name(email))
    user = roles.create_admin(registration)
    click.echo(f"Created the ADMIN account {user.email} ({user.name}); sign in with POST /api/v1/auth/login.")


def _role(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    role = value.strip().upper()
    if role not in ROLES:
        raise click.BadParameter(f"{value!r} is not a role: use {' or '.join(ROLES)}")
    return role


def _default_name(email: str) -> str:
    return email.strip().split("@")[0][:100] or "Admin"


@users.command("set-role")
@click.argument("email")
@click.argument("role", metavar="ADMIN|USER", callback=_role)
@command_errors
def set_role(email: str, role: str) -> None:
    """Give the account EMAIL the role ADMIN or USER.

    A change ends every session of the account (its open sockets are cut), so the new role holds
    at once; the user signs in again.
    """
    user, changed = roles.set_role(email, role)
    if changed:
        click.echo(f"{user.email} is now {user.role}; its sessions were ended.")
    else:
        click.echo(f"{user.email} is already {user.role}; nothing changed.")
    if user.role == "USER" and not roles.admins():
        click.echo("Warning: no ADMIN account remains (make one with `users create-admin`).", err=True)


@users.command("list-admins")
@command_errors
def list_admins() -> None:
    """List the ADMIN accounts: email, name, status, last sign-in."""
    admins = roles.admins()
    if not admins:
        click.echo("No ADMIN accounts. Make one with: flask --app wsgi users create-admin EMAIL")
        return
    for user in admins:
        last = iso(user.last_login_at) if user.last_login_at else "never"
        click.echo(f"{user.email or '(no email)'}\t{user.name}\t{user.status}\tlast sign-in {last}")
