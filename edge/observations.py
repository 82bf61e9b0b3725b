"""What a lane's devices report during a passage, before fusion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from contract import IdentifierKind, ScanInfo, SealReading


@dataclass(frozen=True)
class IdentifierRead:
    """One raw read of one identifier by one device."""

    kind: IdentifierKind
    value: str
    confidence: float
    source: str
    at: datetime
    detail: dict[str, str] = field(default_factory=dict)
    crop_jpeg: bytes | None = None  # evidence image, when a camera read it


@dataclass(frozen=True)
class SealObservation:
    reading: SealReading
    at: datetime


@dataclass(frozen=True)
class ScanObservation:
    scan: ScanInfo
    at: datetime
    passage_id: UUID | None = None  # the passage that triggered it; None: the scanner's own


Observation = IdentifierRead | SealObservation | ScanObservation
