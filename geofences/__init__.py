"""Geofences: areas and corridors as numba kernels over packed arrays, plus site data.

Geometry only — which fences contain a fix, how far it is from a corridor, what a
path between two fixes crosses. What an exit means is policy, and lives in central.
"""

from geofences.errors import GeofenceError, InvalidGeoJSON, InvalidQuery, UnknownFence
from geofences.fenceset import CorridorMeasure, FenceSet, Memberships
from geofences.tracker import FenceChange, FenceTracker

__all__ = [
    "CorridorMeasure",
    "FenceChange",
    "FenceSet",
    "FenceTracker",
    "GeofenceError",
    "InvalidGeoJSON",
    "InvalidQuery",
    "Memberships",
    "UnknownFence",
]
