"""Packing read features into flat arrays and building the indexes over them.

The choices of grid sizes live here; the filing itself is done by kernels in
`geofences.kernels` so that build and query use the same cell arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from geofences import kernels
from geofences.geojson import FenceFeature

MAX_SET_CELLS = 1 << 21  # the set grid: 2 Mi cells at most (16 MiB of offsets)
MAX_SET_PAIRS = 1 << 23  # feature-cell entries at most, whatever the data
SET_CELLS_PER_FEATURE_SIDE = 12  # a typical feature spans about this many cells across
MAX_SLABS = 8192
EDGES_PER_SLAB = 2
MAX_FEATURE_CELLS = 1 << 18  # one feature's own grid
CELLS_PER_SEGMENT = 8  # a feature's grid has about this many cells per edge or segment
# Widen buffered boxes a little beyond the buffer so that rounding in the distance
# arithmetic can never leave a segment within buffer_m out of a cell.
BUFFER_MARGIN = 1.001


def metres_per_degree(lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 metres per degree of longitude and of latitude (numpy twin of the kernel)."""
    phi = np.radians(lat_deg)
    w = 1.0 - kernels.WGS84_E2 * np.sin(phi) ** 2
    n = kernels.WGS84_A_M / np.sqrt(w)
    m = kernels.WGS84_A_M * (1.0 - kernels.WGS84_E2) / (w * np.sqrt(w))
    return n * np.cos(phi) * kernels.DEG, m * kernels.DEG


