"""`corridor demo`: a whole port on this machine, driven by a scenario."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "simulators" / "scenarios"
DEFAULT_SCENARIO = SCENARIOS / "bari-export-container-ship.yaml"


@click.command()
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(path_type=Path, exists=True),
    default=DEFAULT_SCENARIO,
    show_default=True,
    help="scenario YAML file",
)
@click.option(
    "--headless",
    is_flag=True,
    help="run to the end and exit: 0 when every expectation held, 1 otherwise",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=None,
    help="keep configs, logs and databases here (default: a temporary directory)",
)
def cli(scenario_path: Path, headless: bool, workdir: Path | None) -> None:
    """Start a broker, central, the gate boxes and simulated devices; run a scenario."""
    from corridor.rehearsal import Rehearsal
    from simulators.scenario import ScenarioError, load

    try:
        scenario = load(scenario_path)
    except ScenarioError as err:
        raise click.ClickException(str(err)) from err
    keep = workdir is not None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir = workdir or Path(tempfile.mkdtemp(prefix=f"corridor-{scenario.name}-{stamp}-"))
    echo = click.echo

    async def main() -> bool:
        echo(f"Scenario {scenario.name}: {scenario.description.strip()}\n")
        async with Rehearsal(scenario, run_dir, echo=echo) as rehearsal:
            url = rehearsal.central_url
            echo(f"Operator console: {url}/   RRU page: {url}/rru   (open them now)")
            outcome = await rehearsal.run()
            echo("\n" + outcome.report())
            if not headless:
                echo(f"\nOperator console: {url}/   RRU page: {url}/rru")
                echo(f"Central's API: {rehearsal.central_url}/docs   logs: {run_dir}")
                echo("Press Ctrl-C to stop.")
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()
            return outcome.passed

    passed = False
    try:
        passed = asyncio.run(main())
    except KeyboardInterrupt:
        passed = True
    except ScenarioError as err:
        echo(f"rehearsal failed to start: {err}", err=True)
    finally:
        if not keep and passed:
            shutil.rmtree(run_dir, ignore_errors=True)
        elif not passed:
            echo(f"configs and logs kept in {run_dir}", err=True)
    sys.exit(0 if passed else 1)
