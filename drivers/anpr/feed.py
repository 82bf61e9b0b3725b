"""TCP JSON-lines client for an ANPR camera's event feed."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from contract.tasks import within

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024


class AnprError(Exception):
    """Root of the ANPR feed driver's errors."""


class AnprRead(BaseModel):
    """One recognition result from the camera."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["plate", "container"]
    text: str = Field(min_length=1, max_length=32)
    confidence: float = Field(ge=0, le=1)
    camera: str = Field(min_length=1, max_length=64)
    at: AwareDatetime
    region: str | None = None
    size_type: str | None = None


def parse_line(line: bytes) -> AnprRead:
    """Validate one line; raises AnprError with what was wrong."""
    try:
        return AnprRead.model_validate_json(line)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "line"
        raise AnprError(f"bad ANPR line ({where}: {first['msg']})") from err


class AnprFeedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(description="camera or recognition box address")
    port: int = Field(ge=1, le=65535, description="TCP port of the event feed")
    connect_timeout_s: float = Field(default=3.0, gt=0, description="connect timeout")


class AnprFeed:
    """Reads the feed; bad lines are counted in `rejected` and skipped."""

    def __init__(self, settings: AnprFeedSettings) -> None:
        self.settings = settings
        self.rejected: Counter[str] = Counter()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> AnprFeed:
        try:
            self._reader, self._writer = await within(
                asyncio.open_connection(self.settings.host, self.settings.port, limit=MAX_LINE),
                self.settings.connect_timeout_s,
            )
        except (OSError, TimeoutError) as err:
            where = f"{self.settings.host}:{self.settings.port}"
            raise AnprError(f"cannot connect to the ANPR feed at {where}: {err}") from err
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer:
            self._writer.close()
            self._writer = None

    async def readings(self) -> AsyncIterator[AnprRead]:
        """Reads until the camera closes the connection (then AnprError)."""
        assert self._reader is not None, "use `async with`"
        while True:
            try:
                line = await self._reader.readline()
            except (ValueError, asyncio.LimitOverrunError) as err:  # an over-long line
                self.rejected["line too long"] += 1
                raise AnprError("ANPR feed sent an over-long line") from err
            except OSError as err:
                raise AnprError(f"ANPR feed failed: {err}") from err
            if not line:
                raise AnprError("ANPR feed closed the connection")
            if not line.strip():
                continue
            try:
                yield parse_line(line)
            except AnprError as err:
                self.rejected[str(err)] += 1
                log.warning("%s", err)
