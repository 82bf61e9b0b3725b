"""GpsdClient against a real gpsd (Debian's), reading NMEA from a pty."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gnss_io import collect, log_lines, write_lines
from gnss_regress import decode_log

from corridor.broker import free_port
from drivers.gnss import FixMode, GpsdClient, GpsdError, tpv_to_fix


async def test_gpsd_fixes_agree_with_our_own_decoding(
    pty_pair: tuple[str, str], gpsd: Callable[[str], int], regress: Path
) -> None:
    receiver_end, gpsd_end = pty_pair
    port = gpsd(gpsd_end)
    log = regress / "cat-ms352.log"
    emitted, flushed, _ = decode_log(log)
    ours = {f.time: f for f in emitted + flushed}
    async with GpsdClient("127.0.0.1", port, idle_flush_s=0.3) as client:
        assert client.version["class"] == "VERSION"
        writer = asyncio.create_task(write_lines(receiver_end, log_lines(log), pause_s=0.005))
        fixes = await collect(client.fixes(), len(ours) - 2, timeout_s=20)
        await writer
    assert client.stats.reports["TPV"] >= len(fixes)
    # gpsd needs a sentence or two to recognise NMEA; after that every cycle is there
    assert len(fixes) >= len(ours) - 2
    for fix in fixes:
        mine = ours[fix.time]
        assert fix.mode == mine.mode == FixMode.THREE_D
        assert fix.lat is not None and mine.lat is not None
        assert math.isclose(fix.lat, mine.lat, abs_tol=1e-6)
        assert fix.lon is not None and mine.lon is not None
        assert math.isclose(fix.lon, mine.lon, abs_tol=1e-6)
        assert fix.speed_mps is not None and mine.speed_mps is not None
        assert math.isclose(fix.speed_mps, mine.speed_mps, abs_tol=0.0006)
        assert fix.alt_m == pytest.approx(mine.alt_m, abs=1e-3)


async def test_nothing_listening_raises() -> None:
    port = free_port()  # a port nobody listens on
    with pytest.raises(GpsdError, match="cannot reach gpsd"):
        async with GpsdClient("127.0.0.1", port, connect_timeout_s=2):
            pass


async def test_a_server_that_is_not_gpsd_raises() -> None:
    async def speak_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(speak_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(GpsdError, match="is not gpsd"):
            async with GpsdClient("127.0.0.1", port, connect_timeout_s=2):
                pass
    finally:
        server.close()
        await server.wait_closed()


async def test_garbled_reports_are_counted_and_a_closed_connection_raises() -> None:
    async def odd_gpsd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'{"class":"VERSION","release":"3.22"}\n')
        await reader.readline()  # the WATCH command
        writer.write(b"not json\n")
        writer.write(
            b'{"class":"TPV","mode":3,"time":"2026-01-01T00:00:01.000Z","lat":95,"lon":39.66}\n'
        )
        writer.write(b'{"class":"TPV","mode":1}\n')
        writer.write(
            b'{"class":"TPV","mode":3,"time":"2026-01-01T00:00:02.000Z",'
            b'"lat":-4.05,"lon":39.66,"speed":12.5,"track":359.99}\n'
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(odd_gpsd, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    got = []
    try:
        async with GpsdClient("127.0.0.1", port) as client:
            with pytest.raises(GpsdError, match="closed"):
                async for fix in client.fixes():
                    got.append(fix)
    finally:
        server.close()
        await server.wait_closed()
    assert [(f.time.second, f.lat, f.speed_mps) for f in got] == [(2, -4.05, 12.5)]
    assert client.stats.bad_lines == 2 and client.stats.tpv_without_time == 1


def test_a_tpv_with_sky_and_gst_becomes_a_fix() -> None:
    tpv = {
        "class": "TPV", "mode": 3, "time": "2026-03-01T06:00:00.500Z", "lat": -4.05,
        "lon": 39.66, "altMSL": 12.0, "geoidSep": -19.3, "speed": 10.0, "track": 360.0,
    }  # fmt: skip
    sky = {"class": "SKY", "hdop": 0.8, "vdop": 1.1, "pdop": 1.4, "nSat": 14, "uSat": 9}
    gst = {"class": "GST", "time": "2026-03-01T06:00:00.500Z", "lat": 1.5, "lon": 1.2, "alt": 3.0}
    fix = tpv_to_fix(tpv, sky=sky, gst=gst)
    assert fix.time == datetime(2026, 3, 1, 6, 0, 0, 500000, tzinfo=UTC)
    assert (fix.course_deg, fix.alt_m, fix.hdop, fix.satellites_used) == (0.0, 12.0, 0.8, 9)
    assert (fix.lat_err_m, fix.lon_err_m, fix.alt_err_m) == (1.5, 1.2, 3.0)
    no_fix = tpv_to_fix({"class": "TPV", "mode": 1, "time": "2026-03-01T06:00:01Z", "lat": 1.0})
    assert no_fix.mode == FixMode.NO_FIX and no_fix.lat is None
