"""Where gates are, for alerts raised at a gate and for the map: the configured
`gate_locations`, else the centre of the node's feature in the shipped geofence sites."""

from __future__ import annotations

import logging
from typing import Any

from central.site import Site
from geofences import sites
from geofences.errors import GeofenceError

log = logging.getLogger(__name__)


def map_site_names(selected: list[str] | None) -> list[str]:
    shipped = sites.names()
    return shipped if selected is None else [name for name in selected if name in shipped]


def _centre(geometry: dict[str, Any]) -> tuple[float, float] | None:
    """(lat, lon): the mean of the outer ring's vertices (good enough to put a marker)."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Polygon":
            ring = coordinates[0]  # type: ignore[index]
        elif kind == "MultiPolygon":
            ring = coordinates[0][0]  # type: ignore[index]
        elif kind == "Point":
            return float(coordinates[1]), float(coordinates[0])  # type: ignore[index]
        else:
            return None
        points = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
        return (
            sum(float(p[1]) for p in points) / len(points),
            sum(float(p[0]) for p in points) / len(points),
        )
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return None


class Places:
    def __init__(
        self,
        site: Site | None,
        gate_locations: dict[str, tuple[float, float]],
        map_sites: list[str] | None,
    ) -> None:
        nodes: dict[str, tuple[float, float]] = {}
        for name in map_site_names(map_sites):
            try:
                collection = sites.load(name)
            except (GeofenceError, OSError, ValueError) as err:
                log.warning("geofence site %s unreadable: %s", name, err)
                continue
            for feature in collection.get("features", []):
                properties = feature.get("properties") or {}
                if properties.get("kind") != "node":
                    continue
                node_id = properties.get("node_id") or feature.get("id") or properties.get("id")
                centre = _centre(feature.get("geometry") or {})
                if node_id and centre:
                    nodes[str(node_id)] = centre
        for key, (lon, lat) in gate_locations.items():
            nodes[key] = (lat, lon)
        self._places = nodes
        self._node_of_gate = (
            {g: n.id for n in site.nodes for g in n.gates} if site is not None else {}
        )

    def gate(self, gate_id: str) -> tuple[float, float] | None:
        """(lat, lon) of a gate: its own entry, else its node's."""
        if gate_id in self._places:
            return self._places[gate_id]
        node = self._node_of_gate.get(gate_id)
        return self._places.get(node) if node else None

    def gates(self, gate_ids: list[str]) -> dict[str, tuple[float, float]]:
        return {g: where for g in gate_ids if (where := self.gate(g)) is not None}
