"""Numba kernels over packed fence arrays.

Everything compiled lives in this one module on purpose: numba's on-disk cache
(`cache=True`, directory from `NUMBA_CACHE_DIR`) is keyed on the file that holds
the entry point, so kernels that call helpers in another file could load stale
machine code after that file changes.

Only C-contiguous float64/int64/int8/bool arrays are ever passed in (the Python
side converts), so each kernel has exactly one specialisation.

Why the hot loops look the way they do: a numba call that passes arrays
increments and decrements each array's reference count (atomic operations), so
a per-point call taking the packed arrays costs hundreds of nanoseconds. Hot
work is therefore done in functions that take a whole chunk of points, and the
per-feature tests inside them are closures over local arrays, which numba
inlines. Helpers called per point take scalars only.

Conventions
-----------
* Coordinates are WGS84 degrees, x = longitude, y = latitude.
* An *edge* or *segment* is named by the index `k` of its first vertex; it runs
  from vertex `k` to vertex `k + 1`. Rings are stored closed (last == first).
* Inside/outside of an area is the even-odd rule over all its rings, decided
  with an exact orientation predicate, so off the boundary it agrees with
  shapely; a point on the boundary is detected exactly (and counts as inside).
* Cell indices come from one monotone function (`cell_index`), used when filing
  and when querying, so a point inside a filed box always lands in a cell the
  box was filed under, whatever the rounding.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

AREA = 0
LINE = 1

OUTSIDE = 0
INSIDE = 1
BOUNDARY = 2

# What scan_points does with each (point, feature) it finds.
DENSE = 0  # mark dense[f, i]
COUNT = 1  # count into counts[i]
FILL = 2  # write f into found[offsets[i] + m]

CHUNK = 2048  # points per call of a scan from a parallel loop

# WGS84 ellipsoid.
WGS84_A_M = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
DEG = math.pi / 180.0

# Shewchuk's error bound for the fast orientation filter, and Dekker's splitter.
_EPS = 2.0**-53
_CCW_ERRBOUND_A = (3.0 + 16.0 * _EPS) * _EPS
_SPLITTER = 134217729.0  # 2**27 + 1


class Packed(NamedTuple):
    """Fence geometry in flat arrays, plus the indexes over it.

    Feature `f` owns vertices `vert_first[f]:vert_first[f + 1]`; an area feature
    owns rings `feature_ring[f]:feature_ring[f + 1]`, ring `r` spanning vertices
    `ring_start[r]:ring_end[r]`.
    """

    xs: np.ndarray  # float64 (n_vertices,)
    ys: np.ndarray  # float64 (n_vertices,)
    kind: np.ndarray  # int64 (n_features,) AREA or LINE
    bbox: np.ndarray  # float64 (n_features, 4) min x, min y, max x, max y (lines: with buffer)
    vert_first: np.ndarray  # int64 (n_features + 1,)
    ring_start: np.ndarray  # int64 (n_rings,) first vertex
    ring_end: np.ndarray  # int64 (n_rings,) one past the last vertex
    feature_ring: np.ndarray  # int64 (n_features + 1,)
    buffer_m: np.ndarray  # float64 (n_features,), 0 for areas
    chainage_m: np.ndarray  # float64 (n_vertices,) along a line from its start, 0 for rings
    # Horizontal slabs per area, the edges whose y-range meets each: the plain
    # ray-crossing test, used to classify grid cells and as a fallback.
    slab_first: np.ndarray  # int64 (n_features + 1,)
    slab_edge_start: np.ndarray  # int64 (n_slabs + 1,)
    slab_edges: np.ndarray  # int64
    # A grid per feature: the edges (area) or buffered segments (line) meeting each
    # cell, and for areas where the cell's centre lies (OUTSIDE, INSIDE, or
    # BOUNDARY meaning "centre unusable, fall back to the slabs").
    fgrid: np.ndarray  # float64 (n_features, 4) x0, y0, cell width, cell height
    fgrid_n: np.ndarray  # int64 (n_features, 2) nx, ny
    fcell_first: np.ndarray  # int64 (n_features + 1,)
    fcell_start: np.ndarray  # int64 (n_feature_cells + 1,)
    fcell_items: np.ndarray  # int64 edge or segment
    fcell_ref: np.ndarray  # int8 (n_feature_cells,)
    # One grid over the whole set: candidate features per cell, and whether the
    # cell lies wholly inside that feature (then no geometry test is needed).
    grid: np.ndarray  # float64 (6,) x0, y0, x1, y1, cell width, cell height
    grid_n: np.ndarray  # int64 (2,) nx, ny
    cell_start: np.ndarray  # int64 (n_cells + 1,)
    cell_feature: np.ndarray  # int64
    cell_inside: np.ndarray  # bool


# --- exact orientation -------------------------------------------------------


@njit(cache=True, inline="always")
def _two_sum(a: float, b: float) -> tuple[float, float]:
    x = a + b
    b_virtual = x - a
    a_virtual = x - b_virtual
    return x, (a - a_virtual) + (b - b_virtual)


@njit(cache=True, inline="always")
def _split(a: float) -> tuple[float, float]:
    c = _SPLITTER * a
    big = c - a
    hi = c - big
    return hi, a - hi


@njit(cache=True, inline="always")
def _two_product(a: float, b: float) -> tuple[float, float]:
    x = a * b
    ahi, alo = _split(a)
    bhi, blo = _split(b)
    err = x - ahi * bhi
    err -= alo * bhi
    err -= ahi * blo
    return x, alo * blo - err


@njit(cache=True)
def _grow(expansion: np.ndarray, length: int, value: float) -> int:
    """Add `value` to a non-overlapping expansion in place (Shewchuk's Grow-Expansion)."""
    q = value
    for i in range(length):
        q, h = _two_sum(q, expansion[i])
        expansion[i] = h
    expansion[length] = q
    return length + 1


@njit(cache=True)
def _orient2d_exact(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    # det = ax*by - ax*cy - bx*ay + bx*cy + cx*ay - cx*by, each product split exactly.
    terms = np.empty(12)
    terms[0], terms[1] = _two_product(ax, by)
    terms[2], terms[3] = _two_product(-ax, cy)
    terms[4], terms[5] = _two_product(-bx, ay)
    terms[6], terms[7] = _two_product(bx, cy)
    terms[8], terms[9] = _two_product(cx, ay)
    terms[10], terms[11] = _two_product(-cx, by)
    expansion = np.zeros(13)
    length = 0
    for i in range(12):
        length = _grow(expansion, length, terms[i])
    # The sign of a non-overlapping expansion is the sign of its largest component.
    for i in range(length - 1, -1, -1):
        if expansion[i] > 0.0:
            return 1
        if expansion[i] < 0.0:
            return -1
    return 0


@njit(cache=True)
def orient2d(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """Exact sign of the turn a -> b -> c: 1 counter-clockwise, -1 clockwise, 0 collinear."""
    left = (ax - cx) * (by - cy)
    right = (ay - cy) * (bx - cx)
    det = left - right
    if left > 0.0:
        if right <= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        total = left + right
    elif left < 0.0:
        if right >= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        total = -left - right
    else:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    bound = _CCW_ERRBOUND_A * total
    if det >= bound:
        return 1
    if -det >= bound:
        return -1
    return _orient2d_exact(ax, ay, bx, by, cx, cy)


# --- geodesy -----------------------------------------------------------------


@njit(cache=True)
def metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """WGS84 metres per degree of longitude and of latitude at a latitude.

    From the radii of curvature: N cos(lat) east-west, M north-south.
    """
    phi = lat_deg * DEG
    s = math.sin(phi)
    w = 1.0 - WGS84_E2 * s * s
    n = WGS84_A_M / math.sqrt(w)
    m = WGS84_A_M * (1.0 - WGS84_E2) / (w * math.sqrt(w))
    return n * math.cos(phi) * DEG, m * DEG


# --- grids -------------------------------------------------------------------


@njit(cache=True, inline="always")
def cell_index(value: float, origin: float, step: float, count: int) -> int:
    """Cell of `value` along one axis, clamped to 0..count-1; monotone in `value`."""
    if step <= 0.0:
        return 0
    i = int((value - origin) / step)
    if i >= count:
        return count - 1
    return max(i, 0)


@njit(cache=True, inline="always")
def _slack(cell: float, a: float, b: float) -> float:
    # Far above the rounding in cell_index and in the interpolation below.
    return 1e-9 * cell + 1e-12 * (1.0 + abs(a) + abs(b))


@njit(cache=True, inline="always")
def segment_rows(
    y1: float, y2: float, pad_y: float, y0: float, ch: float, ny: int
) -> tuple[int, int]:
    """First and last grid row that segment y1..y2, widened by pad_y, may meet."""
    slack = _slack(ch, y1, y2)
    return (
        cell_index(min(y1, y2) - pad_y - slack, y0, ch, ny),
        cell_index(max(y1, y2) + pad_y + slack, y0, ch, ny),
    )


@njit(cache=True, inline="always")
def row_span(
    row: int,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    pad_x: float,
    pad_y: float,
    x0: float,
    y0: float,
    cw: float,
    ch: float,
    nx: int,
    ny: int,
) -> tuple[int, int]:
    """First and last column, in `row`, of the cells that the segment widened by
    pad_x, pad_y may meet, in a grid at x0, y0 of cw x ch cells. A conservative
    supercover: it never misses a cell the widened segment touches, so a point
    within the pads of the segment always finds the segment filed in its cell."""
    slack_y = _slack(ch, y1, y2)
    band_lo = -np.inf if row == 0 else y0 + row * ch - slack_y - pad_y
    band_hi = np.inf if row == ny - 1 else y0 + (row + 1) * ch + slack_y + pad_y
    lo = max(band_lo, min(y1, y2))
    hi = min(band_hi, max(y1, y2))
    if lo > hi:
        return 0, -1
    if y1 == y2:
        xa = x1
        xb = x2
    else:
        slope = (x2 - x1) / (y2 - y1)
        xa = x1 + (lo - y1) * slope
        xb = x1 + (hi - y1) * slope
    slack_x = _slack(cw, x1, x2)
    return (
        cell_index(min(xa, xb) - pad_x - slack_x, x0, cw, nx),
        cell_index(max(xa, xb) + pad_x + slack_x, x0, cw, nx),
    )


@njit(cache=True, inline="always")
def _in_box(x: float, y: float, lo_x: float, lo_y: float, hi_x: float, hi_y: float) -> bool:
    return x >= lo_x and x <= hi_x and y >= lo_y and y <= hi_y


# --- segments ------------------------------------------------------------------


@njit(cache=True, inline="always")
def segment_d2(
    ax: float, ay: float, bx: float, by: float, x: float, y: float, kx: float, ky: float
) -> tuple[float, float]:
    """Squared metres from (x, y) to segment a-b in a local frame at the point
    (kx, ky metres per degree there), and the position 0..1 of the nearest point."""
    ax = (ax - x) * kx
    ay = (ay - y) * ky
    dx = (bx - x) * kx - ax
    dy = (by - y) * ky - ay
    length2 = dx * dx + dy * dy
    t = 0.0
    if length2 > 0.0:
        t = min(max(-(ax * dx + ay * dy) / length2, 0.0), 1.0)
    cx = ax + t * dx
    cy = ay + t * dy
    return cx * cx + cy * cy, t


@njit(cache=True, inline="always")
def _between(v: float, a: float, b: float) -> bool:
    return min(a, b) <= v <= max(a, b)


@njit(cache=True)
def segments_meet(
    ax: float, ay: float, bx: float, by: float, cx: float, cy: float, dx: float, dy: float
) -> bool:
    """Whether closed segments a-b and c-d share at least one point (exact)."""
    if max(cx, dx) < min(ax, bx) or min(cx, dx) > max(ax, bx):
        return False
    if max(cy, dy) < min(ay, by) or min(cy, dy) > max(ay, by):
        return False
    o1 = orient2d(ax, ay, bx, by, cx, cy)
    o2 = orient2d(ax, ay, bx, by, dx, dy)
    o3 = orient2d(cx, cy, dx, dy, ax, ay)
    o4 = orient2d(cx, cy, dx, dy, bx, by)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    if o1 == 0 and _between(cx, ax, bx) and _between(cy, ay, by):
        return True
    if o2 == 0 and _between(dx, ax, bx) and _between(dy, ay, by):
        return True
    if o3 == 0 and _between(ax, cx, dx) and _between(ay, cy, dy):
        return True
    return o4 == 0 and _between(bx, cx, dx) and _between(by, cy, dy)


# --- areas: the plain ray-crossing test ----------------------------------------


@njit(cache=True)
def slab_location(
    xs: np.ndarray,
    ys: np.ndarray,
    bbox: np.ndarray,
    slab_first: np.ndarray,
    slab_edge_start: np.ndarray,
    slab_edges: np.ndarray,
    f: int,
    x: float,
    y: float,
) -> int:
    """OUTSIDE, INSIDE or BOUNDARY of area f by counting crossings of a ray to +x.

    Even-odd over all rings of the feature, with GEOS's ray-crossing rules: an
    upward edge includes its start and excludes its end, a downward edge the
    reverse, horizontal edges never count. Used to place grid-cell centres when
    building, and where a cell has no usable centre.
    """
    if not _in_box(x, y, bbox[f, 0], bbox[f, 1], bbox[f, 2], bbox[f, 3]):
        return OUTSIDE
    s0 = slab_first[f]
    n_slabs = slab_first[f + 1] - s0
    if n_slabs == 0:
        return OUTSIDE
    height = (bbox[f, 3] - bbox[f, 1]) / n_slabs
    s = s0 + cell_index(y, bbox[f, 1], height, n_slabs)
    crossings = 0
    for j in range(slab_edge_start[s], slab_edge_start[s + 1]):
        k = slab_edges[j]
        x1 = xs[k]
        y1 = ys[k]
        x2 = xs[k + 1]
        y2 = ys[k + 1]
        if x1 < x and x2 < x:
            continue
        if x == x2 and y == y2:
            return BOUNDARY
        if y1 == y and y2 == y:
            if min(x1, x2) <= x <= max(x1, x2):
                return BOUNDARY
            continue
        if (y1 > y and y2 <= y) or (y2 > y and y1 <= y):
            turn = orient2d(x1, y1, x2, y2, x, y)
            if turn == 0:
                return BOUNDARY
            if y2 < y1:
                turn = -turn
            if turn > 0:
                crossings += 1
    return INSIDE if crossings % 2 == 1 else OUTSIDE


# --- points: which features contain them -------------------------------------


@njit(cache=True)
def scan_points(
    p: Packed,
    lon: np.ndarray,
    lat: np.ndarray,
    first: int,
    last: int,
    mode: int,
    dense: np.ndarray,
    counts: np.ndarray,
    offsets: np.ndarray,
    found: np.ndarray,
) -> int:
    """Find the features containing points first..last-1 and record them as `mode`
    says (DENSE, COUNT or FILL; the other outputs may be empty). Returns the
    number of (point, feature) hits. The boundary counts as inside."""
    xs = p.xs
    ys = p.ys
    bbox = p.bbox
    fgrid = p.fgrid
    fgrid_n = p.fgrid_n
    fcell_first = p.fcell_first
    fcell_start = p.fcell_start
    fcell_items = p.fcell_items
    fcell_ref = p.fcell_ref
    grid = p.grid
    nx = p.grid_n[0]
    ny = p.grid_n[1]

    def area_location(f: int, x: float, y: float) -> int:
        # A cell of f's grid knows where its centre R lies. Walking from R to the
        # point P flips inside/outside at each edge crossed, and every edge that
        # R-P can meet is filed under the cell. Touches are settled exactly by one
        # rule: a vertex on the line R-P counts as on its right, as if the line
        # were nudged an infinitesimal step left. Neither R nor P is on the
        # boundary, so the count is then exact.
        g = fgrid[f]
        gx = fgrid_n[f, 0]
        local = cell_index(y, g[1], g[3], fgrid_n[f, 1]) * gx + cell_index(x, g[0], g[2], gx)
        c = fcell_first[f] + local
        ref = int(fcell_ref[c])
        if ref == BOUNDARY:  # no usable centre here
            return slab_location(
                xs, ys, bbox, p.slab_first, p.slab_edge_start, p.slab_edges, f, x, y
            )
        if fcell_start[c] == fcell_start[c + 1]:
            return ref  # no edge meets the cell: all of it is where its centre is
        rx = g[0] + (local % gx + 0.5) * g[2]
        ry = g[1] + (local // gx + 0.5) * g[3]
        inside = ref == INSIDE
        for j in range(fcell_start[c], fcell_start[c + 1]):
            k = fcell_items[j]
            x1 = xs[k]
            y1 = ys[k]
            x2 = xs[k + 1]
            y2 = ys[k + 1]
            if max(x1, x2) < min(rx, x) or min(x1, x2) > max(rx, x):
                continue  # the edge's box misses the box of R-P, which holds P
            if max(y1, y2) < min(ry, y) or min(y1, y2) > max(ry, y):
                continue
            turn_p = orient2d(x1, y1, x2, y2, x, y)
            if turn_p == 0:
                # P on the edge's line: on the edge, or R-P cannot cross the edge.
                if _between(x, x1, x2) and _between(y, y1, y2):
                    return BOUNDARY
                continue
            if orient2d(x1, y1, x2, y2, rx, ry) == turn_p:
                continue  # R and P on the same side of the edge's line
            left_1 = orient2d(rx, ry, x, y, x1, y1) > 0
            left_2 = orient2d(rx, ry, x, y, x2, y2) > 0
            if left_1 != left_2:
                inside = not inside
        return INSIDE if inside else OUTSIDE

    def line_contains(f: int, x: float, y: float) -> bool:
        # Every segment within buffer_m of the point is filed under its cell.
        g = fgrid[f]
        gx = fgrid_n[f, 0]
        c = fcell_first[f] + (
            cell_index(y, g[1], g[3], fgrid_n[f, 1]) * gx + cell_index(x, g[0], g[2], gx)
        )
        kx, ky = metres_per_degree(y)
        best = np.inf
        for j in range(fcell_start[c], fcell_start[c + 1]):
            k = fcell_items[j]
            d2, _ = segment_d2(xs[k], ys[k], xs[k + 1], ys[k + 1], x, y, kx, ky)
            best = min(best, d2)
        return math.sqrt(best) <= p.buffer_m[f]

    hits = 0
    for i in range(first, last):
        x = lon[i]
        y = lat[i]
        if not _in_box(x, y, grid[0], grid[1], grid[2], grid[3]):  # NaN too
            continue
        cell = cell_index(y, grid[1], grid[5], ny) * nx + cell_index(x, grid[0], grid[4], nx)
        n = 0
        for j in range(p.cell_start[cell], p.cell_start[cell + 1]):
            f = p.cell_feature[j]
            hit = p.cell_inside[j]
            if not hit and _in_box(x, y, bbox[f, 0], bbox[f, 1], bbox[f, 2], bbox[f, 3]):
                if p.kind[f] == AREA:
                    hit = area_location(f, x, y) != OUTSIDE
                else:
                    hit = line_contains(f, x, y)
            if hit:
                if mode == DENSE:
                    dense[f, i] = True
                elif mode == FILL:
                    found[offsets[i] + n] = f
                n += 1
        if mode == COUNT:
            counts[i] = n
        hits += n
    return hits


@njit(cache=True, parallel=True)
def contains_dense(p: Packed, lon: np.ndarray, lat: np.ndarray, out: np.ndarray) -> None:
    """out[f, i] = feature f contains point i (out must come in all False)."""
    n = lon.shape[0]
    none = np.empty(0, dtype=np.int64)
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        first = chunk * CHUNK
        scan_points(p, lon, lat, first, min(first + CHUNK, n), DENSE, out, none, none, none)


@njit(cache=True, parallel=True)
def locate_count(p: Packed, lon: np.ndarray, lat: np.ndarray, counts: np.ndarray) -> None:
    """counts[i] = how many features contain point i."""
    n = lon.shape[0]
    none = np.empty(0, dtype=np.int64)
    no_dense = np.empty((0, 0), dtype=np.bool_)
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        first = chunk * CHUNK
        scan_points(p, lon, lat, first, min(first + CHUNK, n), COUNT, no_dense, counts, none, none)


@njit(cache=True, parallel=True)
def locate_fill(
    p: Packed, lon: np.ndarray, lat: np.ndarray, offsets: np.ndarray, features: np.ndarray
) -> None:
    """features[offsets[i]:offsets[i + 1]] = the features containing point i, in order."""
    n = lon.shape[0]
    none = np.empty(0, dtype=np.int64)
    no_dense = np.empty((0, 0), dtype=np.bool_)
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        first = chunk * CHUNK
        last = min(first + CHUNK, n)
        scan_points(p, lon, lat, first, last, FILL, no_dense, none, offsets, features)


# --- lines: distance, chainage, nearest ----------------------------------------


@njit(cache=True)
def measure_points(
    p: Packed,
    lines: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    first: int,
    last: int,
    which: np.ndarray,
    distance: np.ndarray,
    chainage: np.ndarray,
) -> None:
    """For points first..last-1: the nearest of `lines` (feature indexes), the
    distance to its centre line and the chainage of the nearest point on it, in
    metres (-1, inf, NaN when there is no line; -1, NaN, NaN for a NaN point)."""
    xs = p.xs
    ys = p.ys
    bbox = p.bbox
    fgrid = p.fgrid
    fgrid_n = p.fgrid_n
    fcell_start = p.fcell_start
    fcell_items = p.fcell_items

    def nearest(f: int, x: float, y: float, kx: float, ky: float) -> tuple[float, int, float]:
        # The segments filed under the point's cell are all those within buffer_m;
        # if one of them is that close it is the nearest, else look at them all.
        best = np.inf
        best_k = p.vert_first[f]
        best_t = 0.0
        if _in_box(x, y, bbox[f, 0], bbox[f, 1], bbox[f, 2], bbox[f, 3]):
            g = fgrid[f]
            gx = fgrid_n[f, 0]
            c = p.fcell_first[f] + (
                cell_index(y, g[1], g[3], fgrid_n[f, 1]) * gx + cell_index(x, g[0], g[2], gx)
            )
            for j in range(fcell_start[c], fcell_start[c + 1]):
                k = fcell_items[j]
                d2, t = segment_d2(xs[k], ys[k], xs[k + 1], ys[k + 1], x, y, kx, ky)
                if d2 < best:
                    best, best_k, best_t = d2, k, t
            if math.sqrt(best) <= p.buffer_m[f]:
                return best, best_k, best_t
        best = np.inf
        for k in range(p.vert_first[f], p.vert_first[f + 1] - 1):
            d2, t = segment_d2(xs[k], ys[k], xs[k + 1], ys[k + 1], x, y, kx, ky)
            if d2 < best:
                best, best_k, best_t = d2, k, t
        return best, best_k, best_t

    for i in range(first, last):
        x = lon[i]
        y = lat[i]
        which[i] = -1
        distance[i] = np.inf
        chainage[i] = np.nan
        if not (np.isfinite(x) and np.isfinite(y)):
            distance[i] = np.nan
            continue
        kx, ky = metres_per_degree(y)
        best = np.inf
        for f in lines:
            # Skip a line whose whole box is farther than the best so far.
            dx = max(bbox[f, 0] - x, 0.0, x - bbox[f, 2]) * kx
            dy = max(bbox[f, 1] - y, 0.0, y - bbox[f, 3]) * ky
            if dx * dx + dy * dy >= best:
                continue
            d2, k, t = nearest(f, x, y, kx, ky)
            if d2 < best:
                best = d2
                which[i] = f
                chainage[i] = p.chainage_m[k] + t * (p.chainage_m[k + 1] - p.chainage_m[k])
        distance[i] = math.sqrt(best)


@njit(cache=True, parallel=True)
def measure_dense(
    p: Packed,
    lines: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    which: np.ndarray,
    distance: np.ndarray,
    chainage: np.ndarray,
) -> None:
    n = lon.shape[0]
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        first = chunk * CHUNK
        last = min(first + CHUNK, n)
        measure_points(p, lines, lon, lat, first, last, which, distance, chainage)


# --- segments between fixes: what they cross ------------------------------------


@njit(cache=True)
def scan_segments(
    p: Packed,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    first: int,
    last: int,
    dense: np.ndarray,
    seen: np.ndarray,
    stamp: int,
    candidates: np.ndarray,
    found: np.ndarray,
) -> int:
    """For segments first..last-1, the features whose boundary (area) or centre
    line (corridor) each meets, touching included. With rows in `dense`, marks
    dense[f, i]; otherwise lists them in `found` (meant for one segment) and
    returns how many. `seen` and `candidates` (n_features each) are scratch:
    segment i marks `seen` with stamp + i, so every value in `seen` must be
    below stamp + first."""
    xs = p.xs
    ys = p.ys
    bbox = p.bbox
    grid = p.grid
    nx = p.grid_n[0]
    ny = p.grid_n[1]

    def gather(x1: float, y1: float, x2: float, y2: float, stamp: int) -> int:
        # Features filed under the set-grid cells the segment passes, each once.
        n = 0
        if max(x1, x2) < grid[0] or min(x1, x2) > grid[2]:
            return n
        if max(y1, y2) < grid[1] or min(y1, y2) > grid[3]:
            return n
        r0, r1 = segment_rows(y1, y2, 0.0, grid[1], grid[5], ny)
        for row in range(r0, r1 + 1):
            c0, c1 = row_span(
                row, x1, y1, x2, y2, 0.0, 0.0, grid[0], grid[1], grid[4], grid[5], nx, ny
            )
            for cell in range(row * nx + c0, row * nx + c1 + 1):
                for j in range(p.cell_start[cell], p.cell_start[cell + 1]):
                    f = p.cell_feature[j]
                    if seen[f] != stamp:
                        seen[f] = stamp
                        candidates[n] = f
                        n += 1
        return n

    def meets(f: int, x1: float, y1: float, x2: float, y2: float) -> bool:
        # A meeting point lies on the segment, so in a cell of its supercover,
        # and the edge through it is filed under that cell.
        if max(x1, x2) < bbox[f, 0] or min(x1, x2) > bbox[f, 2]:
            return False
        if max(y1, y2) < bbox[f, 1] or min(y1, y2) > bbox[f, 3]:
            return False
        g = p.fgrid[f]
        gx = p.fgrid_n[f, 0]
        gy = p.fgrid_n[f, 1]
        base = p.fcell_first[f]
        r0, r1 = segment_rows(y1, y2, 0.0, g[1], g[3], gy)
        for row in range(r0, r1 + 1):
            c0, c1 = row_span(row, x1, y1, x2, y2, 0.0, 0.0, g[0], g[1], g[2], g[3], gx, gy)
            for cell in range(base + row * gx + c0, base + row * gx + c1 + 1):
                for j in range(p.fcell_start[cell], p.fcell_start[cell + 1]):
                    k = p.fcell_items[j]
                    if segments_meet(x1, y1, x2, y2, xs[k], ys[k], xs[k + 1], ys[k + 1]):
                        return True
        return False

    hits = 0
    for i in range(first, last):
        finite = np.isfinite(ax[i]) and np.isfinite(ay[i])
        if not (finite and np.isfinite(bx[i]) and np.isfinite(by[i])):
            continue
        for m in range(gather(ax[i], ay[i], bx[i], by[i], stamp + i)):
            f = candidates[m]
            if meets(f, ax[i], ay[i], bx[i], by[i]):
                if dense.shape[0] > 0:
                    dense[f, i] = True
                else:
                    found[hits] = f
                hits += 1
    return hits


@njit(cache=True, parallel=True)
def crosses_dense(
    p: Packed, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, out: np.ndarray
) -> None:
    """out[f, i] = segment i meets the boundary (area) or centre line (corridor) of f."""
    n = ax.shape[0]
    n_features = p.kind.shape[0]
    none = np.empty(0, dtype=np.int64)
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        first = chunk * CHUNK
        seen = np.full(n_features, -1, dtype=np.int64)
        candidates = np.empty(n_features, dtype=np.int64)
        last = min(first + CHUNK, n)
        scan_segments(p, ax, ay, bx, by, first, last, out, seen, 0, candidates, none)


# --- streaming ---------------------------------------------------------------


@njit(cache=True)
def track_step(
    p: Packed,
    fix: np.ndarray,
    corridor: np.ndarray,
    inside: np.ndarray,
    crossed: np.ndarray,
    seen: np.ndarray,
    candidates: np.ndarray,
    stamp: int,
    measures: np.ndarray,
) -> tuple[int, int]:
    """One fix of one unit. `fix` holds lon, lat, previous lon, previous lat
    (NaN when there is none). Writes the features containing the fix into
    `inside`; the features whose boundary the straight path from the previous
    fix meets into `crossed`; and, when `corridor` holds one line, the distance
    to it, the chainage and the length remaining (metres) into `measures`.
    `stamp` must grow from call to call (it marks `seen`)."""
    no_dense = np.empty((0, 0), dtype=np.bool_)
    none = np.empty(0, dtype=np.int64)
    offsets = np.zeros(1, dtype=np.int64)
    n_inside = scan_points(p, fix[0:1], fix[1:2], 0, 1, FILL, no_dense, none, offsets, inside)
    n_crossed = 0
    if np.isfinite(fix[2]) and np.isfinite(fix[3]):
        n_crossed = scan_segments(
            p,
            fix[2:3],
            fix[3:4],
            fix[0:1],
            fix[1:2],
            0,
            1,
            no_dense,
            seen,
            stamp,
            candidates,
            crossed,
        )
    if corridor.shape[0] == 1:
        which = np.empty(1, dtype=np.int64)
        distance = np.empty(1)
        chainage = np.empty(1)
        measure_points(p, corridor, fix[0:1], fix[1:2], 0, 1, which, distance, chainage)
        f = corridor[0]
        measures[0] = distance[0]
        measures[1] = chainage[0]
        measures[2] = p.chainage_m[p.vert_first[f + 1] - 1] - chainage[0]
    return n_inside, n_crossed


# --- building the indexes ----------------------------------------------------


@njit(cache=True)
def build_slabs(
    xs: np.ndarray,
    ys: np.ndarray,
    kind: np.ndarray,
    bbox: np.ndarray,
    ring_start: np.ndarray,
    ring_end: np.ndarray,
    feature_ring: np.ndarray,
    slab_first: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """File each ring edge of each area under every horizontal slab its y-range meets."""
    counts = np.zeros(slab_first[-1], dtype=np.int64)
    start = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    edges = np.empty(0, dtype=np.int64)
    fill = np.empty(0, dtype=np.int64)
    # Two passes over the same loops: count, then fill.
    for phase in range(2):
        if phase == 1:
            start[1:] = np.cumsum(counts)
            edges = np.empty(start[-1], dtype=np.int64)
            fill = start[:-1].copy()
        for f in range(kind.shape[0]):
            n_slabs = slab_first[f + 1] - slab_first[f]
            if kind[f] != AREA or n_slabs == 0:
                continue
            height = (bbox[f, 3] - bbox[f, 1]) / n_slabs
            for r in range(feature_ring[f], feature_ring[f + 1]):
                for k in range(ring_start[r], ring_end[r] - 1):
                    lo = cell_index(min(ys[k], ys[k + 1]), bbox[f, 1], height, n_slabs)
                    hi = cell_index(max(ys[k], ys[k + 1]), bbox[f, 1], height, n_slabs)
                    for s in range(slab_first[f] + lo, slab_first[f] + hi + 1):
                        if phase == 0:
                            counts[s] += 1
                        else:
                            edges[fill[s]] = k
                            fill[s] += 1
    return start, edges


@njit(cache=True)
def segments_of(p: Packed, f: int) -> np.ndarray:
    """First vertices of feature f's segments: the edges of its rings, or of its line."""
    if p.kind[f] == LINE:
        return np.arange(p.vert_first[f], p.vert_first[f + 1] - 1)
    n = 0
    for r in range(p.feature_ring[f], p.feature_ring[f + 1]):
        n += p.ring_end[r] - p.ring_start[r] - 1
    out = np.empty(n, dtype=np.int64)
    n = 0
    for r in range(p.feature_ring[f], p.feature_ring[f + 1]):
        for k in range(p.ring_start[r], p.ring_end[r] - 1):
            out[n] = k
            n += 1
    return out


@njit(cache=True)
def build_feature_cells(p: Packed, pad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """File each segment of each feature under the cells of the feature's grid that
    it meets, widened by pad[k] (degrees; a line's buffer, zero for ring edges);
    then place each area cell's centre with the slabs (BOUNDARY when the centre
    is on the boundary or rounding put it in another cell: no usable centre)."""
    counts = np.zeros(p.fcell_first[-1], dtype=np.int64)
    start = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    items = np.empty(0, dtype=np.int64)
    fill = np.empty(0, dtype=np.int64)
    for phase in range(2):
        if phase == 1:
            start[1:] = np.cumsum(counts)
            items = np.empty(start[-1], dtype=np.int64)
            fill = start[:-1].copy()
        for f in range(p.kind.shape[0]):
            g = p.fgrid[f]
            nx = p.fgrid_n[f, 0]
            ny = p.fgrid_n[f, 1]
            for k in segments_of(p, f):
                x1 = p.xs[k]
                y1 = p.ys[k]
                x2 = p.xs[k + 1]
                y2 = p.ys[k + 1]
                r0, r1 = segment_rows(y1, y2, pad[k, 1], g[1], g[3], ny)
                for row in range(r0, r1 + 1):
                    c0, c1 = row_span(
                        row, x1, y1, x2, y2, pad[k, 0], pad[k, 1], g[0], g[1], g[2], g[3], nx, ny
                    )
                    for c in range(
                        p.fcell_first[f] + row * nx + c0, p.fcell_first[f] + row * nx + c1 + 1
                    ):
                        if phase == 0:
                            counts[c] += 1
                        else:
                            items[fill[c]] = k
                            fill[c] += 1
    ref = np.full(counts.shape[0], OUTSIDE, dtype=np.int8)
    for f in range(p.kind.shape[0]):
        if p.kind[f] != AREA:
            continue
        g = p.fgrid[f]
        nx = p.fgrid_n[f, 0]
        ny = p.fgrid_n[f, 1]
        b = p.bbox[f]
        for local in range(nx * ny):
            ix = local % nx
            iy = local // nx
            rx = g[0] + (ix + 0.5) * g[2]
            ry = g[1] + (iy + 0.5) * g[3]
            usable = (
                _in_box(rx, ry, b[0], b[1], b[2], b[3])
                and cell_index(rx, g[0], g[2], nx) == ix
                and cell_index(ry, g[1], g[3], ny) == iy
            )
            where = BOUNDARY
            if usable:
                where = slab_location(
                    p.xs, p.ys, p.bbox, p.slab_first, p.slab_edge_start, p.slab_edges, f, rx, ry
                )
            ref[p.fcell_first[f] + local] = where
    return start, items, ref


@njit(cache=True)
def build_set_cells(p: Packed, pad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """File every feature under the set-grid cells of its box, except cells wholly
    outside it; flag cells wholly inside an area so that queries there skip geometry."""
    g = p.grid
    nx = p.grid_n[0]
    ny = p.grid_n[1]
    cap = 1024
    pair_cell = np.empty(cap, dtype=np.int64)
    pair_feature = np.empty(cap, dtype=np.int64)
    pair_inside = np.empty(cap, dtype=np.bool_)
    n = 0
    for f in range(p.kind.shape[0]):
        if p.vert_first[f + 1] == p.vert_first[f]:
            continue  # an empty geometry contains nothing
        ix0 = cell_index(p.bbox[f, 0], g[0], g[4], nx)
        ix1 = cell_index(p.bbox[f, 2], g[0], g[4], nx)
        iy0 = cell_index(p.bbox[f, 1], g[1], g[5], ny)
        iy1 = cell_index(p.bbox[f, 3], g[1], g[5], ny)
        # Cells that a boundary edge, or a buffered segment, may pass through.
        touched = np.zeros((iy1 - iy0 + 1, ix1 - ix0 + 1), dtype=np.bool_)
        for k in segments_of(p, f):
            x1 = p.xs[k]
            y1 = p.ys[k]
            x2 = p.xs[k + 1]
            y2 = p.ys[k + 1]
            r0, r1 = segment_rows(y1, y2, pad[k, 1], g[1], g[5], ny)
            for row in range(max(r0, iy0), min(r1, iy1) + 1):
                c0, c1 = row_span(
                    row, x1, y1, x2, y2, pad[k, 0], pad[k, 1], g[0], g[1], g[4], g[5], nx, ny
                )
                for col in range(max(c0, ix0), min(c1, ix1) + 1):
                    touched[row - iy0, col - ix0] = True
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                inside = False
                if not touched[iy - iy0, ix - ix0]:
                    if p.kind[f] == LINE:
                        continue  # no segment within the buffer of any point here
                    # No boundary reaches this cell: its centre decides for all of it.
                    cx = g[0] + (ix + 0.5) * g[4]
                    cy = g[1] + (iy + 0.5) * g[5]
                    if (
                        cell_index(cx, g[0], g[4], nx) == ix
                        and cell_index(cy, g[1], g[5], ny) == iy
                    ):
                        where = slab_location(
                            p.xs,
                            p.ys,
                            p.bbox,
                            p.slab_first,
                            p.slab_edge_start,
                            p.slab_edges,
                            f,
                            cx,
                            cy,
                        )
                        if where == OUTSIDE:
                            continue
                        inside = where == INSIDE
                if n == cap:
                    cap *= 2
                    pair_cell = _grown(pair_cell, cap)
                    pair_feature = _grown(pair_feature, cap)
                    pair_inside = _grown(pair_inside, cap)
                pair_cell[n] = iy * nx + ix
                pair_feature[n] = f
                pair_inside[n] = inside
                n += 1
    # Counting sort by cell keeps features in collection order within a cell.
    start = np.zeros(nx * ny + 1, dtype=np.int64)
    for m in range(n):
        start[pair_cell[m] + 1] += 1
    start = np.cumsum(start)
    fill = start[:-1].copy()
    features = np.empty(n, dtype=np.int64)
    inside_flags = np.empty(n, dtype=np.bool_)
    for m in range(n):
        c = pair_cell[m]
        features[fill[c]] = pair_feature[m]
        inside_flags[fill[c]] = pair_inside[m]
        fill[c] += 1
    return start, features, inside_flags


@njit(cache=True)
def _grown(a: np.ndarray, size: int) -> np.ndarray:
    b = np.empty(size, dtype=a.dtype)
    b[: a.shape[0]] = a
    return b
