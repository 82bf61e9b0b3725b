"""`corridor contract`: the bus contract as a document."""

from __future__ import annotations

import click

from contract import asyncapi


@click.group()
def cli() -> None:
    """Wire contract."""


@cli.command("asyncapi")
@click.option("--write", is_flag=True, help=f"Rewrite {asyncapi.DOCUMENT.name} in place.")
@click.option("--check", is_flag=True, help="Exit 1 if the committed document is stale.")
def asyncapi_cmd(write: bool, check: bool) -> None:
    """Print (or write, or check) the AsyncAPI document generated from the models."""
    text = asyncapi.render()
    if check:
        if asyncapi.DOCUMENT.read_text() != text:
            raise click.ClickException("contract/asyncapi.yaml is stale: run with --write")
        click.echo("asyncapi.yaml matches the models")
    elif write:
        asyncapi.DOCUMENT.write_text(text)
        click.echo(f"wrote {asyncapi.DOCUMENT}")
    else:
        click.echo(text, nl=False)
