"""Settings of the transit rules: where the fences come from, central's clock, and the
tolerances every corridor gets unless its GeoJSON properties say otherwise.

The defaults lean towards patience. A corridor that raises an alert for every fuel stop,
every GPS wobble by a bridge and every slow climb teaches operators to acknowledge
without looking; the rules are meant to fire on the few units that matter.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# Tolerance names a corridor feature may override in its GeoJSON properties.
CORRIDOR_OVERRIDES = (
    "tolerance_m",
    "deviation_after_s",
    "deviation_clear_s",
    "dwell_s",
    "stop_after_s",
    "stop_radius_m",
    "stop_speed_mps",
    "signal_loss_after_s",
    "nominal_speed_kmh",
    "overdue_grace_s",
)


class Tolerances(BaseModel):
    """How patient the rules are. Every field can be set per corridor (GeoJSON property)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance_m: float | None = Field(
        default=None,
        gt=0,
        description="distance from the corridor's centre line beyond which a unit deviates; "
        "default: the corridor's own buffer_m",
    )
    deviation_after_s: float = Field(
        default=300,
        ge=0,
        description="a unit must be off the corridor this long (device time) before "
        "corridor_deviation: a short detour to a fuel station is not a diversion",
    )
    deviation_clear_s: float = Field(
        default=120, ge=0, description="back on the corridor this long ends the deviation"
    )
    dwell_s: float = Field(
        default=60,
        ge=0,
        description="a unit must be on the other side of a fence boundary this long before "
        "central believes it entered or left (one fix on a bad GPS day is not an exit)",
    )
    stop_after_s: float = Field(
        default=1800,
        ge=0,
        description="stationary this long outside an allowed stop zone: unauthorized_stop. "
        "Drivers rest, eat and queue; 30 min separates that from unloading",
    )
    stop_radius_m: float = Field(
        default=100,
        gt=0,
        description="a unit that stays within this radius (plus its GPS uncertainty) of where "
        "it stopped is still stopped",
    )
    stop_speed_mps: float = Field(
        default=1.0,
        ge=0,
        description="a reported speed below this counts as standing still",
    )
    signal_loss_after_s: float = Field(
        default=900,
        gt=0,
        description="no fix for this long (device time of the last fix against central's "
        "clock): signal_loss. 15 min is several missed reports at usual 1-5 min intervals",
    )
    nominal_speed_kmh: float = Field(
        default=40,
        gt=0,
        description="speed a leg is planned at (ETA = remaining distance along the corridor "
        "/ this); trucks on regional corridors average 30-50 km/h with stops",
    )
    overdue_grace_s: float = Field(
        default=7200,
        ge=0,
        description="a unit is overdue at its next node this long after the ETA",
    )
    accuracy_sigmas: float = Field(
        default=2.0,
        gt=0,
        description="GPS uncertainty radius = this many times the fix's 1-sigma accuracy",
    )
    uere_m: float = Field(
        default=5.0,
        gt=0,
        description="user equivalent range error: 1-sigma accuracy = hdop * this, "
        "for fixes that report hdop but no accuracy_m",
    )
    unknown_accuracy_m: float = Field(
        default=25.0, gt=0, description="1-sigma accuracy assumed when a fix reports neither"
    )
    max_accuracy_m: float = Field(
        default=500.0,
        gt=0,
        description="fixes with a worse 1-sigma accuracy are stored but not judged by geometry",
    )

    def merged(self, overrides: dict[str, Any]) -> Tolerances:
        """These tolerances with a corridor's own values (its GeoJSON properties) on top."""
        picked = {k: overrides[k] for k in CORRIDOR_OVERRIDES if k in overrides}
        if not picked:
            return self
        return Tolerances.model_validate({**self.model_dump(), **picked})


class ClockSettings(BaseModel):
    """Central's transit clock: UTC, or a manual clock for rehearsals."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["system", "manual"] = Field(
        default="system",
        description="system: UTC now. manual (rehearsals and tests only): the clock stands "
        "at `start` and moves only by PUT /api/v1/transit/clock, so a scenario in scaled "
        "time is judged exactly as in real time",
    )
    start: AwareDatetime | None = Field(
        default=None, description="where a manual clock starts (default: now)"
    )


class TransitSettings(BaseModel):
    """Units in transit: fences, clock, sweep and tolerances."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="ingest position fixes and seal events")
    fences: list[str] = Field(
        default_factory=list,
        description="where corridors and areas come from, merged in order: `site:NAME` "
        "(shipped with geofences, e.g. site:northern-corridor) or a GeoJSON file",
    )
    sweep_interval_s: float = Field(
        default=10,
        gt=0,
        le=600,
        description="how often every movement in transit is checked for silence and overdue "
        "arrival (a fix cannot tell that no fix came)",
    )
    binding_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="how long a device's movement, route and customs status are reused "
        "before they are read again (a binding made through the API applies at once)",
    )
    tolerances: Tolerances = Field(
        default_factory=Tolerances, description="defaults; a corridor's properties override"
    )
    clock: ClockSettings = Field(default_factory=ClockSettings, description="central's clock")

    @field_validator("fences")
    @classmethod
    def _sources(cls, fences: list[str]) -> list[str]:
        for source in fences:
            if not source.strip():
                raise ValueError("a fence source is `site:NAME` or a GeoJSON file path")
        return fences
