"""The one exception root of the geofences package."""

from __future__ import annotations


class GeofenceError(Exception):
    """Root of every error raised by `geofences`."""


class InvalidGeoJSON(GeofenceError, ValueError):
    """A feature collection that cannot be loaded; the message names the feature."""


class InvalidQuery(GeofenceError, ValueError):
    """Query arrays of the wrong shape or type."""


class UnknownFence(GeofenceError, KeyError):
    """A fence id or index that is not in the set."""

    def __str__(self) -> str:
        # KeyError would print the repr of its argument; the message reads better.
        return str(self.args[0]) if self.args else ""
