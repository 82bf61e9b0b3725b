"""`corridor demo`: a whole port on this machine, driven by scenario files."""

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
# The default show: the port of Bari's export process (four gate boxes, passages and
# decisions), then the Northern Corridor (a port exit gate, trucks in transit, an incident
# for the operator console), whose services stay up afterwards.
DEFAULT_SCENARIOS = (
    SCENARIOS / "bari-export-container-ship.yaml",
    SCENARIOS / "demo.yaml",
)


@click.command()
@click.option(
    "--scenario",
    "scenario_paths",
    type=click.Path(path_type=Path, exists=True),
    multiple=True,
    help="scenario YAML file; repeat to run several in turn "
    "(default: bari-export-container-ship.yaml, then demo.yaml)",
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
def cli(scenario_paths: tuple[Path, ...], headless: bool, workdir: Path | None) -> None:
    """Start a broker, central, the gate boxes and simulated devices; run scenarios.

    Without --headless the services of the last scenario stay up (operator console, RRU
    page, API) until Ctrl-C."""
    from corridor.rehearsal import Rehearsal
    from simulators.scenario import Scenario, ScenarioError, load

    paths = scenario_paths or DEFAULT_SCENARIOS
    try:
        scenarios = [load(path) for path in paths]
    except ScenarioError as err:
        raise click.ClickException(str(err)) from err
    keep = workdir is not None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = workdir or Path(tempfile.mkdtemp(prefix=f"corridor-demo-{stamp}-"))
    echo = click.echo

    def run_dir(scenario: Scenario) -> Path:
        return base if len(scenarios) == 1 else base / scenario.name

    async def rehearse(scenario: Scenario, last: bool) -> bool:
        echo(f"\n=== Scenario {scenario.name}: {scenario.description.strip()}\n")
        async with Rehearsal(scenario, run_dir(scenario), echo=echo) as rehearsal:
            url = rehearsal.central_url
            echo(f"Operator console: {url}/   RRU page: {url}/rru   (open them now)")
            outcome = await rehearsal.run()
            echo("\n" + outcome.report())
            if last and not headless:
                echo(f"\nOperator console: {url}/   RRU page: {url}/rru")
                echo(f"Central's API: {url}/docs   logs: {run_dir(scenario)}")
                echo("Press Ctrl-C to stop.")
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()
            return outcome.passed

    async def main() -> bool:
        results = [
            await rehearse(scenario, i == len(scenarios) - 1)
            for i, scenario in enumerate(scenarios)
        ]
        if len(results) > 1:
            echo(f"\n{sum(results)} of {len(results)} scenarios held every expectation")
        return all(results)

    passed = False
    try:
        passed = asyncio.run(main())
    except KeyboardInterrupt:
        passed = True
    except ScenarioError as err:
        echo(f"rehearsal failed to start: {err}", err=True)
    finally:
        if not keep and passed:
            shutil.rmtree(base, ignore_errors=True)
        elif not passed:
            echo(f"configs and logs kept in {base}", err=True)
    sys.exit(0 if passed else 1)
