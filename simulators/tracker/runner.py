"""Running journeys in (scaled) time, sending fixes as NMEA on a serial port or over MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import serial
import serial_asyncio_fast

from contract import bus, topics
from contract.messages import PositionFix
from simulators.tracker import nmea
from simulators.tracker.journey import Journey, Plan, TrackPoint, plan_track

log = logging.getLogger(__name__)


class TrackerError(RuntimeError):
    """The simulator cannot reach its output (serial port, broker)."""


class FixSink(Protocol):
    """Where a tracker's fixes go."""

    async def __aenter__(self) -> FixSink: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(self, journey: Journey, point: TrackPoint) -> None: ...


def position_fix(journey: Journey, point: TrackPoint) -> PositionFix:
    """The contract message for one fix; `sent_at` is the device clock when it is sent."""
    return PositionFix(
        device_id=journey.device_id,
        fixed_at=point.device_time(journey),
        sent_at=point.send_time(journey),
        lat=point.lat,
        lon=point.lon,
        speed_mps=point.speed_mps,
        course_deg=point.course_deg % 360.0,
        mode=3,
        hdop=point.hdop,
        accuracy_m=point.sigma_m,
    )


class MqttSink:
    """Publishes `contract.PositionFix` on `corridor/v1/units/{device}/positions`, QoS 1."""

    def __init__(self, settings: bus.BrokerSettings) -> None:
        self.settings = settings
        self._client: bus.MqttClient | None = None

    async def __aenter__(self) -> MqttSink:
        self._client = bus.client(self.settings)
        try:
            await self._client.__aenter__()
        except bus.MqttError as err:
            raise TrackerError(
                f"cannot connect to the broker {self.settings.host}:{self.settings.port}: {err}"
            ) from err
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            with contextlib.suppress(bus.MqttError):  # already disconnected
                await self._client.__aexit__(exc_type, exc, tb)
            self._client = None

    async def send(self, journey: Journey, point: TrackPoint) -> None:
        assert self._client is not None, "use `async with`"
        message = position_fix(journey, point)
        await self._client.publish(
            topics.unit_positions(journey.device_id), message.to_json(), qos=1
        )


class NmeaSink:
    """Writes each fix as an NMEA cycle (RMC, VTG, GGA, GSA, GST) to a serial port or pty."""

    def __init__(self, port: str, baudrate: int = 9600, *, talker: str = "GP") -> None:
        self.port, self.baudrate, self.talker = port, baudrate, talker
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> NmeaSink:
        try:
            _, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate
            )
        except (serial.SerialException, OSError) as err:
            raise TrackerError(f"cannot open {self.port}: {err}") from err
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(serial.SerialException, OSError):  # the other end is gone
                await self._writer.wait_closed()
            self._writer = None

    async def send(self, journey: Journey, point: TrackPoint) -> None:
        assert self._writer is not None, "use `async with`"
        lines = nmea.cycle(
            point.device_time(journey),
            point.lat,
            point.lon,
            speed_mps=point.speed_mps,
            course_deg=point.course_deg,
            alt_m=point.alt_m,
            hdop=point.hdop,
            sigma_m=point.sigma_m,
            talker=self.talker,
        )
        self._writer.write("".join(lines).encode("ascii"))
        await self._writer.drain()


@dataclass
class MemorySink:
    """Keeps what would be sent (in-process use, and tests of the plan)."""

    sent: list[tuple[Journey, TrackPoint]] = field(default_factory=list)

    async def __aenter__(self) -> MemorySink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, journey: Journey, point: TrackPoint) -> None:
        self.sent.append((journey, point))


@dataclass
class TrackerReport:
    """What a run did, per device: fixes sent, lost in silences, and held in late bursts."""

    sent: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    simulated_s: float = 0.0


async def run_tracker(
    journeys: Journey | Sequence[Journey],
    sink: FixSink,
    *,
    time_scale: float | None = 1.0,
) -> TrackerReport:
    """Drive the journeys and send their fixes through `sink`.

    `time_scale` is simulated seconds per wall second (3600: a 10-hour journey in
    10 s); None sends as fast as the sink takes them. Device times are always the
    simulated ones (journey start + simulated seconds), never wall time.
    """
    plans = [plan_track(j) for j in ([journeys] if isinstance(journeys, Journey) else journeys)]
    report = _report(plans)
    loop = asyncio.get_running_loop()
    async with sink:
        started = loop.time()
        for send_s, journey, point in _merged(plans):
            if time_scale:
                delay = started + send_s / time_scale - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await sink.send(journey, point)
    return report


def _merged(plans: list[Plan]) -> list[tuple[float, Journey, TrackPoint]]:
    """All units' fixes in sending order; each plan keeps its own order on ties."""
    streams = [
        [(p.send_s, i, n, plan.journey, p) for i, p in enumerate(plan.points)]
        for n, plan in enumerate(plans)
    ]
    merged = heapq.merge(*streams, key=lambda item: (item[0], item[1], item[2]))
    return [(send_s, journey, point) for send_s, _, _, journey, point in merged]


def _report(plans: list[Plan]) -> TrackerReport:
    report = TrackerReport()
    for plan in plans:
        device = plan.journey.device_id
        report.sent[device] = len(plan.points)
        report.dropped[device] = len(plan.dropped)
        report.late[device] = sum(p.send_s > p.device_s for p in plan.points)
        report.simulated_s = max(report.simulated_s, plan.arrival_s)
    log.info("tracker plan: %s", report)
    return report
