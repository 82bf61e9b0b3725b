"""Site geometry for the console's map: geofences and corridors (GeoJSON from the
shipped geofence sites) and where the gates are."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from central.api.deps import CentralDep
from central.auth.guard import require
from central.auth.roles import Permission as P
from central.auth.service import Principal
from central.monitoring.errors import not_found
from central.monitoring.places import map_site_names
from geofences import sites

router = APIRouter(prefix="/sites", tags=["map"])

Viewer = Annotated[Principal, Depends(require(P.MAP_READ))]


class GatePlace(BaseModel):
    gate_id: str
    node_id: str | None
    lat: float
    lon: float


@router.get("", response_model=list[str])
async def list_sites(central: CentralDep, _: Viewer) -> list[str]:
    """The geofence sites the console draws."""
    return map_site_names(central.settings.monitoring.map_sites)


@router.get("/gates", response_model=list[GatePlace])
async def gate_places(central: CentralDep, _: Viewer) -> list[GatePlace]:
    """Gates of the site file that have a place (configured, or their node's feature)."""
    if central.site is None:
        return []
    places = central.monitoring.places
    result = []
    for node in central.site.nodes:
        for gate_id in node.gates:
            where = places.gate(gate_id)
            if where is not None:
                result.append(
                    GatePlace(gate_id=gate_id, node_id=node.id, lat=where[0], lon=where[1])
                )
    return result


@router.get("/{name}")
async def site_geojson(name: str, central: CentralDep, _: Viewer) -> dict[str, Any]:
    """A site's GeoJSON FeatureCollection (nodes, controlled areas, stop zones, corridors)."""
    if name not in map_site_names(central.settings.monitoring.map_sites):
        raise not_found(f"site {name}")
    return sites.load(name)
