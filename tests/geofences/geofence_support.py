"""Helpers for the geofences tests: GeoJSON from shapely geometries, reference answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping


def collection(*geometries: Any, buffers: dict[int, float] | None = None) -> dict[str, Any]:
    """A FeatureCollection of the geometries, in order; LineStrings get buffer_m from `buffers`."""
    features = []
    for i, geometry in enumerate(geometries):
        properties: dict[str, Any] = {}
        if buffers and i in buffers:
            properties["buffer_m"] = buffers[i]
        features.append(
            {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}
        )
    return {"type": "FeatureCollection", "features": features}


def polygonal(geometry: Any) -> Any:
    """The polygonal part of a geometry (make_valid may add lines and points), or None."""
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return (
        merged if not merged.is_empty and merged.geom_type in ("Polygon", "MultiPolygon") else None
    )


def probe_points(
    geometries: list[Any], rng: np.random.Generator, n_random: int
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices, edge midpoints, points a hair off them, and random points around."""
    coords = np.vstack([shapely.get_coordinates(g) for g in geometries])
    rings = [shapely.get_coordinates(r) for g in geometries for r in _rings(g)]
    mids = np.vstack([(r[:-1] + r[1:]) / 2 for r in rings if len(r) > 1]) if rings else coords
    near = np.vstack([np.nextafter(coords, coords + 1), np.nextafter(coords, coords - 1)])
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    random = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=(n_random, 2))
    points = np.vstack([coords, mids, near, random])
    return np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])


def _rings(geometry: Any) -> list[Any]:
    out = []
    for part in shapely.get_parts(geometry):
        if part.geom_type == "Polygon":
            out.append(part.exterior)
            out.extend(part.interiors)
        elif part.geom_type == "LineString":
            out.append(part)
    return out