def pack(features: list[FenceFeature]) -> kernels.Packed:
    """Flat arrays for `features`, in their order, with every index built."""
    n = len(features)
    parts: list[np.ndarray] = []
    ring_lengths: list[int] = []
    rings_per_feature = np.zeros(n, dtype=np.int64)
    verts_per_feature = np.zeros(n, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int64)
    buffer_m = np.zeros(n, dtype=np.float64)
    for f, feature in enumerate(features):
        if feature.line is not None:
            kind[f] = kernels.LINE
            buffer_m[f] = feature.buffer_m
            parts.append(feature.line)
            verts_per_feature[f] = len(feature.line)
        else:
            parts.extend(feature.rings)
            ring_lengths.extend(len(ring) for ring in feature.rings)
            rings_per_feature[f] = len(feature.rings)
            verts_per_feature[f] = sum(len(ring) for ring in feature.rings)
    xy = np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.float64)
    xs = np.ascontiguousarray(xy[:, 0])
    ys = np.ascontiguousarray(xy[:, 1])
    vert_first = _offsets(verts_per_feature)
    feature_ring = _offsets(rings_per_feature)
    ring_start, ring_end = _ring_spans(
        np.array(ring_lengths, dtype=np.int64), feature_ring, vert_first
    )

    pad, chainage_m = _line_pads_and_chainage(xs, ys, vert_first, kind, buffer_m)
    bbox = _feature_boxes(xs, ys, vert_first, kind, pad)

    slab_first = _offsets(_slab_counts(vert_first, feature_ring, kind))
    slab_edge_start, slab_edges = kernels.build_slabs(
        xs, ys, kind, bbox, ring_start, ring_end, feature_ring, slab_first
    )
    fgrid, fgrid_n = _feature_grids(bbox, vert_first, feature_ring)
    fcell_first = _offsets(fgrid_n[:, 0] * fgrid_n[:, 1])
    grid, grid_n = _set_grid(bbox, vert_first)
    packed = kernels.Packed(
        xs=xs,
        ys=ys,
        kind=kind,
        bbox=bbox,
        vert_first=vert_first,
        ring_start=ring_start,
        ring_end=ring_end,
        feature_ring=feature_ring,
        buffer_m=buffer_m,
        chainage_m=chainage_m,
        slab_first=slab_first,
        slab_edge_start=slab_edge_start,
        slab_edges=slab_edges,
        fgrid=fgrid,
        fgrid_n=fgrid_n,
        fcell_first=fcell_first,
        fcell_start=np.zeros(int(fcell_first[-1]) + 1, dtype=np.int64),
        fcell_items=np.empty(0, dtype=np.int64),
        fcell_ref=np.empty(0, dtype=np.int8),
        grid=grid,
        grid_n=grid_n,
        cell_start=np.zeros(int(grid_n[0] * grid_n[1]) + 1, dtype=np.int64),
        cell_feature=np.empty(0, dtype=np.int64),
        cell_inside=np.empty(0, dtype=np.bool_),
    )
    fcell_start, fcell_items, fcell_ref = kernels.build_feature_cells(packed, pad)
    packed = packed._replace(fcell_start=fcell_start, fcell_items=fcell_items, fcell_ref=fcell_ref)
    cell_start, cell_feature, cell_inside = kernels.build_set_cells(packed, pad)
    return packed._replace(
        cell_start=cell_start, cell_feature=cell_feature, cell_inside=cell_inside
    )


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _ring_spans(
    lengths: np.ndarray, feature_ring: np.ndarray, vert_first: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last vertex of each ring in the global vertex array."""
    owner = np.repeat(np.arange(len(feature_ring) - 1), np.diff(feature_ring))
    within = np.cumsum(lengths) - lengths - (_offsets(lengths)[feature_ring[owner]])
    start = vert_first[owner] + within
    return start.astype(np.int64), (start + lengths).astype(np.int64)


def _line_pads_and_chainage(
    xs: np.ndarray, ys: np.ndarray, vert_first: np.ndarray, kind: np.ndarray, buffer_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per line segment (indexed by its first vertex): how far to widen it, in degrees
    of longitude and latitude, to reach every point whose local-frame distance to
    it is <= buffer_m (zero for ring edges); and per line vertex the distance along
    the line from its start, in metres."""
    pad = np.zeros((len(xs), 2), dtype=np.float64)
    chainage_m = np.zeros(len(xs), dtype=np.float64)
    for f in np.flatnonzero(kind == kernels.LINE):
        v0, v1 = vert_first[f], vert_first[f + 1]
        x, y = xs[v0:v1], ys[v0:v1]
        lo_y = np.minimum(y[:-1], y[1:])
        hi_y = np.maximum(y[:-1], y[1:])
        # Metres per degree of latitude is smallest at the equator.
        _, m_equator = metres_per_degree(np.zeros(1))
        d_lat = buffer_m[f] * BUFFER_MARGIN / m_equator[0]
        # ... and per degree of longitude at the highest latitude a query point may have.
        top = np.maximum(np.abs(lo_y - d_lat), np.abs(hi_y + d_lat))
        kx_min, _ = metres_per_degree(np.minimum(top, 89.0))
        d_lon = buffer_m[f] * BUFFER_MARGIN / kx_min
        pad[v0 : v1 - 1, 0] = d_lon
        pad[v0 : v1 - 1, 1] = d_lat
        # Segment lengths with the scales at each segment's mid-latitude.
        kx, ky = metres_per_degree((y[:-1] + y[1:]) / 2.0)
        lengths = np.hypot(np.diff(x) * kx, np.diff(y) * ky)
        chainage_m[v0 + 1 : v1] = np.cumsum(lengths)
    return pad, chainage_m


def _feature_boxes(
    xs: np.ndarray, ys: np.ndarray, vert_first: np.ndarray, kind: np.ndarray, pad: np.ndarray
) -> np.ndarray:
    """Bounding boxes, a line's widened by its buffer; NaN for empty geometries (so
    that no point is ever inside one)."""
    bbox = np.full((len(kind), 4), np.nan)
    for f in range(len(kind)):
        v0, v1 = vert_first[f], vert_first[f + 1]
        if v1 == v0:
            continue
        x, y = xs[v0:v1], ys[v0:v1]
        bbox[f] = x.min(), y.min(), x.max(), y.max()
        if kind[f] == kernels.LINE:
            d_lon, d_lat = pad[v0 : v1 - 1, 0].max(), pad[v0 : v1 - 1, 1].max()
            bbox[f] += (-d_lon, -d_lat, d_lon, d_lat)
    return bbox


def _slab_counts(vert_first: np.ndarray, feature_ring: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Slabs per area: about EDGES_PER_SLAB edges each; none for lines and empty areas."""
    edges = np.diff(vert_first) - np.diff(feature_ring)
    counts = np.clip(edges // EDGES_PER_SLAB, 1, MAX_SLABS)
    return np.where((kind == kernels.AREA) & (edges > 0), counts, 0).astype(np.int64)


def _feature_grids(
    bbox: np.ndarray, vert_first: np.ndarray, feature_ring: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A grid over each feature's box with about CELLS_PER_SEGMENT cells per segment."""
    n = len(bbox)
    fgrid = np.zeros((n, 4), dtype=np.float64)
    fgrid_n = np.ones((n, 2), dtype=np.int64)
    # A ring of v vertices has v - 1 edges; a line of v vertices has v - 1 segments.
    segments = np.diff(vert_first) - np.maximum(np.diff(feature_ring), 1)
    for f in np.flatnonzero(segments > 0):
        width = bbox[f, 2] - bbox[f, 0]
        height = bbox[f, 3] - bbox[f, 1]
        cells = min(CELLS_PER_SEGMENT * int(segments[f]), MAX_FEATURE_CELLS)
        side = math.sqrt(width * height / cells) if width > 0 and height > 0 else 0.0
        if side == 0.0:
            side = max(width, height) / cells
        nx, ny = _grid_shape(width, height, side, cells)
        fgrid[f] = bbox[f, 0], bbox[f, 1], width / nx, height / ny
        fgrid_n[f] = nx, ny
    return fgrid, fgrid_n


def _grid_shape(width: float, height: float, cell: float, max_cells: int) -> tuple[int, int]:
    if cell <= 0.0:
        return 1, 1
    nx = max(1, math.ceil(width / cell))
    ny = max(1, math.ceil(height / cell))
    while nx * ny > max_cells:
        nx = max(1, nx // 2)
        ny = max(1, ny // 2)
    return nx, ny


def _set_grid(bbox: np.ndarray, vert_first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One grid over every feature: cells about 1/SET_CELLS_PER_FEATURE_SIDE of a
    typical feature, capped in cells and in feature-cell entries."""
    used = bbox[np.diff(vert_first) > 0]
    if len(used) == 0:
        return np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0]), np.array([1, 1], dtype=np.int64)
    x0, y0 = used[:, 0].min(), used[:, 1].min()
    x1, y1 = used[:, 2].max(), used[:, 3].max()
    width, height = x1 - x0, y1 - y0
    widths = used[:, 2] - used[:, 0]
    heights = used[:, 3] - used[:, 1]
    typical = float(np.median(np.maximum(widths, heights)))
    cell = typical / SET_CELLS_PER_FEATURE_SIDE
    cell = max(cell, math.sqrt(width * height / MAX_SET_CELLS), max(width, height) / 4096)
    if cell > 0.0:
        # Fewer, larger cells while the feature-cell entries would pass the cap.
        while np.sum((widths / cell + 2.0) * (heights / cell + 2.0)) > MAX_SET_PAIRS:
            cell *= 1.5
    nx, ny = _grid_shape(width, height, cell, MAX_SET_CELLS)
    cw = width / nx if width > 0.0 else 1.0
    ch = height / ny if height > 0.0 else 1.0
    return np.array([x0, y0, x1, y1, cw, ch]), np.array([nx, ny], dtype=np.int64)
