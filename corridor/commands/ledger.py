"""`corridor ledger`: verify central's hash-chained ledger offline."""

from __future__ import annotations

import asyncio

import click


@click.group()
def cli() -> None:
    """The hash-chained ledger of decisions, alerts and command acks."""


@cli.command("verify")
@click.option(
    "--database-url",
    required=True,
    help="Central's database, e.g. sqlite+aiosqlite:///var/central.db",
)
def verify(database_url: str) -> None:
    """Walk the chain; exit 1 and name the first broken seq if history was changed."""
    from central import database, ledger
    from central.errors import CentralError

    async def _verify() -> ledger.Verification:
        engine = database.create_engine(database_url)
        try:
            async with database.sessionmaker(engine)() as session:
                return await ledger.verify(session)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(_verify())
    except CentralError as err:
        raise click.ClickException(str(err)) from err
    if result.ok:
        click.echo(f"ledger ok: {result.entries} entries")
        return
    click.echo(
        f"ledger broken at seq {result.first_broken_seq}: {result.reason} "
        f"({result.entries} entries verified before it)"
    )
    raise SystemExit(1)
