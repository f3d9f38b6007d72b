"""How `flask` commands fail: one readable line on stderr and exit status 1, never a traceback.

A rule refused by a service (ApiError) is told as its message and the offending fields; a
database that cannot be reached or has no schema yet is told as such, with what to do."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TypeVar

import click
import sqlalchemy as sa

from dorami_api.errors import ApiError
from dorami_api.extensions import db

Command = TypeVar("Command", bound=Callable)


def describe(error: ApiError) -> str:
    fields = (error.details or {}).get("fields") if isinstance(error.details, dict) else None
    if not fields:
        return error.message
    return "; ".join(f"{item['field']}: {item['message']}" for item in fields)


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def _rollback() -> None:
    with contextlib.suppress(sa.exc.SQLAlchemyError):  # the connection is gone: nothing to undo
        db.session.rollback()


def command_errors(command: Command) -> Command:
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ApiError as error:
            _rollback()
            raise click.ClickException(describe(error)) from None
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            _rollback()
            raise click.ClickException(f"cannot reach the database: {_first_line(error)}") from None
        except sa.exc.ProgrammingError as error:
            _rollback()
            raise click.ClickException(
                f"the database is not ready ({_first_line(error)}); run `flask --app wsgi db upgrade` first"
            ) from None

    return run  # type: ignore[return-value]
