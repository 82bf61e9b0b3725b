"""A client for gpsd's JSON protocol over TCP (asyncio; one fix per reporting cycle)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from contract.tasks import within
from drivers.gnss.errors import GpsdError
from drivers.gnss.fix import Fix, FixMode

log = logging.getLogger(__name__)

DEFAULT_PORT = 2947
_WATCH = b'?WATCH={"enable":true,"json":true};\n'


@dataclass
class GpsdStats:
    """What gpsd sent: reports by class, lines that were not usable, fixes emitted."""

    reports: Counter[str] = field(default_factory=Counter)
    bad_lines: int = 0
    tpv_without_time: int = 0
    fixes: int = 0


class GpsdClient:
    """Fixes from a gpsd daemon.

        async with GpsdClient("127.0.0.1", 2947) as gpsd:
            async for fix in gpsd.fixes():
                ...

    gpsd may send a cycle's TPV more than once as sentences arrive; the client keeps
    the latest TPV of a time and emits it when a later time arrives, or when gpsd is
    quiet for `idle_flush_s`. DOPs come from gpsd's SKY reports, error ellipses from
    GST. A TPV without a time (no fix yet, no date) is counted, not emitted.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        idle_flush_s: float = 0.5,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.idle_flush_s = idle_flush_s
        self.connect_timeout_s = connect_timeout_s
        self.stats = GpsdStats()
        self.version: dict[str, Any] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._sky: dict[str, Any] = {}
        self._gst: dict[str, Any] = {}

    async def __aenter__(self) -> GpsdClient:
        try:
            reader, writer = await within(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
            self._reader, self._writer = reader, writer
            banner = await within(reader.readline(), self.connect_timeout_s)
        except (OSError, TimeoutError) as err:
            await self._close()
            raise GpsdError(f"cannot reach gpsd at {self.host}:{self.port}: {err!r}") from err
        self.version = self._parse(banner) or {}
        if self.version.get("class") != "VERSION":
            await self._close()
            raise GpsdError(f"{self.host}:{self.port} is not gpsd (banner {banner[:60]!r})")
        writer.write(_WATCH)
        await writer.drain()
        log.info("watching gpsd %s at %s:%d", self.version.get("release"), self.host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):  # gpsd already hung up
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def fixes(self) -> AsyncIterator[Fix]:
        """Fixes as gpsd reports them; raises GpsdError when gpsd closes the connection."""
        if self._reader is None:
            raise GpsdError("not connected: use `async with`")
        pending: Fix | None = None
        while True:
            try:
                line = await within(self._reader.readline(), self.idle_flush_s)
            except TimeoutError:
                if pending is not None:
                    yield self._emit(pending)
                    pending = None
                continue
            except OSError as err:
                raise GpsdError(f"gpsd connection lost: {err}") from err
            if not line:
                if pending is not None:
                    yield self._emit(pending)
                raise GpsdError("gpsd closed the connection")
            fix = self._handle(line)
            if fix is None:
                continue
            if pending is not None and pending.time != fix.time:
                yield self._emit(pending)
            pending = fix

    def _emit(self, fix: Fix) -> Fix:
        self.stats.fixes += 1
        return fix

    def _parse(self, line: bytes) -> dict[str, Any] | None:
        try:
            report = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            report = None
        if not isinstance(report, dict) or not isinstance(report.get("class"), str):
            self.stats.bad_lines += 1
            log.warning("gpsd sent a line that is not a JSON report: %r", line[:80])
            return None
        self.stats.reports[report["class"]] += 1
        return report

    def _handle(self, line: bytes) -> Fix | None:
        report = self._parse(line)
        if report is None:
            return None
        match report["class"]:
            case "TPV":
                return self._tpv(report)
            case "SKY":
                self._sky = report
            case "GST":
                self._gst = report
            case "ERROR":
                log.warning("gpsd error: %s", report.get("message"))
        return None

    def _tpv(self, tpv: dict[str, Any]) -> Fix | None:
        if "time" not in tpv:
            self.stats.tpv_without_time += 1
            return None
        try:
            return tpv_to_fix(tpv, sky=self._sky, gst=self._gst)
        except (ValidationError, ValueError, TypeError) as err:
            self.stats.bad_lines += 1
            log.warning("gpsd TPV not usable (%s): %s", err.__class__.__name__, tpv)
            return None


def tpv_to_fix(
    tpv: dict[str, Any], *, sky: dict[str, Any] | None = None, gst: dict[str, Any] | None = None
) -> Fix:
    """A Fix from a gpsd TPV report (plus the latest SKY and a GST of the same time)."""
    time = datetime.fromisoformat(str(tpv["time"]).replace("Z", "+00:00"))
    mode = FixMode(max(int(tpv.get("mode", 1)), 1))
    positioned = mode >= FixMode.TWO_D
    if positioned and ("lat" not in tpv or "lon" not in tpv):
        raise ValueError(f"a mode {int(mode)} TPV without a position")
    sky = sky or {}
    same_time_gst = gst if gst and gst.get("time") == tpv["time"] else {}
    track = tpv.get("track")
    return Fix(
        time=time,
        mode=mode if positioned else FixMode.NO_FIX,
        lat=tpv.get("lat") if positioned else None,
        lon=tpv.get("lon") if positioned else None,
        alt_m=tpv.get("altMSL", tpv.get("alt")) if positioned else None,
        geoid_separation_m=tpv.get("geoidSep") if positioned else None,
        speed_mps=tpv.get("speed") if positioned else None,
        course_deg=float(track) % 360.0 if positioned and track is not None else None,
        hdop=sky.get("hdop"),
        vdop=sky.get("vdop"),
        pdop=sky.get("pdop"),
        lat_err_m=same_time_gst.get("lat"),
        lon_err_m=same_time_gst.get("lon"),
        alt_err_m=same_time_gst.get("alt"),
        ellipse_major_m=same_time_gst.get("major"),
        ellipse_minor_m=same_time_gst.get("minor"),
        ellipse_orientation_deg=same_time_gst.get("orient"),
        eph_m=tpv.get("eph") if positioned else None,
        satellites_used=sky.get("uSat"),
        satellites_seen=sky.get("nSat"),
    )
