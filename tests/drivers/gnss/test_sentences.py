"""Framing, checksums and typed decoding of single sentences (captured from real receivers)."""

from __future__ import annotations

import pytest

from drivers.gnss import RejectReason, SentenceRejected
from drivers.gnss import sentences as nmea

# Lines captured from real receivers (gpsd's regression logs).
GGA = (
    b"$GPGGA,113938.50,3842.86006889,N,11705.43645510,W,2,09,1.5,1864.182,M,-44.296,M,1.4,0000"
    b"*45\r\n"
)
RMC = b"$GNRMC,074155.799,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,A*76\r\n"
GSA_41 = b"$GNGSA,A,3,01,02,07,14,15,17,20,22,30,,,,1.5,0.9,1.2,1*3D"
GSV = b"$GPGSV,3,3,11,31,18,305,31,32,06,331,,20,02,354,*42"
GNS = b"$GNGNS,213712.000,4111.59903,N,11156.54809,W,AANN,13,0.93,01482.5,-016.5,,*52"


def test_checksum_is_xor_of_the_body() -> None:
    assert nmea.checksum("GPGSA,A,1,,,,,,,,,,,,,0.0,0.0,0.0") == "30"


def test_a_real_gga_decodes_to_its_values() -> None:
    gga = nmea.decode(nmea.frame(GGA))
    assert isinstance(gga, nmea.GGA)
    assert gga.talker == "GP"
    assert gga.time is not None and (gga.time.hour, gga.time.minute, gga.time.second) == (
        11,
        39,
        38,
    )
    assert gga.time.nanosecond == 500_000_000
    assert gga.position is not None
    lat, lon = gga.position
    assert lat == pytest.approx(38 + 42.86006889 / 60, abs=1e-12)
    assert lon == pytest.approx(-(117 + 5.43645510 / 60), abs=1e-12)
    assert (gga.quality, gga.satellites, gga.hdop) == (2, 9, 1.5)
    assert (gga.altitude_msl_m, gga.geoid_separation_m) == (1864.182, -44.296)
    assert (gga.dgps_age_s, gga.dgps_station) == (1.4, 0)


def test_rmc_carries_date_speed_in_knots_and_course() -> None:
    rmc = nmea.decode(nmea.frame(RMC))
    assert isinstance(rmc, nmea.RMC)
    assert rmc.status == "A" and rmc.date == (15, 2, 25)
    assert (rmc.speed_knots, rmc.course_deg, rmc.faa_mode) == (0.30, 4.94, "A")


def test_nmea_41_gsa_has_a_system_id_after_the_dops() -> None:
    gsa = nmea.decode(nmea.frame(GSA_41))
    assert isinstance(gsa, nmea.GSA)
    assert gsa.satellites_used == (1, 2, 7, 14, 15, 17, 20, 22, 30)
    assert (gsa.pdop, gsa.hdop, gsa.vdop) == (1.5, 0.9, 1.2)


def test_gsv_last_part_with_empty_trailing_slots() -> None:
    gsv = nmea.decode(nmea.frame(GSV))
    assert isinstance(gsv, nmea.GSV)
    assert (gsv.parts, gsv.part, gsv.in_view) == (3, 3, 11)
    assert [s.prn for s in gsv.satellites] == [31, 32, 20]
    assert gsv.satellites[1].snr_dbhz is None


def test_gns_and_any_talker() -> None:
    gns = nmea.decode(nmea.frame(GNS))
    assert isinstance(gns, nmea.GNS)
    assert gns.modes == "AANN" and gns.satellites == 13 and gns.altitude_msl_m == 1482.5


def test_gst_gives_the_error_ellipse() -> None:
    line = "GPGST,172814.0,0.006,0.023,0.020,273.6,0.023,0.020,0.031"
    gst = nmea.decode(nmea.frame(f"${line}*{nmea.checksum(line)}"))
    assert isinstance(gst, nmea.GST)
    assert (gst.major_m, gst.minor_m, gst.orientation_deg) == (0.023, 0.020, 273.6)
    assert (gst.lat_err_m, gst.lon_err_m, gst.alt_err_m) == (0.023, 0.020, 0.031)


