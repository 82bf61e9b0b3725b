"""`FenceSet`: a collection of areas and corridors, queried in bulk.

Boundary rule: a point on the boundary of an area (outer ring or hole, shared
edges and vertices included) is contained — the same answer as shapely's
`intersects_xy`; off the boundary the answer equals shapely's `contains_xy`.
A corridor contains a point whose distance to its centre line is <= buffer_m.
See docs/geofences.md for the distance model and its error bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from geofences import kernels
from geofences.errors import InvalidQuery, UnknownFence
from geofences.geojson import FenceFeature, read_features
from geofences.packing import pack


class Memberships(NamedTuple):
    """Sparse containment: point i is in `features[offsets[i]:offsets[i + 1]]` (feature order)."""

    offsets: np.ndarray  # int64 (n_points + 1,)
    features: np.ndarray  # int64


class CorridorMeasure(NamedTuple):
    """Where points are relative to one corridor, in metres (NaN for non-finite points)."""

    distance_m: np.ndarray  # to the centre line
    chainage_m: np.ndarray  # along the line from its start to the nearest point
    remaining_m: np.ndarray  # along the line from the nearest point to its end


class FenceSet:
    """Areas and corridors from one GeoJSON FeatureCollection, in collection order."""

    def __init__(self, features: Sequence[FenceFeature]) -> None:
        self._features = tuple(features)
        self.packed = pack(list(self._features))
        self._index = {feature.id: i for i, feature in enumerate(self._features)}

    @classmethod
    def from_geojson(cls, feature_collection: dict[str, Any]) -> FenceSet:
        """Load a FeatureCollection; raise `InvalidGeoJSON` (a `GeofenceError`) if it is not one."""
        return cls(read_features(feature_collection))

    # --- what is in the set ---------------------------------------------------

    def __len__(self) -> int:
        return len(self._features)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(feature.id for feature in self._features)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Per feature: node, corridor, stop_zone, controlled_area or geofence."""
        return tuple(feature.kind for feature in self._features)

    @property
    def properties(self) -> tuple[Mapping[str, Any], ...]:
        """Per feature, its GeoJSON properties (read-only views)."""
        return tuple(MappingProxyType(feature.properties) for feature in self._features)

    @property
    def corridors(self) -> tuple[int, ...]:
        """Indexes of the corridor features."""
        return tuple(i for i, feature in enumerate(self._features) if feature.is_line)

    def index(self, fence: str | int) -> int:
        """Feature index of a fence given by id or index."""
        if isinstance(fence, int) and not isinstance(fence, bool):
            if 0 <= fence < len(self._features):
                return fence
            raise UnknownFence(f"no fence at index {fence} (the set has {len(self)})")
        try:
            return self._index[str(fence)]
        except KeyError as err:
            raise UnknownFence(f"no fence with id {fence!r}") from err

    def buffer_m(self, fence: str | int) -> float:
        return self._corridor(fence).buffer_m

    def length_m(self, fence: str | int) -> float:
        """Length of a corridor's centre line in metres."""
        f = self.index(fence)
        self._corridor(f)
        return float(self.packed.chainage_m[self.packed.vert_first[f + 1] - 1])

    # --- bulk queries ----------------------------------------------------------

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """bool array (n_features, n_points): feature f contains point i. Boundary counts."""
        x, y = _points(lon, lat)
        out = np.zeros((len(self), len(x)), dtype=np.bool_)
        if len(self) and len(x):
            kernels.contains_dense(self.packed, x, y, out)
        return out

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> Memberships:
        """Sparse `contains`: for each point, the features containing it."""
        x, y = _points(lon, lat)
        counts = np.zeros(len(x), dtype=np.int64)
        if len(self) and len(x):
            kernels.locate_count(self.packed, x, y, counts)
        offsets = np.zeros(len(x) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        features = np.empty(int(offsets[-1]), dtype=np.int64)
        if len(features):
            kernels.locate_fill(self.packed, x, y, offsets, features)
        return Memberships(offsets, features)

    def crosses(
        self, lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray
    ) -> np.ndarray:
        """bool (n_features, n_segments): the straight segment from point 0 to point 1
        meets the boundary of area f (touching counts), or the centre line of corridor f."""
        ax, ay = _points(lon0, lat0)
        bx, by = _points(lon1, lat1)
        if ax.shape != bx.shape:
            raise InvalidQuery("segment start and end arrays differ in length")
        out = np.zeros((len(self), len(ax)), dtype=np.bool_)
        if len(self) and len(ax):
            kernels.crosses_dense(self.packed, ax, ay, bx, by, out)
        return out

    def measure(self, fence: str | int, lon: np.ndarray, lat: np.ndarray) -> CorridorMeasure:
        """Distance to a corridor's centre line, chainage along it and distance remaining
        to its end, for each point. The nearest point of the line decides chainage."""
        f = self.index(fence)
        self._corridor(f)
        _, distance, chainage = self._measure(np.array([f], dtype=np.int64), lon, lat)
        return CorridorMeasure(distance, chainage, self.length_m(f) - chainage)

    def nearest_corridor(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point, the nearest corridor (index; -1 if none) and the distance to its
        centre line in metres (inf if none)."""
        which, distance, _ = self._measure(np.array(self.corridors, dtype=np.int64), lon, lat)
        return which, distance

    def _measure(
        self, lines: np.ndarray, lon: np.ndarray, lat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, y = _points(lon, lat)
        which = np.empty(len(x), dtype=np.int64)
        distance = np.empty(len(x))
        chainage = np.empty(len(x))
        if len(x):
            kernels.measure_dense(self.packed, lines, x, y, which, distance, chainage)
        return which, distance, chainage

    def _corridor(self, fence: str | int) -> FenceFeature:
        feature = self._features[self.index(fence)]
        if not feature.is_line:
            raise InvalidQuery(f"fence {feature.id!r} is not a corridor")
        return feature


def _points(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous float64 copies (or views) of two matching 1-D coordinate arrays;
    a scalar is one point."""
    if lon is None or lat is None:  # numpy would read None as NaN
        raise InvalidQuery("coordinates must be numeric arrays, got None")
    try:
        x = np.ascontiguousarray(lon, dtype=np.float64)
        y = np.ascontiguousarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidQuery(f"coordinates must be numeric arrays: {err}") from err
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise InvalidQuery(
            f"lon and lat must be 1-D arrays of equal length, got shapes {x.shape} and {y.shape}"
        )
    return x, y
