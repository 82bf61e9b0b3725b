"""`corridor gnss decode`: one JSON object per fix, a rejection summary on stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from gnss_io import log_lines, write_lines

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


def test_decode_moves_rollover_dates_forward_on_request(tmp_path: Path) -> None:
    log = str(write_log(tmp_path / "a.nmea"))
    result = CliRunner().invoke(
        cli, ["gnss", "decode", log, "--json", "--rollover-floor", "2017-01-01"]
    )
    first = json.loads(result.stdout.splitlines()[0])
    # two rollovers (1999, 2019) behind: 2 x 1024 weeks forward
    moved = datetime(1994, 3, 23, 12, 35, 19, tzinfo=UTC) + timedelta(weeks=2048)
    assert first["time"] == moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def run_cli(*args: str, timeout_s: float = 20) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from corridor.cli import main; main()", "gnss", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_read_a_receiver_from_the_command_line(
    pty_pair: tuple[str, str], regress: Path
) -> None:
    receiver_end, our_end = pty_pair
    lines = log_lines(regress / "cat-ms352.log")
    reading = asyncio.create_task(run_cli("read", "--port", our_end, "--count", "3", "--json"))
    await asyncio.sleep(1.0)  # let the command open the port before the receiver talks
    await write_lines(receiver_end, lines[:20], pause_s=0.01)
    code, out, err = await reading
    assert code == 0, err
    assert [json.loads(line)["time"][11:23] for line in out.splitlines()] == [
        "11:39:38.500", "11:39:39.000", "11:39:39.500",
    ]  # fmt: skip
    assert "3 fixes" in err


async def test_the_gpsd_command_reads_a_running_gpsd(
    pty_pair: tuple[str, str], gpsd: Callable[[str], int], regress: Path
) -> None:
    receiver_end, gpsd_end = pty_pair
    port = gpsd(gpsd_end)
    watching = asyncio.create_task(run_cli("gpsd", "--port", str(port), "--count", "2"))
    await asyncio.sleep(1.0)
    await write_lines(receiver_end, log_lines(regress / "cat-ms352.log")[:30], pause_s=0.01)
    code, out, err = await watching
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.startswith("time (UTC)") and len(rows) == 2
    assert all(row.startswith("2022-11-23T11:39:") and "38.714334" in row for row in rows)


def test_a_missing_port_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["gnss", "read", "--port", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "cannot open GNSS receiver" in result.output
