"""The `Fix`: what one reporting cycle of a GNSS receiver says about where it is."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


class FixMode(IntEnum):
    """NMEA/gpsd fix mode."""

    NO_FIX = 1
    TWO_D = 2
    THREE_D = 3


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class Fix(BaseModel):
    """One reporting cycle, merged from all its sentences (or one gpsd TPV report).

    Positions are WGS84 degrees; `alt_m` is above mean sea level. Fields the
    receiver did not report are None. With mode 1 (no fix) there is no position.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: UtcTime = Field(description="time of the fix, UTC")
    mode: FixMode = Field(description="1 no fix, 2 2D, 3 3D")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    alt_m: float | None = Field(default=None, description="altitude above mean sea level")
    geoid_separation_m: float | None = Field(default=None, description="ellipsoid - geoid")
    speed_mps: float | None = Field(default=None, ge=0)
    speed_derived: bool = Field(
        default=False,
        description="speed computed from this and the previous fix (the cycle reported none)",
    )
    course_deg: float | None = Field(default=None, ge=0, lt=360, description="true course")
    hdop: float | None = Field(default=None, ge=0)
    vdop: float | None = Field(default=None, ge=0)
    pdop: float | None = Field(default=None, ge=0)
    lat_err_m: float | None = Field(default=None, ge=0, description="GST, 1 sigma")
    lon_err_m: float | None = Field(default=None, ge=0, description="GST, 1 sigma")
    alt_err_m: float | None = Field(default=None, ge=0, description="GST, 1 sigma")
    ellipse_major_m: float | None = Field(default=None, ge=0, description="GST, 1 sigma")
    ellipse_minor_m: float | None = Field(default=None, ge=0, description="GST, 1 sigma")
    ellipse_orientation_deg: float | None = Field(default=None, description="GST, from true N")
    eph_m: float | None = Field(
        default=None, ge=0, description="gpsd's estimated horizontal error (TPV eph, ~95 %)"
    )
    satellites_used: int | None = Field(default=None, ge=0)
    satellites_seen: int | None = Field(default=None, ge=0)

    @property
    def has_position(self) -> bool:
        return self.mode >= FixMode.TWO_D and self.lat is not None and self.lon is not None

    @property
    def horizontal_error_m(self) -> float | None:
        """1-sigma horizontal error from GST, when the receiver sends it."""
        if self.lat_err_m is None or self.lon_err_m is None:
            return None
        return math.hypot(self.lat_err_m, self.lon_err_m)

    def summary(self) -> dict[str, Any]:
        """The fixed-key JSON object of `corridor gnss decode --json`."""
        data: dict[str, Any] = {
            "time": self.time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "lat": self.lat,
            "lon": self.lon,
            "speed_mps": self.speed_mps,
            "course_deg": self.course_deg,
            "mode": int(self.mode),
            "hdop": self.hdop,
        }
        rest = self.model_dump(exclude={"time", "mode", *data})
        data.update(rest)
        return data
