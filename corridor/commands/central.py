"""`corridor central`: run the central service; migrate its database; document its config."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from central.errors import CentralError

CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML settings file (see docs/central.md); CORRIDOR_CENTRAL__* env vars override it.",
)


@click.group()
def cli() -> None:
    """Central monitoring: ingest, gate decisions, ledger and HTTP API."""


@cli.command("run")
@CONFIG
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP listen address.")
@click.option("--port", default=8000, show_default=True, type=int, help="HTTP port.")
def run(config_file: Path | None, host: str, port: int) -> None:
    """Serve the HTTP API (OpenAPI at /docs) with the MQTT ingest."""
    import uvicorn

    from central.app import create_app
    from central.settings import load_settings

    try:
        app = create_app(load_settings(config_file))
    except CentralError as err:
        raise click.ClickException(str(err)) from err
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@cli.command("migrate")
@CONFIG
@click.option("--database-url", help="Overrides database_url from the settings.")
def migrate(config_file: Path | None, database_url: str | None) -> None:
    """Apply the shipped migrations to the database (idempotent)."""
    from central import database
    from central.settings import load_settings

    overrides = {"database_url": database_url} if database_url else {}
    try:
        settings = load_settings(config_file, **overrides)
    except CentralError as err:
        raise click.ClickException(str(err)) from err

    async def _migrate() -> str | None:
        engine = database.create_engine(settings.database_url)
        try:
            await database.migrate(engine)
            return await database.current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(_migrate())
    click.echo(f"database at revision {revision}")


@cli.command("config-doc")
def config_doc() -> None:
    """Print the settings reference as a Markdown table (it is in docs/central.md)."""
    from central.settings import settings_reference

    click.echo(settings_reference())
