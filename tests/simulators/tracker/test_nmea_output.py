"""The simulator's NMEA: valid for an independent parser (pynmea2) and for our decoder."""

from __future__ import annotations

from datetime import UTC, datetime

import pynmea2
import pytest
from tracker_helpers import journey

from drivers.gnss import FixMode, NmeaDecoder
from simulators.tracker import Jitter, plan_track
from simulators.tracker.nmea import cycle


def sentences_of(point_lat: float, point_lon: float, **kwargs: float) -> list[str]:
    values = {"speed_mps": 12.3, "course_deg": 271.5, "alt_m": 17.0, "hdop": 0.9, "sigma_m": 2.5}
    values.update(kwargs)
    return cycle(datetime(2026, 3, 1, 6, 0, 30, 250000, tzinfo=UTC), point_lat, point_lon, **values)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(-4.0435, 39.6478), (47.7, -122.3), (-33.9999999999, -70.0000000001), (0.0, 179.99999999)],
)
def test_every_sentence_is_valid_nmea_with_the_position_it_was_given(
    lat: float, lon: float
) -> None:
    lines = sentences_of(lat, lon)
    assert [line[3:6] for line in lines] == ["RMC", "VTG", "GGA", "GSA", "GST"]
    for line in lines:
        assert line.endswith("\r\n") and len(line) <= 82
        parsed = pynmea2.parse(line.strip(), check=True)  # raises on a bad checksum
        if isinstance(parsed, (pynmea2.types.talker.RMC, pynmea2.types.talker.GGA)):
            assert parsed.latitude == pytest.approx(lat, abs=2e-7)
            assert parsed.longitude == pytest.approx(lon, abs=2e-7)
    rmc = pynmea2.parse(lines[0].strip())
    assert rmc.datestamp.isoformat() == "2026-03-01"
    assert rmc.timestamp.isoformat() == "06:00:30.250000+00:00"
    assert float(rmc.spd_over_grnd) * 1852 / 3600 == pytest.approx(12.3, abs=3e-4)


def test_course_never_reads_360() -> None:
    rmc = pynmea2.parse(sentences_of(1.0, 1.0, course_deg=359.999)[0].strip())
    assert rmc.true_course == 0.0


def test_our_decoder_reads_back_what_the_simulator_planned() -> None:
    plan = plan_track(journey([Jitter(sigma_m=6.0)], interval_s=1.0))
    points = plan.points[:300]
    decoder = NmeaDecoder()
    fixes = []
    for p in points:
        lines = cycle(
            p.device_time(plan.journey), p.lat, p.lon, speed_mps=p.speed_mps,
            course_deg=p.course_deg, alt_m=p.alt_m, hdop=p.hdop, sigma_m=p.sigma_m,
        )  # fmt: skip
        for line in lines:
            fixes += decoder.feed(line)
    fixes += decoder.flush()
    assert sum(decoder.stats.rejected.values()) == 0
    assert [f.time for f in fixes] == [p.device_time(plan.journey) for p in points]
    for fix, p in zip(fixes, points, strict=True):
        assert fix.mode == FixMode.THREE_D
        assert fix.lat == pytest.approx(p.lat, abs=2e-7) and fix.lon == pytest.approx(
            p.lon, abs=2e-7
        )
        assert fix.speed_mps == pytest.approx(p.speed_mps, abs=3e-4)
        assert fix.course_deg == pytest.approx(p.course_deg, abs=0.006)
        assert (fix.hdop, fix.lat_err_m, fix.lon_err_m) == (p.hdop, p.sigma_m, p.sigma_m)
