"""`corridor geofences`: check fence files, ask where a point is, warm the numba cache."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from geofences import FenceSet, FenceTracker, GeofenceError, sites


@click.group()
def cli() -> None:
    """Fences and corridors (GeoJSON): check, locate, warm the kernel cache."""


def _load(source: str) -> FenceSet:
    """A shipped site by name, or a GeoJSON file by path."""
    try:
        if source in sites.names():
            collection: Any = sites.load(source)
        else:
            collection = json.loads(Path(source).read_text(encoding="utf-8"))
        return FenceSet.from_geojson(collection)
    except (OSError, json.JSONDecodeError, GeofenceError) as err:
        raise click.ClickException(f"{source}: {err}") from err


@cli.command("check")
@click.argument("source")
def check(source: str) -> None:
    """Load SOURCE (a site name or a GeoJSON file) and summarise it; exit 1 if invalid."""
    fences = _load(source)
    kinds = fences.kinds
    click.echo(f"{source}: {len(fences)} fences")
    for kind in sorted(set(kinds)):
        ids = [i for i, k in zip(fences.ids, kinds, strict=True) if k == kind]
        click.echo(f"  {kind}: {len(ids)} ({', '.join(ids[:8])}{', ...' if len(ids) > 8 else ''})")
    for f in fences.corridors:
        click.echo(
            f"  corridor {fences.ids[f]}: {fences.length_m(f) / 1000:.1f} km, "
            f"buffer {fences.buffer_m(f):g} m"
        )


@cli.command("locate", context_settings={"ignore_unknown_options": True})  # negative lat
@click.argument("source")
@click.argument("lon", type=float)
@click.argument("lat", type=float)
def locate(source: str, lon: float, lat: float) -> None:
    """Print, as JSON, the fences of SOURCE containing LON LAT and the nearest corridor."""
    fences = _load(source)
    inside = fences.contains(np.array([lon]), np.array([lat]))[:, 0]
    which, distance = fences.nearest_corridor(np.array([lon]), np.array([lat]))
    answer: dict[str, Any] = {"inside": [fences.ids[f] for f in np.flatnonzero(inside)]}
    if which[0] >= 0:
        measured = fences.measure(int(which[0]), np.array([lon]), np.array([lat]))
        answer["nearest_corridor"] = {
            "id": fences.ids[which[0]],
            "distance_m": round(float(distance[0]), 2),
            "chainage_m": round(float(measured.chainage_m[0]), 2),
            "remaining_m": round(float(measured.remaining_m[0]), 2),
        }
    click.echo(json.dumps(answer))


@cli.command("warm")
def warm() -> None:
    """Compile every geofence kernel into the numba cache (NUMBA_CACHE_DIR), so that
    later processes start fast; run once when building a gate box or central image."""
    started = time.perf_counter()
    fences = FenceSet.from_geojson(sites.load("northern-corridor"))
    lon, lat = np.array([36.8, 39.6]), np.array([-1.3, -4.05])
    fences.contains(lon, lat)
    fences.locate(lon, lat)
    fences.crosses(lon, lat, lat * 0 + 37.0, lon * 0 - 1.0)
    fences.measure("northern-corridor", lon, lat)
    fences.nearest_corridor(lon, lat)
    tracker = FenceTracker(fences)
    tracker.assign_corridor("warm-up", "northern-corridor")
    tracker.update("warm-up", 36.8, -1.3)
    tracker.update("warm-up", 36.9, -1.3)
    click.echo(f"geofence kernels ready in {time.perf_counter() - started:.1f} s")
