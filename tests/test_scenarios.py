"""Scenario files run end to end through `corridor demo --headless`, as CI and users run them:
a broker, central and the gate boxes as separate processes, devices simulated on real ports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCENARIOS = Path(__file__).resolve().parent.parent / "simulators" / "scenarios"
BARI = sorted(SCENARIOS.glob("bari-*.yaml"))


def demo(scenario: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
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
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_four_bari_processes_are_there() -> None:
    names = {p.stem for p in BARI}
    assert names == {
        "bari-export-container-ship",
        "bari-export-ferry-extra-eu",
        "bari-import-container-ship",
        "bari-import-ferry-extra-eu",
        "bari-seals",  # e-seals on the export path: swapped, tampered, cut on the way
    }
    for path in BARI:
        scenario = yaml.safe_load(path.read_text())
        holds = [
            s
            for s in scenario["timeline"]
            if s.get("arrive", {}).get("expect", {}).get("verdict") == "hold"
        ]
        assert holds, f"{path.name} must hold at least one truck"


@pytest.mark.slow
@pytest.mark.parametrize("scenario", BARI, ids=[p.stem for p in BARI])
def test_bari_scenario_passes_headless(scenario: Path, tmp_path: Path) -> None:
    result = demo(scenario, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "all expectations held" in result.stdout


@pytest.mark.slow
def test_a_wrong_expectation_fails_with_a_readable_diff(tmp_path: Path) -> None:
    scenario = yaml.safe_load((SCENARIOS / "bari-import-ferry-extra-eu.yaml").read_text())
    scenario["site_file"] = str(SCENARIOS / "sites" / "bari.yaml")
    first = scenario["timeline"][0]["arrive"]
    first["expect"] = {"verdict": "hold", "reasons": ["not_cleared"]}  # R1 is in fact released
    scenario["timeline"] = scenario["timeline"][:1]
    scenario["expect_alerts"] = [{"rule": "seal_tampered"}]
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(scenario))
    result = demo(path, tmp_path)
    assert result.returncode == 1
    assert (
        "[FAIL] R1 at san-vito-ac1/lane-1: RELEASE  <- verdict release, expected hold"
        in result.stdout
    )
    assert "seal_tampered: raised 0, expected 1" in result.stdout


def test_a_malformed_scenario_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nsite_file: nowhere.yaml\n"
        "timeline:\n  - at: 0\n    arrive: {truck: T9, gate: g}\n"
    )
    result = demo(path, tmp_path)
    assert result.returncode != 0
    assert "unknown truck T9" in result.stderr


@pytest.mark.slow
def test_the_default_demo_passes_headless(tmp_path: Path) -> None:
    """What `make demo` shows (Bari's export process, then the Northern Corridor with an
    incident for the console), run to the end."""
    result = subprocess.run(
        [sys.executable, "-m", "corridor", "demo", "--headless", "--workdir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "2 of 2 scenarios held every expectation" in result.stdout
    assert "Operator console: http://127.0.0.1:" in result.stdout
