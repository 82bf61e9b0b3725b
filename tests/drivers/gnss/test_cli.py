"""`corridor gnss decode`: one JSON object per fix, a rejection summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corridor.cli import cli
from drivers.gnss.sentences import checksum

KEYS = {"time", "lat", "lon", "speed_mps", "course_deg", "mode", "hdop"}


def write_log(path: Path) -> Path:
    bodies = [
        "GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A",
        "GPGGA,123519.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        "GPRMC,123520.00,V,,,,,,,230394,,,N",
        "GPGGA,123520.00,,,,,0,00,,,,,,,",
    ]
    lines = [f"${b}*{checksum(b)}" for b in bodies]
    lines.insert(1, "$GPGGA,123519.00,4807.038,N*00")  # bad checksum
    lines.insert(2, "\x00\x01binary")
    path.write_text("# a comment line\n" + "\n".join(lines) + "\n")
    return path


def test_decode_json_prints_one_object_per_fix_with_the_fixed_keys(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["gnss", "decode", str(write_log(tmp_path / "a.nmea")), "--json"]
    )
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 2 and all(set(o) >= KEYS for o in objects)
    first, second = objects
    assert first["time"] == "1994-03-23T12:35:19.000Z" and first["mode"] == 3
    assert first["hdop"] == 0.9 and round(first["speed_mps"], 3) == 11.524
    assert second == {**second, "mode": 1, "lat": None, "lon": None, "hdop": None}
    assert "rejected 2: bad_checksum=1, garbage=1" in result.stderr
    assert "1 comment lines skipped" in result.stderr


def test_decode_table_is_readable(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["gnss", "decode", str(write_log(tmp_path / "a.nmea"))])
    assert result.exit_code == 0
    header, first, second = result.stdout.splitlines()
    assert header.split()[:4] == ["time", "(UTC)", "lat", "lon"]
    assert first.startswith("1994-03-23T12:35:19.000Z") and "48.1173000" in first
    assert second.split()[-3:] == ["1", "-", "-"]
