"""NmeaSerialReceiver on a real pty: a socat pair, NMEA written into the other end."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from gnss_io import collect, log_lines, write_lines
from gnss_regress import decode_log

from drivers.gnss import NmeaSerialReceiver, ReceiverError, RejectReason
from drivers.gnss.sentences import checksum


def signed(body: str) -> bytes:
    return f"${body}*{checksum(body)}\r\n".encode()


async def test_a_logged_receiver_through_a_pty_gives_the_same_fixes(
    pty_pair: tuple[str, str], regress: Path
) -> None:
    receiver_end, our_end = pty_pair
    log = regress / "cat-ms352.log"
    emitted, flushed, _ = decode_log(log)
    expected = emitted + flushed
    async with NmeaSerialReceiver(our_end, 9600, idle_flush_s=0.3) as rx:
        writer = asyncio.create_task(write_lines(receiver_end, log_lines(log)))
        fixes = await collect(rx.fixes(), len(expected))
        await writer
        assert rx.stats.sentences == 80 and sum(rx.stats.rejected.values()) == 0
    assert fixes == expected


async def test_a_quiet_receiver_gets_its_last_cycle_flushed(pty_pair: tuple[str, str]) -> None:
    receiver_end, our_end = pty_pair
    cycle = [
        signed("GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A"),
        signed("GPGGA,123519.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
    ]
    async with NmeaSerialReceiver(our_end, 9600, idle_flush_s=0.2) as rx:
        await write_lines(receiver_end, cycle)
        (fix,) = await collect(rx.fixes(), 1, timeout_s=3)
    assert fix.alt_m == 545.4 and fix.speed_mps == pytest.approx(22.4 * 1852 / 3600)


async def test_noise_on_the_line_is_counted_and_fixes_still_come(
    pty_pair: tuple[str, str], regress: Path
) -> None:
    receiver_end, our_end = pty_pair
    lines = log_lines(regress / "cat-ms352.log")[:20]
    noisy = [
        b"\xb5\x62\x01\x07" + bytes(range(256)) * 20 + b"\r\n",  # a binary packet, ~5 kB
        *lines[:10],
        b"$GPGGA,1139,garbled*00\r\n",
        b"\x00\x00\xff" + lines[10],
        *lines[11:],
    ]
    async with NmeaSerialReceiver(our_end, 9600, idle_flush_s=0.3) as rx:
        writer = asyncio.create_task(write_lines(receiver_end, noisy))
        fixes = await collect(rx.fixes(), 10)
        await writer
        rejected = rx.stats.rejected
    assert len(fixes) == 10 and all(f.has_position for f in fixes)
    assert rejected[RejectReason.GARBAGE] >= 1  # the binary run
    assert rejected[RejectReason.BAD_CHECKSUM] == 1 and rejected[RejectReason.NOISE] >= 1


async def test_a_receiver_that_disappears_raises() -> None:
    master, slave = os.openpty()
    try:
        async with NmeaSerialReceiver(os.ttyname(slave), 9600, idle_flush_s=0.2) as rx:
            os.close(master)  # the USB receiver is unplugged
            master = -1
            with pytest.raises(ReceiverError):
                await collect(rx.fixes(), 1, timeout_s=5)
    finally:
        os.close(slave)
        if master >= 0:
            os.close(master)


async def test_a_port_that_does_not_exist_raises(tmp_path: Path) -> None:
    with pytest.raises(ReceiverError, match="cannot open"):
        async with NmeaSerialReceiver(str(tmp_path / "ttyNONE"), 9600):
            pass
