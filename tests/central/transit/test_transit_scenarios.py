"""The transit scenario files, run end to end through `corridor demo --headless` as CI and
users run them: Mosquitto, central as its own process, trackers driving the Northern
Corridor in scaled time and publishing over MQTT as the telematics gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from corridor.transit_rehearsal import check_alert_times
from simulators.scenario import ScenarioError, load

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = REPO / "simulators" / "scenarios"
TRANSIT = sorted(SCENARIOS.glob("transit-*.yaml"))


def demo(scenario: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    # Central runs in the work directory: a relative numba cache would be a cold one there
    # (seconds of compiling on a busy machine).
    cache = Path(os.environ.get("NUMBA_CACHE_DIR", REPO / "var" / "numba-cache")).resolve()
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "corridor",
            "demo",
            "--headless",
            "--scenario",
            str(scenario),
            "--workdir",
            str(workdir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
    )


def test_every_transit_case_has_a_scenario() -> None:
    assert {p.stem for p in TRANSIT} == {
        "transit-clean",
        "transit-market-diversion",
        "transit-long-stop",
        "transit-signal-loss",
        "transit-leaves-controlled-area",
        "transit-late-arrival",
    }
    for path in TRANSIT:
        scenario = load(path)
        assert scenario.units and scenario.expect_alerts is not None
        clean = path.stem == "transit-clean"
        assert (scenario.expect_alerts == []) == clean
        assert all(a.between_s for a in scenario.expect_alerts), f"{path.name}: untimed alert"


def test_alerts_outside_their_window_are_reported() -> None:
    scenario = load(SCENARIOS / "transit-signal-loss.yaml")
    raised = [
        {"rule": "signal_loss", "iot_id": "m-1", "raised_at": "2026-03-02T06:44:00.000Z"},
        {"rule": "signal_loss", "iot_id": "m-1", "raised_at": "2026-03-02T07:00:00.000Z"},
    ]
    problems = check_alert_times(scenario, raised, {"m-1": "T1"})
    assert problems == [
        "signal_loss for T1 raised at scenario second 7200, expected within [6240, 6240]"
    ]


def test_units_need_a_transit_section_and_a_registered_movement(tmp_path: Path) -> None:
    raw = yaml.safe_load((SCENARIOS / "transit-long-stop.yaml").read_text())
    raw["site_file"] = str(SCENARIOS / raw["site_file"])
    for change, message in [
        (lambda r: r.pop("transit"), "units need a transit section"),
        (lambda r: r["units"][0].update(truck="T9"), "truck T9 has no registered movement"),
        (lambda r: r["units"][0].update(speed_kmh="fast"), "speed_kmh 'fast'"),
    ]:
        broken = yaml.safe_load(yaml.safe_dump(raw))
        change(broken)
        path = tmp_path / "broken.yaml"
        path.write_text(yaml.safe_dump(broken))
        with pytest.raises(ScenarioError, match=message):
            load(path)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", TRANSIT, ids=[p.stem for p in TRANSIT])
def test_transit_scenario_passes_headless(scenario: Path, tmp_path: Path) -> None:
    result = demo(scenario, tmp_path / "run")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "all expectations held" in result.stdout


@pytest.mark.slow
def test_a_scenario_whose_alert_comes_at_another_time_fails(tmp_path: Path) -> None:
    raw = yaml.safe_load((SCENARIOS / "transit-leaves-controlled-area.yaml").read_text())
    raw["site_file"] = str(SCENARIOS / raw["site_file"])
    raw["transit"]["fences"] = [
        f if f.startswith("site:") else str(SCENARIOS / f) for f in raw["transit"]["fences"]
    ]
    raw["transit"]["start"] = datetime(2026, 3, 2, 5, tzinfo=UTC)
    raw["expect_alerts"][0]["between_s"] = [900, 1000]
    path = tmp_path / "wrong-time.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = demo(path, tmp_path / "run")
    assert result.returncode == 1
    assert "left_controlled_area for T1 raised at scenario second 360, expected within" in (
        result.stdout
    )
