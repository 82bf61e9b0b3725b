"""Make the shipped site files from the waypoints below: `python -m geofences.sites.build`.

The coordinates are approximate — read off public maps to within a few hundred
metres, good for rehearsals and simulators, not surveyed. A site going live
replaces them with its own surveyed GeoJSON.

Routes are smoothed through their waypoints (centripetal Catmull-Rom) and
sampled every ROUTE_STEP_M, so that they are road-shaped; the route passes
through every waypoint, so stop zones placed at waypoints sit on it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from geofences.packing import metres_per_degree

HERE = Path(__file__).resolve().parent
ROUTE_STEP_M = 2000.0
PORT_ROAD_STEP_M = 40.0

Lonlat = tuple[float, float]

# --- the port of Bari (Italy), seed section 13 ------------------------------

# id -> (name, centre lon/lat, width m, depth m, bearing of the width axis in degrees)
BARI_NODES: dict[str, tuple[str, Lonlat, float, float, float]] = {
    "vittoria": ("Customs gate «della Vittoria»", (16.8590, 41.1308), 60.0, 30.0, 80.0),
    "marisabella": ("Port gate «Marisabella»", (16.8500, 41.1322), 50.0, 30.0, 80.0),
    "marisabella-parking": ("Parking area «Marisabella»", (16.8468, 41.1335), 180.0, 120.0, 80.0),
    "san-vito-ac1": (
        "Port facility gate to the wharf «San Vito AC 1»",
        (16.8572, 41.1338),
        40.0,
        25.0,
        0.0,
    ),
    "san-vito-ac3": (
        "Port facility gate to the wharf «San Vito AC 3»",
        (16.8560, 41.1365),
        40.0,
        25.0,
        0.0,
    ),
    "levante": ("Port facility gate to the dock «Levante»", (16.8618, 41.1345), 40.0, 25.0, 60.0),
    "ridosso": ("Port facility gate to the wharf «Ridosso»", (16.8530, 41.1395), 40.0, 25.0, 70.0),
    "ponente": ("Port facility gate to the dock «Ponente»", (16.8485, 41.1362), 40.0, 25.0, 70.0),
}

BARI_CONTROLLED_AREA: list[Lonlat] = [
    (16.8435, 41.1320), (16.8520, 41.1312), (16.8588, 41.1302), (16.8628, 41.1312),
    (16.8655, 41.1330), (16.8645, 41.1362), (16.8590, 41.1395), (16.8555, 41.1422),
    (16.8500, 41.1418), (16.8455, 41.1395), (16.8428, 41.1360), (16.8435, 41.1320),
]  # fmt: skip

# Port roads between nodes: (from, to, waypoints between them).
BARI_ROADS: list[tuple[str, str, list[Lonlat]]] = [
    ("vittoria", "marisabella", [(16.8560, 41.1313), (16.8530, 41.1318)]),
    ("marisabella", "marisabella-parking", [(16.8485, 41.1328)]),
    ("marisabella", "levante", [(16.8540, 41.1326), (16.8585, 41.1331), (16.8606, 41.1338)]),
    ("marisabella", "san-vito-ac1", [(16.8535, 41.1327), (16.8560, 41.1332)]),
    ("marisabella", "san-vito-ac3", [(16.8535, 41.1327), (16.8556, 41.1345)]),
    ("marisabella", "ridosso", [(16.8520, 41.1345), (16.8528, 41.1372)]),
    ("marisabella", "ponente", [(16.8492, 41.1340)]),
    ("levante", "vittoria", [(16.8612, 41.1330), (16.8600, 41.1315)]),
    ("san-vito-ac1", "vittoria", [(16.8580, 41.1325)]),
    ("san-vito-ac3", "vittoria", [(16.8566, 41.1345), (16.8580, 41.1325)]),
]
BARI_ROAD_BUFFER_M = 25.0

# --- the Northern Corridor, Mombasa -> Malaba (Kenya), seed section 16 -------

NORTHERN_CORRIDOR: list[tuple[str, Lonlat]] = [
    ("Kilindini port gate, Mombasa", (39.6450, -4.0560)),
    ("Makupa", (39.6410, -4.0330)),
    ("Changamwe", (39.6200, -4.0200)),
    ("Miritini", (39.5950, -3.9990)),
    ("Mazeras", (39.5480, -3.9720)),
    ("Mariakani weighbridge", (39.4880, -3.8770)),
    ("Mariakani", (39.4730, -3.8610)),
    ("Samburu", (39.2780, -3.7740)),
    ("Taru", (39.1600, -3.7420)),
    ("Mackinnon Road", (39.0430, -3.7310)),
    ("Maungu", (38.7460, -3.5580)),
    ("Voi", (38.5560, -3.3960)),
    ("Tsavo", (38.4710, -2.9980)),
    ("Mtito Andei", (38.1660, -2.6890)),
    ("Kibwezi", (37.9640, -2.4150)),
    ("Makindu", (37.8290, -2.2770)),
    ("Emali", (37.4700, -2.0830)),
    ("Sultan Hamud", (37.3740, -2.0200)),
    ("Salama", (37.2450, -1.8500)),
    ("Konza", (37.1300, -1.7300)),
    ("Machakos Turnoff", (37.0600, -1.5900)),
    ("Athi River", (36.9780, -1.4560)),
    ("Athi River weighbridge, Mlolongo", (36.9450, -1.3930)),
    ("JKIA junction", (36.9000, -1.3500)),
    ("Nairobi, Mombasa Road", (36.8330, -1.3000)),
    ("Nairobi, Uhuru Highway", (36.8180, -1.2870)),
    ("Westlands", (36.8020, -1.2650)),
    ("Kangemi", (36.7450, -1.2650)),
    ("Rironi", (36.6350, -1.1450)),
    ("Kamandura", (36.6250, -1.0600)),
    ("Kinale", (36.6000, -0.9500)),
    ("Escarpment", (36.5500, -0.8700)),
    ("Naivasha", (36.4310, -0.7170)),
    ("Gilgil", (36.3180, -0.4920)),
    ("Gilgil weighbridge", (36.3050, -0.4850)),
    ("Elementaita", (36.2300, -0.4150)),
    ("Nakuru", (36.0800, -0.3030)),
    ("Salgaa", (35.8600, -0.2100)),
    ("Mau Summit", (35.6800, -0.1380)),
    ("Timboroa", (35.5400, 0.0700)),
    ("Burnt Forest", (35.4300, 0.2200)),
    ("Eldoret", (35.2700, 0.5140)),
    ("Turbo", (35.0500, 0.6350)),
    ("Webuye weighbridge", (34.7850, 0.6120)),
    ("Webuye", (34.7700, 0.6070)),
    ("Bungoma", (34.5600, 0.5630)),
    ("Myanga", (34.4000, 0.6000)),
    ("Malaba border post", (34.2800, 0.6360)),
]
NORTHERN_CORRIDOR_BUFFER_M = 1000.0

# id -> (name, waypoint name, width m, depth m)
KENYA_STOP_ZONES: dict[str, tuple[str, str, float, float]] = {
    "mariakani-weighbridge": ("Mariakani weighbridge", "Mariakani weighbridge", 400.0, 250.0),
    "athi-river-weighbridge": (
        "Athi River weighbridge (Mlolongo)",
        "Athi River weighbridge, Mlolongo",
        400.0,
        250.0,
    ),
    "gilgil-weighbridge": ("Gilgil weighbridge", "Gilgil weighbridge", 400.0, 250.0),
    "webuye-weighbridge": ("Webuye weighbridge", "Webuye weighbridge", 400.0, 250.0),
    "malaba-border-stop": ("Malaba border post, truck park", "Malaba border post", 600.0, 400.0),
}

MOMBASA_PORT: list[Lonlat] = [
    (39.6180, -4.0780), (39.6560, -4.0800), (39.6700, -4.0620), (39.6660, -4.0440),
    (39.6460, -4.0420), (39.6300, -4.0500), (39.6180, -4.0780),
]  # fmt: skip
MALABA_BORDER_POST: list[Lonlat] = [
    (34.2745, 0.6330), (34.2850, 0.6325), (34.2860, 0.6395), (34.2750, 0.6400),
    (34.2745, 0.6330),
]  # fmt: skip


def rectangle(centre: Lonlat, width_m: float, depth_m: float, bearing_deg: float) -> list[Lonlat]:
    """A closed ring: a width_m x depth_m rectangle whose width axis points at bearing_deg."""
    kx, ky = metres_per_degree(np.array([centre[1]]))
    theta = math.radians(bearing_deg)
    ux, uy = math.sin(theta), math.cos(theta)  # width axis, east and north components
    vx, vy = -uy, ux  # depth axis
    ring = []
    for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)):
        east = a * width_m / 2 * ux + b * depth_m / 2 * vx
        north = a * width_m / 2 * uy + b * depth_m / 2 * vy
        ring.append((round(centre[0] + east / kx[0], 7), round(centre[1] + north / ky[0], 7)))
    return ring


def smooth_route(waypoints: list[Lonlat], step_m: float) -> list[Lonlat]:
    """A centripetal Catmull-Rom curve through the waypoints, sampled about every step_m."""
    points = np.array(waypoints, dtype=float)
    kx, ky = metres_per_degree(np.array([points[:, 1].mean()]))
    xy = points * [kx[0], ky[0]]  # metres in a local frame: the smoothing is shape only
    padded = np.vstack([2 * xy[0] - xy[1], xy, 2 * xy[-1] - xy[-2]])
    out = [xy[0]]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        steps = max(1, math.ceil(np.linalg.norm(p2 - p1) / step_m))
        for t in np.arange(1, steps + 1) / steps:
            out.append(_catmull_rom(p0, p1, p2, p3, t))
    lonlat = np.array(out) / [kx[0], ky[0]]
    return [(round(float(x), 6), round(float(y), 6)) for x, y in lonlat]


def _catmull_rom(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, u: float
) -> np.ndarray:
    # Barry and Goldman's pyramidal form with centripetal knots (no cusps or loops).
    t0 = 0.0
    t1 = t0 + max(float(np.linalg.norm(p1 - p0)), 1e-9) ** 0.5
    t2 = t1 + max(float(np.linalg.norm(p2 - p1)), 1e-9) ** 0.5
    t3 = t2 + max(float(np.linalg.norm(p3 - p2)), 1e-9) ** 0.5
    t = t1 + u * (t2 - t1)
    a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    point: np.ndarray = (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2
    return point


def feature(
    fence_id: str, name: str, kind: str, geometry: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    properties = {"id": fence_id, "name": name, "kind": kind, **extra}
    return {"type": "Feature", "id": fence_id, "properties": properties, "geometry": geometry}


def polygon(ring: list[Lonlat]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def line(points: list[Lonlat]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def bari() -> dict[str, Any]:
    features = [
        feature("port-of-bari", "Port of Bari, customs controlled area", "controlled_area",
                polygon(BARI_CONTROLLED_AREA)),
    ]  # fmt: skip
    for node_id, (name, centre, width, depth, bearing) in BARI_NODES.items():
        ring = rectangle(centre, width, depth, bearing)
        features.append(feature(node_id, name, "node", polygon(ring)))
    for start, end, via in BARI_ROADS:
        waypoints = [BARI_NODES[start][1], *via, BARI_NODES[end][1]]
        road = smooth_route(waypoints, PORT_ROAD_STEP_M)
        features.append(
            feature(f"road-{start}-{end}", f"Port road {start} to {end}", "corridor", line(road),
                    buffer_m=BARI_ROAD_BUFFER_M, start=start, end=end)
        )  # fmt: skip
    return {"type": "FeatureCollection", "name": "bari", "features": features}


def northern_corridor() -> dict[str, Any]:
    waypoints = dict(NORTHERN_CORRIDOR)
    route = smooth_route([p for _, p in NORTHERN_CORRIDOR], ROUTE_STEP_M)
    features = [
        feature("northern-corridor", "Northern Corridor, Mombasa to Malaba (A109/A104)",
                "corridor", line(route), buffer_m=NORTHERN_CORRIDOR_BUFFER_M,
                start="mombasa-port", end="malaba-border-post"),
        feature("mombasa-port", "Port of Mombasa (Kilindini), controlled area",
                "controlled_area", polygon(MOMBASA_PORT)),
        feature("malaba-border-post", "Malaba one-stop border post, controlled area",
                "controlled_area", polygon(MALABA_BORDER_POST)),
    ]  # fmt: skip
    for zone_id, (name, at, width, depth) in KENYA_STOP_ZONES.items():
        ring = rectangle(waypoints[at], width, depth, 0.0)
        features.append(feature(zone_id, name, "stop_zone", polygon(ring)))
    return {"type": "FeatureCollection", "name": "northern-corridor", "features": features}


def main() -> None:
    for name, collection in (("bari", bari()), ("northern-corridor", northern_corridor())):
        path = HERE / f"{name}.geojson"
        path.write_text(
            json.dumps(collection, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"{path}: {len(collection['features'])} features, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
