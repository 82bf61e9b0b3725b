"""The transit side of one central process: fences, clock, pipeline, sweep, time series."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.timeseries import TimeSeriesSettings, TimeSeriesWriter
from central.transit.clock import TransitClock
from central.transit.geometry import TransitSite
from central.transit.pipeline import TransitPipeline
from central.transit.settings import TransitSettings
from contract.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class TransitService:
    def __init__(
        self,
        settings: TransitSettings,
        timeseries: TimeSeriesSettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.settings = settings
        self.clock = TransitClock(settings.clock)
        self.site = TransitSite.load(settings.fences) if settings.fences else TransitSite.empty()
        self.timeseries = TimeSeriesWriter(timeseries) if timeseries.url else None
        self.pipeline = TransitPipeline(
            sessions,
            self.site,
            settings.tolerances,
            self.clock,
            self.timeseries,
            binding_cache_s=settings.binding_cache_s,
        )
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        started = time.perf_counter()
        await asyncio.to_thread(self.site.warm_up)
        log.info("transit: geometry ready in %.1f s", time.perf_counter() - started)
        await self.pipeline.load()
        log.info(
            "transit: %d fences (%d corridors), clock %s",
            len(self.site.fences),
            len(self.site.corridors),
            "manual" if self.clock.manual else "system",
        )
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="central-transit-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
        if self.timeseries is not None:
            # Blocks until queued points are sent (at most close_wait_ms).
            await asyncio.to_thread(self.timeseries.close)

    async def _sweep_forever(self) -> None:
        # Silence shows only against a clock: every movement in transit is checked
        # every sweep_interval_s. A manual clock is swept also each time it is moved.
        while True:
            await asyncio.sleep(self.settings.sweep_interval_s)
            try:
                await self.pipeline.sweep()
            except Exception:
                log.exception(
                    "transit sweep failed; trying again in %.0f s", self.settings.sweep_interval_s
                )
