"""`flask demo ...`: fill a fresh service with demo data, and drive a running one with a
simulated audience."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from dorami_api.common.cli_errors import command_errors
from dorami_api.demo import seed as demo_seed

demo = AppGroup("demo", help="Demo data and a simulated audience (development and staging, never production).")


def _refuse_production() -> None:
    if current_app.config["DORAMI"].env == "production":
        raise click.ClickException("demo commands are refused in production (APP_ENV=production)")


@demo.command("seed")
@click.option(
    "--password",
    envvar="DORAMI_DEMO_PASSWORD",
    help="Password of every demo account (at least 10 characters; or DORAMI_DEMO_PASSWORD). "
    "Without it the accounts sign in through the development dev-login only.",
)
@command_errors
def seed(password: str | None) -> None:
    """Make the demo data that is missing; running it again changes nothing.

    A LIVE stream with a featured product, products with and without variants and with low
    stock, a SCHEDULED stream, a store product, a host and three buyers with complete profiles
    (name, depositor name, shipping address) who can order at once.
    """
    _refuse_production()
    report = demo_seed.seed(password or None)
    for outcome, what in report.lines:
        click.echo(f"{outcome:>8}  {what}")
    click.echo(f"{report.created} made, {len(report.lines) - report.created} already there.")
    click.echo(f"Live stream: key {report.live_stream_key} (id {report.live_stream_id})")
    click.echo(f"Scheduled stream: key {report.upcoming_stream_key}")
    click.echo("Demo buyers: " + ", ".join(report.buyer_emails))
    if password:
        click.echo("They sign in with POST /api/v1/auth/login and the password you gave.")
    else:
        click.echo(
            'They sign in with POST /api/v1/auth/dev-login {"email": ...} (ENABLE_DEV_AUTH=true), '
            "or run again with --password to give them one."
        )
