"""Planned journeys: routes, speed profiles and each injectable fault."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from tracker_helpers import ROUTES, START, geodesic_m, journey, off_route_m, route

from simulators.tracker import (
    FAULTS,
    Deviation,
    Jitter,
    Journey,
    LateBurst,
    LongStop,
    RouteError,
    Silence,
    SpeedProfile,
    load_route,
    plan_track,
    route_from_geojson,
)


def test_the_corridor_feature_is_chosen_and_measured() -> None:
    r = route()
    assert r.name == "mombasa-voi" and len(r.vertices) == 18
    by_vertices = sum(
        geodesic_m(la1, lo1, la2, lo2)
        for (lo1, la1), (lo2, la2) in zip(r.vertices, r.vertices[1:], strict=False)
    )
    assert r.length_m == pytest.approx(by_vertices, rel=0.005)  # sphere vs ellipsoid
    assert load_route(ROUTES / "mombasa_voi.geojson", "kipevu-spur").name == "kipevu-spur"
    lat, lon, _ = r.locate(r.length_m + 1000)
    assert (lon, lat) == r.vertices[-1]


def test_roads_are_joined_into_one_route_by_name_or_id() -> None:
    spur = load_route(ROUTES / "mombasa_voi.geojson", "kipevu-spur")
    both = load_route(ROUTES / "mombasa_voi.geojson", "kipevu-spur+kipevu-yard")
    assert both.name == "kipevu-spur+kipevu-yard" and len(both.vertices) == 3
    assert both.length_m == pytest.approx(
        spur.length_m + geodesic_m(-4.0510, 39.6380, -4.0555, 39.6350), rel=0.005
    )
    by_name = load_route(ROUTES / "mombasa_voi.geojson", "Kipevu container yard road")
    assert by_name.vertices == both.vertices[1:]
    with pytest.raises(RouteError, match="does not start where"):
        load_route(ROUTES / "mombasa_voi.geojson", "kipevu-yard+mombasa-voi")
    with pytest.raises(RouteError, match="no LineString named"):
        load_route(ROUTES / "mombasa_voi.geojson", "kipevu-spur+nowhere")


SITES = Path(__file__).resolve().parents[3] / "geofences" / "sites"


@pytest.mark.skipif(
    not (SITES / "northern-corridor.geojson").exists(), reason="site data not in this checkout"
)
def test_the_northern_corridor_site_file_drives_a_whole_journey() -> None:
    corridor = load_route(SITES / "northern-corridor.geojson")
    assert corridor.length_m > 800_000  # Mombasa to Malaba
    trip = Journey("truck-1", corridor, SpeedProfile.constant_kmh(60.0), START, interval_s=60.0)
    plan = plan_track(trip)
    assert plan.arrival_s == pytest.approx(corridor.length_m / (60 / 3.6), abs=1.0)
    assert max(off_route_m(corridor, p.lat, p.lon) for p in plan.points[::10]) < 1.0


@pytest.mark.parametrize(
    "document",
    [
        {"type": "FeatureCollection", "features": []},
        {"type": "Point", "coordinates": [39.6, -4.0]},
        {"type": "LineString", "coordinates": [[39.6, -4.0]]},
        {"type": "LineString", "coordinates": [[39.6, -4.0], [39.6, -4.0]]},
        {"type": "LineString", "coordinates": [[39.6, -4.0], [239.6, -4.0]]},
        [1, 2, 3],
    ],
)
def test_route_documents_without_a_usable_line_are_refused(document: object) -> None:
    with pytest.raises(RouteError):
        route_from_geojson(document)


def test_a_route_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.geojson").write_text("{not json")
    with pytest.raises(RouteError, match="cannot read"):
        load_route(tmp_path / "bad.geojson")


def test_a_clean_journey_stays_on_the_road_at_the_profile_speed() -> None:
    j = journey(kmh=72.0)  # 20 m/s
    plan = plan_track(j)
    r = j.route
    assert plan.arrival_s == pytest.approx(r.length_m / 20.0, abs=1.0)
    moving = [p for p in plan.points if not p.stopped]
    assert all(p.speed_mps == 20.0 for p in moving)
    assert max(off_route_m(r, p.lat, p.lon) for p in plan.points) < 1.0
    assert [p.device_s for p in plan.points[:4]] == [0.0, 30.0, 60.0, 90.0]
    assert all(p.send_s == p.device_s for p in plan.points)
    first = plan.points[0]
    assert (first.lon, first.lat) == r.vertices[0]
    assert plan.points[-1].stopped and plan.points[-1].distance_m == r.length_m


def test_a_speed_profile_by_distance() -> None:
    profile = SpeedProfile.parse("0:30,5:80,140:40")
    assert profile.speed_at(0) == pytest.approx(30 / 3.6)
    assert profile.speed_at(70_000) == pytest.approx(80 / 3.6)
    assert profile.speed_at(141_000) == pytest.approx(40 / 3.6)
    with pytest.raises(ValueError):
        SpeedProfile.parse("5:80")  # must start at 0


def test_the_same_seed_gives_the_same_journey_to_the_bit() -> None:
    faults = [Jitter(sigma_m=8.0, outlier_probability=0.05, outlier_m=300.0)]
    assert plan_track(journey(faults, seed=3)).points == plan_track(journey(faults, seed=3)).points
    assert plan_track(journey(faults, seed=3)).points != plan_track(journey(faults, seed=4)).points


def test_a_deviation_leaves_the_corridor_by_the_given_distance_and_comes_back() -> None:
    fault = Deviation(at_s=3600, duration_s=2400, offset_m=800.0, ramp_s=300)
    plan = plan_track(journey([fault]))
    r = plan.journey.route
    inside = [p for p in plan.points if fault.active(p.device_s)]
    held = [p for p in inside if fault.at_s + 300 <= p.device_s <= fault.end_s - 300]
    outside = [p for p in plan.points if not fault.active(p.device_s)]
    assert max(off_route_m(r, p.lat, p.lon) for p in outside) < 1.0
    assert all(off_route_m(r, p.lat, p.lon) == pytest.approx(800.0, abs=25.0) for p in held)
    assert all(p.offset_m == 800.0 for p in held)


def test_a_long_stop_holds_the_unit_still_and_delays_arrival() -> None:
    stop = LongStop(at_s=1800, duration_s=5400)
    clean, stopped = plan_track(journey()), plan_track(journey([stop]))
    during = [p for p in stopped.points if stop.active(p.device_s)]
    assert len(during) == 5400 / 30
    assert {(p.lat, p.lon) for p in during} == {(during[0].lat, during[0].lon)}
    assert all(p.speed_mps == 0.0 and p.stopped for p in during)
    assert stopped.arrival_s == pytest.approx(clean.arrival_s + 5400, abs=1.0)


def test_a_silence_loses_the_fixes_of_its_window() -> None:
    silence = Silence(at_s=1200, duration_s=1800)
    plan = plan_track(journey([silence]))
    assert not any(silence.active(p.device_s) for p in plan.points)
    assert len(plan.dropped) == 1800 / 30
    assert all(silence.active(p.device_s) for p in plan.dropped)


def test_jitter_has_the_given_sigma_and_outliers() -> None:
    jitter = Jitter(sigma_m=10.0, outlier_probability=0.02, outlier_m=500.0)
    noisy = plan_track(journey([jitter], interval_s=1.0)).points
    clean = {p.seq: p for p in plan_track(journey(interval_s=1.0)).points}
    errors = [geodesic_m(p.lat, p.lon, clean[p.seq].lat, clean[p.seq].lon) for p in noisy]
    ordinary = [e for e in errors if e < 100]
    outliers = [e for e in errors if e > 400]
    # the horizontal error of a 2-D Gaussian is Rayleigh: mean = sigma * sqrt(pi / 2)
    assert statistics.fmean(ordinary) == pytest.approx(10.0 * 1.2533, rel=0.05)
    assert len(outliers) / len(errors) == pytest.approx(0.02, abs=0.005)
    assert all(p.sigma_m == 10.0 and p.hdop == 3.6 for p in noisy)


def test_a_late_burst_sends_held_fixes_at_once_out_of_order_with_their_own_times() -> None:
    burst = LateBurst(at_s=3000, duration_s=1500)
    plan = plan_track(journey([burst]))
    held = [p for p in plan.points if burst.active(p.device_s)]
    assert len(held) == 1500 / 30
    assert {p.send_s for p in held} == {burst.end_s}
    device_order = [p.device_s for p in held]
    assert device_order != sorted(device_order)  # shuffled...
    assert sorted(device_order) == [3000.0 + 30 * n for n in range(50)]  # ...none lost
    sends = [p.send_s for p in plan.points]
    assert sends == sorted(sends)
    first_held = plan.points.index(held[0])
    assert plan.points[first_held - 1].device_s == 2970.0  # the last fix sent before it
    assert plan.points[first_held + 50].device_s == 4500.0  # the live fix after the backlog


def test_faults_load_from_scenario_data() -> None:
    text = json.dumps(
        [
            {"kind": "deviation", "at_s": 7200, "duration_s": 2400, "offset_m": 800},
            {"kind": "long_stop", "at_s": 7800, "duration_s": 1200},
            {"kind": "silence", "at_s": 20000, "duration_s": 3600},
            {"kind": "jitter", "sigma_m": 5, "outlier_probability": 0.01, "outlier_m": 200},
            {"kind": "late_burst", "at_s": 30000, "duration_s": 1800},
        ]
    )
    faults = FAULTS.validate_json(text)
    assert [type(f).__name__ for f in faults] == [
        "Deviation", "LongStop", "Silence", "Jitter", "LateBurst",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        FAULTS.validate_json('[{"kind": "deviation", "at_s": 1, "duration_s": 0, "offset_m": 5}]')
