"""Vincenty's inverse formula, checked against published geodesic distances."""

from __future__ import annotations

import pytest

from drivers.gnss.geodesy import distance_m


def dms(degrees: int, minutes: int, seconds: float) -> float:
    sign = -1 if degrees < 0 else 1
    return sign * (abs(degrees) + minutes / 60 + seconds / 3600)


def test_vincentys_own_example_flinders_peak_to_buninyong() -> None:
    """Vincenty (1975) / Geoscience Australia: 54 972.271 m on GRS80 (= WGS84 to 0.1 mm)."""
    flinders = dms(-37, 57, 3.72030), dms(144, 25, 29.52440)
    buninyong = dms(-37, 39, 10.15610), dms(143, 55, 35.38390)
    assert distance_m(*flinders, *buninyong) == pytest.approx(54972.271, abs=0.001)


def test_one_degree_of_latitude_at_the_equator() -> None:
    # meridian arc from 0 to 1 degree on WGS84: 110 574.389 m (e.g. NGA / geographiclib)
    assert distance_m(0.0, 30.0, 1.0, 30.0) == pytest.approx(110574.389, abs=0.01)


def test_the_same_point_and_the_equator() -> None:
    assert distance_m(-4.05, 39.66, -4.05, 39.66) == 0.0
    # along the equator the formula's cos^2(alpha) is 0; 1 degree of longitude = a * pi / 180
    assert distance_m(0.0, 10.0, 0.0, 11.0) == pytest.approx(6378137.0 * 3.141592653589793 / 180)
