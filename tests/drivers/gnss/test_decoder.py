"""Merging sentences into fixes, one per reporting cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.gnss import Fix, FixMode, NmeaDecoder, RejectReason
from drivers.gnss.geodesy import distance_m
from drivers.gnss.sentences import checksum


def s(body: str) -> bytes:
    return f"${body}*{checksum(body)}\r\n".encode()


def cycle(
    hhmmss: str,
    *,
    lat: str = "4807.038",
    lon: str = "01131.000",
    date: str = "230394",
    knots: str = "022.4",
    alt: str = "545.4",
    fix_mode: str = "3",
) -> list[bytes]:
    """A u-blox-like cycle: RMC, VTG, GGA, GSA, GSV x2, GST."""
    return [
        s(f"GPRMC,{hhmmss},A,{lat},N,{lon},E,{knots},084.4,{date},003.1,W,A"),
        s(f"GPVTG,084.4,T,,M,{knots},N,041.5,K,A"),
        s(f"GPGGA,{hhmmss},{lat},N,{lon},E,1,08,0.9,{alt},M,46.9,M,,"),
        s(f"GPGSA,A,{fix_mode},04,05,09,12,24,25,29,31,,,,,2.5,1.3,2.1"),
        s("GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45"),
        s("GPGSV,2,2,08,18,55,120,42,22,12,045,33,25,66,266,47,31,33,101,40"),
        s(f"GPGST,{hhmmss},1.2,3.4,2.1,45.0,2.9,1.8,4.4"),
    ]


def feed(decoder: NmeaDecoder, lines: list[bytes]) -> list[Fix]:
    return [fix for line in lines for fix in decoder.feed(line)]


def test_one_fix_per_cycle_with_every_sentence_merged() -> None:
    decoder = NmeaDecoder()
    fixes = feed(decoder, cycle("123519.00") + cycle("123520.00")) + decoder.flush()
    assert [f.time for f in fixes] == [
        datetime(1994, 3, 23, 12, 35, 19, tzinfo=UTC),
        datetime(1994, 3, 23, 12, 35, 20, tzinfo=UTC),
    ]
    fix = fixes[0]
    assert fix.mode == FixMode.THREE_D
    assert fix.lat == pytest.approx(48 + 7.038 / 60) and fix.lon == pytest.approx(11 + 31 / 60)
    assert fix.speed_mps == pytest.approx(22.4 * 1852 / 3600) and not fix.speed_derived
    assert fix.course_deg == 84.4 and fix.alt_m == 545.4 and fix.geoid_separation_m == 46.9
    assert (fix.hdop, fix.pdop, fix.vdop) == (1.3, 2.5, 2.1)  # GSA's DOPs come after GGA's
    assert (fix.satellites_used, fix.satellites_seen) == (8, 8)
    assert (fix.lat_err_m, fix.lon_err_m, fix.alt_err_m) == (2.9, 1.8, 4.4)
    assert (fix.ellipse_major_m, fix.ellipse_minor_m, fix.ellipse_orientation_deg) == (
        3.4,
        2.1,
        45.0,
    )
    assert fix.horizontal_error_m == pytest.approx((2.9**2 + 1.8**2) ** 0.5)


def test_after_two_alike_cycles_a_fix_leaves_with_the_last_sentence_of_its_cycle() -> None:
    decoder = NmeaDecoder()
    feed(decoder, cycle("000001.00") + cycle("000002.00"))
    third = cycle("000003.00")
    assert [f.time.second for f in feed(decoder, third[:-1])] == [2]  # ender not yet known
    emitted = decoder.feed(third[-1])  # the GST that closes every cycle of this receiver
    assert [f.time.second for f in emitted] == [3]
    assert decoder.flush() == []  # already out: never twice


def test_an_odd_short_cycle_does_not_make_the_decoder_emit_early() -> None:
    decoder = NmeaDecoder()
    feed(decoder, cycle("000001.00") + cycle("000002.00"))
    feed(decoder, [s("GPGLL,4807.038,N,01131.000,E,000003.00,A,A")])  # a cycle of one GLL
    fixes = feed(decoder, cycle("000004.00"))
    assert [f.time.second for f in fixes] == [3]  # cycle 4 waits for its real end
    (last,) = decoder.flush()
    assert last.time.second == 4 and last.speed_mps == pytest.approx(22.4 * 1852 / 3600)


def test_without_a_date_there_is_no_fix() -> None:
    decoder = NmeaDecoder()
    lines = [
        s(f"GPGGA,12351{n}.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") for n in range(5)
    ]
    assert feed(decoder, lines) + decoder.flush() == []
    assert decoder.stats.cycles_without_time == 5 and decoder.stats.sentences == 5


def test_speed_is_derived_when_the_cycle_reports_none() -> None:
    decoder = NmeaDecoder()
    lines = [s("GPRMC,100000.00,A,4807.000,N,01131.000,E,,,230394,,,A")]
    for second, lat in ((1, "4807.010"), (2, "4807.020")):
        lines.append(s(f"GPGGA,10000{second}.00,{lat},N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"))
    fixes = feed(decoder, lines) + decoder.flush()
    assert [f.speed_derived for f in fixes] == [False, True, True]
    expected = distance_m(48 + 7.010 / 60, 11 + 31 / 60, 48 + 7.020 / 60, 11 + 31 / 60)
    assert fixes[2].speed_mps == pytest.approx(expected, rel=1e-9)
    assert fixes[0].speed_mps is None  # the first fix has nothing to derive from


def test_gps_week_rollover_is_corrected_above_a_floor() -> None:
    line = s("GPRMC,101500.00,A,4807.038,N,01131.000,E,0.0,0.0,170899,,,A")
    trusting = NmeaDecoder()
    correcting = NmeaDecoder(rollover_floor=datetime(2017, 1, 1, tzinfo=UTC))
    (as_sent,) = feed(trusting, [line]) + trusting.flush()
    (corrected,) = feed(correcting, [line]) + correcting.flush()
    assert as_sent.time == datetime(1999, 8, 17, 10, 15, tzinfo=UTC)
    assert corrected.time == datetime(2019, 4, 2, 10, 15, tzinfo=UTC)  # + 1024 weeks


def test_a_time_past_midnight_moves_the_date_on() -> None:
    decoder = NmeaDecoder()
    lines = [
        s("GPRMC,235959.00,A,4807.038,N,01131.000,E,0.0,0.0,311226,,,A"),
        s("GPGGA,000000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
    ]
    fixes = feed(decoder, lines) + decoder.flush()
    assert [f.time for f in fixes] == [
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC),
    ]


def test_a_2d_fix_and_a_lost_fix() -> None:
    decoder = NmeaDecoder()
    lines = [
        *cycle("120000.00", fix_mode="2", alt=""),  # no altitude: a 2D fix
        s("GPRMC,120001.00,V,,,,,,,230394,,,N"),
        s("GPGGA,120001.00,,,,,0,00,99.99,,,,,,"),
        s("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"),
        *cycle("120002.00"),
    ]
    fixes = feed(decoder, lines) + decoder.flush()
    assert [(f.time.second, f.mode) for f in fixes] == [(0, 2), (1, 1), (2, 3)]
    lost = fixes[1]
    assert lost.lat is None and lost.lon is None and lost.speed_mps is None


def test_garbage_is_counted_and_changes_nothing() -> None:
    decoder = NmeaDecoder()
    feed(decoder, cycle("120000.00") + cycle("120001.00")[:3])
    before = decoder.state
    garbage = [
        b"\xb5\x62\x01\x07\x5c\x00\xff\xfe",
        b"$GPGGA,120001.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*00\r\n",
        b"$GPRMC,120002.00,A,4807.038,N,011",
        b"$GPGSA,A,3,04,05,09,12,24,25,29,31,,,,,2.5,1.3,2.1*3X",
        s("GPGGA,120002.00,4807.038,N,01131.000,E,1,08,0.9"),
        s("GPRMC,120002.00,A,48x7.038,N,01131.000,E,0.0,0.0,230394,,,A"),
        b"$" + b"9" * 200,
        "$GPGGA,ünïcode*00".encode(),
    ]
    assert feed(decoder, garbage) == []
    assert decoder.state == before
    assert decoder.stats.rejected == {
        RejectReason.GARBAGE: 2,
        RejectReason.BAD_CHECKSUM: 2,
        RejectReason.NO_CHECKSUM: 1,
        RejectReason.TRUNCATED: 1,
        RejectReason.BAD_FIELD: 1,
        RejectReason.TOO_LONG: 1,
    }


def test_noise_in_front_of_a_sentence_is_dropped_and_the_sentence_kept() -> None:
    decoder = NmeaDecoder()
    feed(decoder, [b"\x00\x17junk" + line for line in cycle("120000.00")])
    (fix,) = decoder.flush()
    assert fix.speed_mps is not None and fix.satellites_seen == 8
    assert decoder.stats.rejected == {RejectReason.NOISE: 7}


def test_a_log_with_binary_packets_between_sentences(regress: Path) -> None:
    """u-blox/CASIC binary interleaved with NMEA: the NMEA still yields its fixes."""
    decoder = NmeaDecoder()
    fixes = []
    for line in (regress / "quectel-l76k-dual.log").read_bytes().splitlines():
        if not line.startswith(b"#"):
            fixes += decoder.feed(line)
    fixes += decoder.flush()
    assert len(fixes) >= 100
    assert all(f.has_position for f in fixes[5:])
    assert (
        decoder.stats.rejected[RejectReason.GARBAGE] + decoder.stats.rejected[RejectReason.NOISE]
        > 0
    )


def test_an_impossible_zda_date_is_not_taken() -> None:
    decoder = NmeaDecoder()
    lines = [
        s("GNZDA,235959.00,30,02,2026,,"),
        s("GPGGA,000000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
    ]
    assert feed(decoder, lines) + decoder.flush() == []  # no date, no fix, no crash
    assert decoder.stats.cycles_without_time == 2
