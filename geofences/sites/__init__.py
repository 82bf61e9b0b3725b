"""Site data shipped with the package: GeoJSON FeatureCollections of fences.

    >>> from geofences import FenceSet, sites
    >>> port = FenceSet.from_geojson(sites.load("bari"))

`bari` — the port of Bari: logistic nodes (gates, parking), the port controlled
area, and the port road links between nodes as corridors.
`northern-corridor` — Mombasa to Malaba (Kenya) along the A109/A104, with the
allowed stop zones (weighbridges, border post) and controlled areas.

Coordinates are approximate (see docs/geofences.md); the files are made by
`python -m geofences.sites.build` from the waypoints in that module.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from geofences.errors import GeofenceError


def names() -> list[str]:
    """The sites shipped, by name."""
    folder = resources.files(__name__)
    return sorted(
        p.name.removesuffix(".geojson") for p in folder.iterdir() if p.name.endswith(".geojson")
    )


def load(name: str) -> dict[str, Any]:
    """The FeatureCollection of a shipped site, as a fresh dict."""
    if name not in names():
        raise GeofenceError(f"no site {name!r}; shipped sites: {', '.join(names())}")
    text = resources.files(__name__).joinpath(f"{name}.geojson").read_text(encoding="utf-8")
    collection: dict[str, Any] = json.loads(text)
    return collection
