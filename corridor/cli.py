"""The `corridor` command.

Each subcommand group lives in its own module under `corridor.commands` and is
imported only when it is run, so `corridor --help` stays fast and a gate box
never imports what central needs.
"""

from __future__ import annotations

import importlib
import logging
import os

import click

# name -> (module under corridor.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "contract": ("contract", "Wire contract: AsyncAPI document, message schemas."),
    "keys": ("keys", "Generate signing keys for central and gate boxes."),
    "gnss": ("gnss", "GNSS: decode NMEA logs, read a receiver or gpsd, simulate trackers."),
    "vision": ("vision", "Read plates and container codes; evaluate on a labelled folder."),
    "central": ("central", "Run the central service; migrate its database."),
    "ledger": ("ledger", "Verify the hash-chained ledger offline."),
    "edge": ("edge", "Run a gate box; diagnose its devices."),
    "demo": ("demo", "A whole port on this machine, driven by a scenario file."),
    "users": ("users", "Users, roles and API tokens of central."),
    "sim": ("sim", "Simulated devices speaking the real protocols (barrier, rfid, eseal, ...)."),
    "geofences": ("geofences", "Fences and corridors: check a GeoJSON file, locate a point, warm."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, _ = SUBCOMMANDS[cmd_name]
        module = importlib.import_module(f"corridor.commands.{module_name}")
        command: click.Command = module.cli
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="corridor")
def cli(verbose: int) -> None:
    """Corridor: gate boxes, central monitoring and simulators for customs."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    level = int(os.environ.get("CORRIDOR_LOG_LEVEL", level))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    cli()
