"""The result of a driver's `probe()`: a quick "is it there and sane" for diagnostics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ProbeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    detail: str
    round_trip_ms: float | None = None