def test_unsupported_and_proprietary_sentences_frame_but_do_not_decode() -> None:
    sentence = nmea.frame(b"$PSRFEPE,074155.799,A,1.3,10.59,52.97,0.6,180.0*16")
    assert sentence.kind == "PSRFEPE" and sentence.talker == ""
    assert nmea.decode(sentence) is None


def _reason(line: bytes | str) -> RejectReason:
    with pytest.raises(SentenceRejected) as caught:
        nmea.decode(nmea.frame(line))
    return caught.value.reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", RejectReason.GARBAGE),
        (b"GPGGA,1,2,3*00", RejectReason.GARBAGE),
        (b"\x00\xb5\x62\x01\x07", RejectReason.GARBAGE),
        (b"$GPGGA,113938.50,38\x0042.8*45", RejectReason.GARBAGE),
        ("$GPGGA,113938.50,3842.8,N,é*45", RejectReason.GARBAGE),
        (b"$" + b"A" * 120 + b"*00", RejectReason.TOO_LONG),
        (b"$GPGGA,113938.50,3842.86006889,N,11705.43", RejectReason.NO_CHECKSUM),
        (GGA.replace(b"*45", b"*46"), RejectReason.BAD_CHECKSUM),
        (GGA.replace(b"*45", b"*4"), RejectReason.BAD_CHECKSUM),
        (GGA.replace(b"*45", b"*ZZ"), RejectReason.BAD_CHECKSUM),
        (GGA.replace(b"2,09,1.5", b"2,09,1.6"), RejectReason.BAD_CHECKSUM),
    ],
)
def test_bad_lines_are_rejected_with_a_reason(line: bytes | str, reason: RejectReason) -> None:
    assert _reason(line) == reason


def _signed(body: str) -> str:
    return f"${body}*{nmea.checksum(body)}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("GPGGA,113938.50,3842.8,N", RejectReason.TRUNCATED),
        ("GPRMC,074155.799,A,3114.8770", RejectReason.TRUNCATED),
        (
            "GPGGA,1139x8.50,3842.86,N,11705.43,W,1,09,1.5,1864.2,M,-44.3,M,,",
            RejectReason.BAD_FIELD,
        ),
        (
            "GPGGA,253938.50,3842.86,N,11705.43,W,1,09,1.5,1864.2,M,-44.3,M,,",
            RejectReason.BAD_FIELD,
        ),
        (
            "GPGGA,113938.50,3872.86,N,11705.43,W,1,09,1.5,1864.2,M,-44.3,M,,",
            RejectReason.BAD_FIELD,
        ),
        (
            "GPGGA,113938.50,9142.86,N,11705.43,W,1,09,1.5,1864.2,M,-44.3,M,,",
            RejectReason.BAD_FIELD,
        ),
        (
            "GPGGA,113938.50,3842.86,X,11705.43,W,1,09,1.5,1864.2,M,-44.3,M,,",
            RejectReason.BAD_FIELD,
        ),
        ("GPGGA,113938.50,3842.86,N,11705.43,W,1,09,1.5,inf,M,-44.3,M,,", RejectReason.BAD_FIELD),
        ("GPRMC,074155.799,A,3114.87,N,12135.24,E,0.30,4.94,321325,,,A", RejectReason.BAD_FIELD),
        ("GPRMC,074155.799,A,3114.87,N,12135.24,E,0.30,4.94,300226,,,A", RejectReason.BAD_FIELD),
        ("GPGSV,3,4,11,31,18,305,31", RejectReason.BAD_FIELD),
    ],
)
def test_checksum_valid_but_malformed_is_rejected(body: str, reason: RejectReason) -> None:
    assert _reason(_signed(body)) == reason


def test_noise_before_a_sentence_is_split_off() -> None:
    junk, rest = nmea.split_noise(
        b"\xb5b\x01$GPGGA,030130$GPGLL,2638.1728,N,08011.3893,W,030131.000,A,A*41"
    )
    assert rest.startswith(b"$GPGLL") and junk.startswith("\\xb5b")
    assert isinstance(nmea.decode(nmea.frame(rest)), nmea.GLL)
