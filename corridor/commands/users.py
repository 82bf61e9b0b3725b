"""`corridor users`: add users (with a role), give them tokens, list them.

Works on central's database directly (the same `--config` as `corridor central run`),
so the first admin can be made before anyone can log in. Tokens are printed once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from central.errors import CentralError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from central.auth.tables import UserRow

T = TypeVar("T")
ROLES = ["operator", "supervisor", "rru", "engineer", "customs", "admin"]
CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="central's YAML settings (for database_url); CORRIDOR_CENTRAL__* env vars override it.",
)
DATABASE = click.option("--database-url", help="Overrides database_url from the settings.")


def _run(
    config_file: Path | None,
    database_url: str | None,
    work: Callable[..., Awaitable[T]],
) -> T:
    from central import database
    from central.auth.service import AuthError
    from central.settings import load_settings

    overrides = {"database_url": database_url} if database_url else {}

    async def main() -> T:
        settings = load_settings(config_file, **overrides)
        engine = database.create_engine(settings.database_url)
        try:
            await database.migrate(engine)
            async with database.sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AuthError as err:
        raise click.ClickException(err.detail) from err
    except CentralError as err:
        raise click.ClickException(str(err)) from err


@click.group()
def cli() -> None:
    """Users and their tokens (roles: operator, supervisor, rru, engineer, customs, admin)."""


@cli.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="what the user may do")
@click.option("--name", "display_name", default="", help="display name")
@click.option("--unit", "unit_id", default=None, help="rru users: the unit they belong to")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read a password for the console login from stdin (else: tokens only)",
)
@CONFIG
@DATABASE
def add(
    username: str,
    role: str,
    display_name: str,
    unit_id: str | None,
    password_stdin: bool,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Add a user with a role. The API is closed to anonymous callers from then on."""
    from central.auth.roles import Role
    from central.auth.service import add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password is not None and len(password) < 8:
        raise click.ClickException("a password needs at least 8 characters")

    async def work(session: AsyncSession) -> None:
        await add_user(
            session,
            username,
            Role(role),
            display_name=display_name,
            unit_id=unit_id,
            password=password,
        )

    _run(config_file, database_url, work)
    click.echo(f"user {username} added ({role}{', unit ' + unit_id if unit_id else ''})")


@cli.command("token")
@click.argument("username")
@click.option("--label", default="", help="what the token is for")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), help="expires after this")
@CONFIG
@DATABASE
def token(
    username: str,
    label: str,
    days: float | None,
    config_file: Path | None,
    database_url: str | None,
) -> None:
    """Print a new bearer token for USERNAME (shown once; only its hash is kept)."""
    from central.auth.service import issue_token

    async def work(session: AsyncSession) -> str:
        text, _ = await issue_token(
            session, username, label=label, ttl=timedelta(days=days) if days else None
        )
        return text

    click.echo(_run(config_file, database_url, work))


@cli.command("list")
@CONFIG
@DATABASE
def list_users(config_file: Path | None, database_url: str | None) -> None:
    """Every user: name, role, unit, active."""
    from sqlalchemy import select

    from central.auth.tables import UserRow

    async def work(session: AsyncSession) -> Sequence[UserRow]:
        return (await session.scalars(select(UserRow).order_by(UserRow.username))).all()

    for user in _run(config_file, database_url, work):
        unit = f" unit {user.unit_id}" if user.unit_id else ""
        state = "" if user.active else " (inactive)"
        click.echo(f"{user.username}\t{user.role}{unit}{state}")
