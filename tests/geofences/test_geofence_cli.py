"""`corridor geofences`: check, locate, warm."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corridor.cli import cli


def test_check_a_site_and_a_bad_file(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["geofences", "check", "bari"])
    assert done.exit_code == 0, done.output
    assert "node: 8" in done.output and "controlled_area: 1 (port-of-bari)" in done.output
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}
        )
    )
    done = runner.invoke(cli, ["geofences", "check", str(bad)])
    assert done.exit_code == 1 and "has no geometry" in done.output
    done = runner.invoke(cli, ["geofences", "check", str(tmp_path / "missing.geojson")])
    assert done.exit_code == 1 and "missing.geojson" in done.output


def test_locate_a_point_south_of_the_equator() -> None:
    done = CliRunner().invoke(
        cli, ["geofences", "locate", "northern-corridor", "39.4885", "-3.8770"]
    )
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert answer["inside"] == ["northern-corridor", "mariakani-weighbridge"]
    assert answer["nearest_corridor"]["id"] == "northern-corridor"
    assert answer["nearest_corridor"]["distance_m"] < 1000


def test_warm() -> None:
    done = CliRunner().invoke(cli, ["geofences", "warm"])
    assert done.exit_code == 0 and "geofence kernels ready" in done.output
