"""The site data shipped in the package."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from geofences import FenceSet, GeofenceError, sites
from geofences.sites import build

BARI_NODES = {
    "vittoria", "marisabella", "marisabella-parking", "san-vito-ac1", "san-vito-ac3",
    "levante", "ridosso", "ponente",
}  # fmt: skip


def centre(fences: FenceSet, fence_id: str) -> tuple[float, float]:
    f = fences.index(fence_id)
    p = fences.packed
    v0, v1 = p.vert_first[f], p.vert_first[f + 1]
    return float(p.xs[v0 : v1 - 1].mean()), float(p.ys[v0 : v1 - 1].mean())


def test_sites_ship_as_package_data_under_1_mb() -> None:
    assert sites.names() == ["bari", "northern-corridor"]
    for name in sites.names():
        path = resources.files(sites).joinpath(f"{name}.geojson")
        assert len(path.read_bytes()) < 1_000_000
        assert sites.load(name)["type"] == "FeatureCollection"
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "*.geojson" in pyproject["tool"]["setuptools"]["package-data"]["*"]
    with pytest.raises(GeofenceError, match="no site 'atlantis'"):
        sites.load("atlantis")


def test_the_files_are_what_the_build_makes() -> None:
    assert sites.load("bari") == _round_trip(build.bari())
    assert sites.load("northern-corridor") == _round_trip(build.northern_corridor())


def _round_trip(collection: dict[str, object]) -> object:
    import json

    return json.loads(json.dumps(collection))


def test_port_of_bari_nodes_roads_and_controlled_area() -> None:
    port = FenceSet.from_geojson(sites.load("bari"))
    kinds = dict(zip(port.ids, port.kinds, strict=True))
    assert {i for i, k in kinds.items() if k == "node"} == BARI_NODES
    assert kinds["port-of-bari"] == "controlled_area"
    centres = np.array([centre(port, n) for n in sorted(BARI_NODES)])
    inside = port.contains(centres[:, 0], centres[:, 1])
    assert inside[port.index("port-of-bari")].all()
    for n, node in enumerate(sorted(BARI_NODES)):
        assert inside[port.index(node), n]
    for f in port.corridors:
        start, end = port.properties[f]["start"], port.properties[f]["end"]
        ends = np.array([centre(port, start), centre(port, end)])
        measured = port.measure(f, ends[:, 0], ends[:, 1])
        assert measured.distance_m.max() < 1.0
        assert measured.chainage_m[0] == pytest.approx(0.0, abs=1.0)
        assert measured.remaining_m[1] == pytest.approx(0.0, abs=1.0)


def test_northern_corridor_follows_the_towns_and_holds_the_stop_zones() -> None:
    kenya = FenceSet.from_geojson(sites.load("northern-corridor"))
    length_km = kenya.length_m("northern-corridor") / 1000
    assert 800 < length_km < 1000  # Mombasa to Malaba by road is about 930 km
    towns = np.array([p for _, p in build.NORTHERN_CORRIDOR])
    measured = kenya.measure("northern-corridor", towns[:, 0], towns[:, 1])
    assert measured.distance_m.max() < 1.0
    assert (np.diff(measured.chainage_m) > 0).all()  # in order, Mombasa first
    stops = [i for i, k in zip(kenya.ids, kenya.kinds, strict=True) if k == "stop_zone"]
    assert {
        "mariakani-weighbridge",
        "athi-river-weighbridge",
        "gilgil-weighbridge",
        "webuye-weighbridge",
    } <= set(stops)
    for stop in stops:
        x, y = centre(kenya, stop)
        assert kenya.contains([x], [y])[kenya.index("northern-corridor"), 0], stop
    start, end = towns[0], towns[-1]
    got = kenya.contains(np.array([start[0], end[0]]), np.array([start[1], end[1]]))
    assert got[kenya.index("mombasa-port"), 0] and got[kenya.index("malaba-border-post"), 1]
