"""`corridor keys`: Ed25519 key pairs for central (decisions) and gate boxes (passages)."""

from __future__ import annotations

from pathlib import Path

import click

from contract.signing import generate_keypair


@click.group()
def cli() -> None:
    """Signing keys."""


@cli.command("generate")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("var/keys"))
@click.option("--force", is_flag=True, help="Overwrite an existing key.")
def generate(name: str, directory: Path, force: bool) -> None:
    """Write NAME.key (private, mode 600) and NAME.pub in DIR."""
    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    if private.exists() and not force:
        raise click.ClickException(f"{private} exists; use --force to replace it")
    generate_keypair(private, public)
    click.echo(f"wrote {private} and {public}")
