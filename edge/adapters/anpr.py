"""ANPR camera feed adapter: plate and container reads pushed by a camera."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from contract import IdentifierKind
from contract.iso6346 import is_valid as container_code_valid
from drivers.anpr import AnprError, AnprFeed, AnprFeedSettings, AnprRead
from drivers.probe import ProbeResult
from edge.adapters.base import Adapter, AdapterConfig
from edge.observations import IdentifierRead


class AnprFeedConfig(AdapterConfig):
    type: Literal["anpr_feed"] = "anpr_feed"
    host: str = Field(description="camera or recognition box")
    port: int = Field(ge=1, le=65535, description="TCP port of its event feed")
    min_confidence: float = Field(default=0.3, ge=0, le=1, description="weaker reads ignored")


class AnprFeedAdapter(Adapter):
    config: AnprFeedConfig
    rejected_codes = 0

    def _to_read(self, read: AnprRead) -> IdentifierRead | None:
        if read.confidence < self.config.min_confidence:
            return None
        if read.kind == "container":
            # Never accept a container code whose check digit fails.
            if not container_code_valid(read.text):
                self.rejected_codes += 1
                return None
            kind, detail = IdentifierKind.CONTAINER, {"size_type": read.size_type or ""}
        else:
            kind, detail = IdentifierKind.PLATE, {"region": read.region or ""}
        return IdentifierRead(
            kind=kind,
            value=read.text,
            confidence=read.confidence,
            source=f"{self.name}:{read.camera}",
            at=read.at,
            detail={k: v for k, v in detail.items() if v},
        )

    async def session(self) -> None:
        settings = AnprFeedSettings(host=self.config.host, port=self.config.port)
        async with AnprFeed(settings) as feed:
            self.health.up()
            async for read in feed.readings():
                observation = self._to_read(read)
                if observation is not None:
                    self.sink(observation)

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        settings = AnprFeedSettings(
            host=self.config.host, port=self.config.port, connect_timeout_s=2
        )
        try:
            async with AnprFeed(settings):
                pass
        except AnprError as err:
            return ProbeResult(ok=False, detail=str(err))
        rtt = round((time.perf_counter() - started) * 1000, 1)
        return ProbeResult(ok=True, detail="feed accepts connections", round_trip_ms=rtt)
