"""`corridor edge`: run a gate box, or diagnose its devices."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import click

from edge.config import EdgeConfig, EdgeConfigError, load


@click.group()
def cli() -> None:
    """The gate box agent."""


def _config(path: Path) -> EdgeConfig:
    try:
        return load(path)
    except EdgeConfigError as err:
        raise click.ClickException(str(err)) from err


@cli.command("run")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="gate box YAML configuration",
)
def run(config_path: Path) -> None:
    """Run the gate box until interrupted."""
    from edge.agent import GateAgent

    config = _config(config_path)

    async def main() -> None:
        await GateAgent(config).run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@cli.command("config-doc")
def config_doc() -> None:
    """Print the configuration reference (Markdown) generated from the config models."""
    from corridor.configdoc import reference
    from edge.config import EdgeConfig

    click.echo(reference(EdgeConfig))


@cli.command("diagnose")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="gate box YAML configuration",
)
@click.option(
    "--skip-serial",
    is_flag=True,
    help="leave serial readers, Modbus RTU controllers and a serial GNSS receiver alone "
    "(the running agent holds them)",
)
@click.option(
    "--gnss-timeout",
    "gnss_timeout_s",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="seconds to wait for a GNSS fix with a position",
)
def diagnose(config_path: Path, skip_serial: bool, gnss_timeout_s: float) -> None:
    """Check every configured device and the broker; print a report for a field engineer.

    Safe beside a running agent: its MQTT client id is `<gate>-diagnose`."""
    from edge.diagnose import diagnose as run_diagnose

    config = _config(config_path)
    ok = asyncio.run(
        run_diagnose(config, click.echo, skip_serial=skip_serial, gnss_timeout_s=gnss_timeout_s)
    )
    raise SystemExit(0 if ok else 1)
