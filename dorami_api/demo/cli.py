"""`flask demo ...`: fill a fresh service with demo data, and drive a running one with a
simulated audience."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from dorami_api.cli_errors import command_errors
from dorami_api.demo import audience as demo_audience
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


@demo.command("audience")
@click.option("--url", default="http://127.0.0.1:3001", show_default=True, help="The running service.")
@click.option(
    "--viewers",
    type=click.IntRange(1, demo_audience.MAX_VIEWERS),
    default=5,
    show_default=True,
    help="Simulated viewers.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(0, demo_audience.MAX_SECONDS, min_open=True),
    default=30,
    show_default=True,
    help="How long they chat and buy.",
)
@click.option("--stream-key", help="The stream to watch (default: the first stream live now).")
@click.option("--seed", "random_seed", type=int, default=1, show_default=True, help="Seed of the viewers' choices.")
@click.option("--allow-remote", is_flag=True, help="Allow a URL that is not this machine (only a service you own).")
def audience(url: str, viewers: int, seconds: float, stream_key: str | None, random_seed: int, allow_remote: bool):
    """Drive a RUNNING service with simulated viewers that chat and buy, then print what they saw.

    Each viewer signs in through the development dev-login (the service needs
    ENABLE_DEV_AUTH=true), completes its profile, joins the stream's rooms on /, /streaming and
    /chat, sends a chat message every second and places an order every fifth turn. The summary
    counts viewers connected, messages sent and received, orders made and refused, and every
    server event. Exits 1 when a viewer could not join or a sent message did not reach every
    viewer.
    """
    _refuse_production()
    try:
        base_url = demo_audience.check_target(url, allow_remote)
        summary = demo_audience.run_audience(base_url, viewers, seconds, stream_key, random_seed, say=click.echo)
    except demo_audience.AudienceError as error:
        raise click.ClickException(str(error)) from None
    for line in summary.lines():
        click.echo(line)
    if not summary.complete:
        raise click.ClickException("the audience did not see everything it should have (see above)")
