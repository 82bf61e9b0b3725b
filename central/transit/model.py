"""What the transit rules see and remember.

Events (`Fix`, `SealChange`, `Tick`) carry device time (`at`) and the movement's
`MovementContext`; the rules keep what they remember in one `TransitState` per
movement, which is stored as JSON after every change (so a restart of central
neither forgets an open episode nor raises it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from central.transit.geometry import CorridorPosition, Placement, TransitSite
from central.transit.settings import Tolerances

Severity = Literal["info", "warning", "critical"]


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class MovementContext:
    """What customs bound to the movement, and the tolerances of its corridor."""

    iot_id: UUID
    corridor: str | None  # corridor fence id
    nodes: tuple[str, ...]  # node fences in order; the last is the destination
    cleared: bool  # customs status allows leaving a controlled area
    tolerances: Tolerances
    site: TransitSite = field(repr=False, compare=False)

    @property
    def destination(self) -> str | None:
        return self.nodes[-1] if self.nodes else None


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Fix:
    """One position fix, placed: device time, the central clock at receipt, geometry."""

    context: MovementContext
    device_id: str
    at: datetime  # fixed_at, device (GNSS) time
    received_at: datetime  # central's clock when it arrived
    lon: float
    lat: float
    speed_mps: float | None
    uncertainty_m: float  # radius of the GPS uncertainty disc
    placement: Placement
    corridor: CorridorPosition | None  # on the movement's corridor, if it has one


@dataclass(frozen=True)
class SealChange:
    context: MovementContext
    seal_id: str
    at: datetime  # occurred_at, the seal's own clock
    event: str  # armed, disarmed, opened, tampered, battery_low, status
    state: str  # sealed, opened, tampered, unknown
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True)
class Tick:
    """Central's clock: the only way to notice that nothing arrived."""

    context: MovementContext
    now: datetime


Event = Fix | SealChange | Tick


@dataclass(frozen=True)
class Raised:
    """An alert a rule raises; the pipeline turns it into a `contract.Alert`."""

    rule: str
    severity: Severity
    at: datetime  # raised_at: device time of the evidence, or when a deadline passed
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    device_id: str | None = None
    lon: float | None = None
    lat: float | None = None


# --------------------------------------------------------------------------- state


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Debounce(_State):
    """A yes/no judged on device time: it flips only after sure evidence for the other
    answer has lasted `confirm_s` (maybe-evidence neither flips nor resets it)."""

    on: bool = False
    pending_since: datetime | None = None  # first sure evidence for the other answer

    def update(
        self, evidence: bool | None, at: datetime, confirm_on_s: float, confirm_off_s: float
    ) -> Debounce:
        if evidence is None:
            return self
        if evidence == self.on:
            return self if self.pending_since is None else Debounce(on=self.on)
        since = self.pending_since or at
        needed = confirm_on_s if evidence else confirm_off_s
        if at - since >= timedelta(seconds=needed):
            return Debounce(on=evidence)
        return self if self.pending_since is not None else Debounce(on=self.on, pending_since=at)

    @property
    def idle(self) -> bool:
        return not self.on and self.pending_since is None


class Stop(_State):
    """A unit standing still: where and since when, and whether that place is allowed."""

    since: datetime
    lon: float
    lat: float
    allowed: bool
    raised: bool = False


class Leg(_State):
    """The way to the next node: due when the ETA plus grace has passed."""

    node: str
    started_at: datetime | None = None  # left the previous node (or its first place)
    due_at: datetime | None = None
    raised: bool = False


class SealMemory(_State):
    latest_at: datetime
    open_raised: bool = False  # an opening was alerted; re-arming ends the episode


class TransitState(_State):
    """Everything the rules remember about one movement."""

    started_at: datetime | None = None  # first judged fix
    latest_at: datetime | None = None  # newest judged fix (device time): the judged horizon
    lon: float | None = None
    lat: float | None = None
    arrived_at: datetime | None = None  # destination reached: transit monitoring ends
    fences: dict[str, Debounce] = Field(default_factory=dict)  # sparse: idle ones dropped
    reached: list[str] = Field(default_factory=list)  # route nodes reached, in order
    controlled: list[str] = Field(default_factory=list)  # controlled areas surely inside
    deviation: Debounce = Field(default_factory=Debounce)
    stop: Stop | None = None
    leg: Leg | None = None
    signal_lost: bool = False
    seals: dict[str, SealMemory] = Field(default_factory=dict)

    @property
    def in_transit(self) -> bool:
        return self.started_at is not None and self.arrived_at is None

    def inside(self, fence_id: str) -> bool:
        debounce = self.fences.get(fence_id)
        return debounce is not None and debounce.on
