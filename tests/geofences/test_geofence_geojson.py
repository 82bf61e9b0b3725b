"""Loading fences: what is accepted, and a clear GeofenceError for what is not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from shapely.geometry import box, mapping

from geofences import FenceSet, GeofenceError, InvalidGeoJSON, InvalidQuery, UnknownFence

SQUARE = [[[16.0, 41.0], [16.1, 41.0], [16.1, 41.1], [16.0, 41.1], [16.0, 41.0]]]
SQUARE_GEOMETRY = {"type": "Polygon", "coordinates": SQUARE}


def feature(geometry: Any, properties: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry, **extra}


def fc(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def polygon(ring: list[Any], properties: Any = None, **extra: Any) -> dict[str, Any]:
    return fc(feature({"type": "Polygon", "coordinates": [ring]}, properties, **extra))


def road(line: list[Any], properties: Any = None) -> dict[str, Any]:
    return fc(feature({"type": "LineString", "coordinates": line}, properties))


A, B, C = [16, 41], [16.1, 41], [16.1, 41.1]
ROAD = [A, B]


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        ([], "FeatureCollection"),
        ({"type": "Feature"}, "FeatureCollection"),
        ({"type": "FeatureCollection"}, "features"),
        (fc("nope"), "feature 0"),
        (fc(feature(None)), "has no geometry"),
        (fc(feature({"type": "Point", "coordinates": A})), "not a fence"),
        (fc(feature({"type": "Polygon", "coordinates": "x"})), "coordinates"),
        (polygon([A, B, A]), "needs >= 4"),
        (polygon([A, B, C, [16, 41.1]]), "not closed"),
        (polygon([A, [16.1, "41"], C, A]), "not a number"),
        (polygon([A, [16.1, True], C, A]), "not a number"),
        (polygon([A, [16.1, 41, 0, 0], C, A]), "lon, lat"),
        (polygon([A, [196, 41], C, A]), "WGS84"),
        (polygon([A, [16.1, float("nan")], C, A]), "finite"),
        (polygon([A, B, C, A], {"kind": "corridor"}), "needs a LineString"),
        (polygon([A, B, C, A], {"kind": "castle"}), "is not one of"),
        (polygon([A, B, C, A], {"id": [1]}), "id must be"),
        (polygon([A, B, C, A], properties=[1]), "properties"),
        (
            fc(feature(SQUARE_GEOMETRY, id="a"), feature(SQUARE_GEOMETRY, {"id": "a"})),
            "share the id",
        ),
        (road(ROAD), "buffer_m"),
        (road(ROAD, {"buffer_m": -5}), "buffer_m must be"),
        (road(ROAD, {"buffer_m": 1e6}), "buffer_m must be"),
        (road([A], {"buffer_m": 50}), "at least 2"),
        (road([[16, 88], [16.1, 88]], {"buffer_m": 50}), "equator"),
        (road(ROAD, {"buffer_m": 50, "kind": "node"}), "kind 'corridor'"),
    ],
)
def test_invalid_geojson_is_refused_with_a_clear_error(collection: Any, message: str) -> None:
    with pytest.raises(InvalidGeoJSON, match=message) as caught:
        FenceSet.from_geojson(collection)
    assert isinstance(caught.value, GeofenceError)


def test_accepted_forms_ids_kinds_and_properties() -> None:
    with_height = [[16, 41, 5], [16.1, 41, 5], [16.1, 41.1, 5], [16, 41]]
    fences = FenceSet.from_geojson(
        fc(
            feature(mapping(box(16.0, 41.0, 16.1, 41.1))),  # tuples, as shapely writes them
            feature(
                {"type": "Polygon", "coordinates": [with_height]},
                {"kind": "node", "name": "gate"},
                id=7,
            ),
            feature(
                {"type": "MultiPolygon", "coordinates": [SQUARE]},
                {"id": "yard", "kind": "stop_zone"},
            ),
            feature({"type": "LineString", "coordinates": ROAD}, {"buffer_m": np.float64(30)}),
        )
    )
    assert fences.ids == ("#0", "7", "yard", "#3")
    assert fences.kinds == ("geofence", "node", "stop_zone", "corridor")
    assert fences.properties[1]["name"] == "gate"
    with pytest.raises(TypeError):
        fences.properties[1]["name"] = "changed"  # type: ignore[index]
    assert fences.index("yard") == 2 and fences.index(3) == 3 and fences.index("7") == 1
    assert fences.buffer_m("#3") == 30.0
    with pytest.raises(UnknownFence, match="no fence with id 'nope'"):
        fences.index("nope")
    with pytest.raises(UnknownFence, match="no fence at index 9"):
        fences.index(9)


def test_bad_query_arrays_are_refused_and_change_nothing() -> None:
    fences = FenceSet.from_geojson(fc(feature({"type": "Polygon", "coordinates": SQUARE})))
    before = fences.contains([16.05], [41.05])
    for lon, lat in (([16.0, 16.1], [41.0]), ([[16.0]], [[41.0]]), (["a"], ["b"]), ([1.0], None)):
        with pytest.raises(InvalidQuery):
            fences.contains(lon, lat)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuery):
        fences.crosses([16.0], [41.0], [16.0, 16.1], [41.0, 41.0])
    assert (fences.contains([16.05], [41.05]) == before).all()
    assert fences.contains(16.05, 41.05).tolist() == [[True]]  # a scalar is one point
