"""Gate-level device health over SNMP: the UPS, the switch, the cameras and the box itself.

These are not lane devices (nothing in a passage comes from them), but a gate that
has lost mains or a switch port is a gate about to fail. The monitor polls each
target every `poll_interval_s`, listens for traps when configured, and keeps:

- availability (answers SNMP or not): logged once when a device drops out and once
  when it returns (`edge.health.DeviceHealth`), in `GateStatus.devices` and in the
  `corridor_edge_device_up` metric;
- problems a device reports while it answers (UPS on battery, battery low, alarms,
  switch ports down): logged once when each appears and once when it clears, counted
  in `corridor_edge_device_problems`.

A trap from a target makes it be polled at once, so availability and problems follow
within a round trip rather than a poll period. Traps that are not SNMP, carry an
unknown community or no trap OID are dropped and counted by the receiver
(`drivers.snmp.TrapReceiver.stats()`); traps from an address that is no target are
counted here (`traps_unknown`) and logged once per address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.tasks import raise_if_cancelling
from drivers.snmp import (
    HealthReading,
    SnmpDevice,
    SnmpError,
    SnmpTarget,
    SnmpTrap,
    SwitchReading,
    TrapKind,
    TrapReceiver,
    TrapSettings,
    UpsBatteryStatus,
    UpsReading,
)
from edge.health import DeviceHealth
from edge.metrics import EdgeMetrics

log = logging.getLogger(__name__)

STORAGE_FULL = 0.95  # a disk this full on the box is a problem (the outbox lives there)


class HealthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[SnmpTarget] = Field(
        default_factory=list,
        description="devices polled over SNMP: the UPS, the switch, cameras, the box itself",
    )
    traps: TrapSettings | None = Field(
        default=None, description="receive SNMP traps from the targets (omit: poll only)"
    )

    @model_validator(mode="after")
    def _unique(self) -> HealthConfig:
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"health target names must be unique, got {names}")
        return self


def problems(reading: HealthReading) -> set[str]:
    """What a device that answers says is wrong with it (pure)."""
    found: set[str] = set()
    if isinstance(reading, UpsReading):
        if reading.on_battery:
            found.add("on battery")
        if reading.battery_status in (UpsBatteryStatus.LOW, UpsBatteryStatus.DEPLETED):
            found.add(f"battery {reading.battery_status.name.lower()}")
        if reading.alarms_present:
            found.add("UPS alarms present")
    elif isinstance(reading, SwitchReading):
        for port in reading.links_down:
            found.add(f"port {port.index} ({port.name or '?'}) down")
    else:
        for store in reading.storage:
            if store.size_bytes and store.used_bytes / store.size_bytes >= STORAGE_FULL:
                found.add(f"{store.descr} {store.used_bytes * 100 // store.size_bytes}% full")
    return found


class SnmpHealthMonitor:
    """Use `await monitor.run()` (until cancelled); read `availability()` any time."""

    def __init__(
        self,
        config: HealthConfig,
        *,
        metrics: EdgeMetrics | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.on_change = on_change
        self.health = {t.name: DeviceHealth(t.name) for t in config.targets}
        self.problems: dict[str, set[str]] = {t.name: set() for t in config.targets}
        self.readings: dict[str, HealthReading] = {}
        self.traps_received = 0
        self.traps_unknown = 0
        self.receiver: TrapReceiver | None = None
        self._unknown_sources: set[str] = set()
        self._poll_now = {t.name: asyncio.Event() for t in config.targets}
        # A trap names its sender by address; targets may be configured by host name.
        self._addresses = {t.name: {t.host} for t in config.targets}

    def availability(self) -> dict[str, bool]:
        """Target name -> answers SNMP (False until first heard from)."""
        return {name: bool(h.available) for name, h in self.health.items()}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for target in self.config.targets:
                tasks.create_task(self._watch(target), name=f"snmp:{target.name}")
            if self.config.traps is not None:
                tasks.create_task(self._listen(self.config.traps), name="snmp-traps")

    # ---------------------------------------------------------------- polling

    async def _watch(self, target: SnmpTarget) -> None:
        device = SnmpDevice(target)
        opened = False
        try:
            while True:
                try:
                    if not opened:
                        await device.open()
                        opened = True
                    reading = await device.poll()
                except SnmpError as err:
                    self._down(target.name, str(err))
                except OSError as err:  # the host name does not resolve, no route
                    device.close()
                    opened = False
                    self._down(target.name, f"{target.host}: {err}")
                else:
                    self._up(target.name, reading)
                raise_if_cancelling()  # the SNMP library's wait_for may have lost the stop
                await self._sleep(target)
        finally:
            device.close()

    async def _sleep(self, target: SnmpTarget) -> None:
        event = self._poll_now[target.name]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(target.poll_interval_s):
                await event.wait()
        event.clear()

    def _down(self, name: str, reason: str) -> None:
        health = self.health[name]
        was = health.available
        health.down(reason)
        if self.metrics:
            self.metrics.device_up.labels(name).set(0)
        if was is not False:
            self._changed()

    def _up(self, name: str, reading: HealthReading) -> None:
        health = self.health[name]
        was = health.available
        health.up()
        self.readings[name] = reading
        now, before = problems(reading), self.problems[name]
        for problem in sorted(now - before):
            log.warning("%s: %s", name, problem)
        for problem in sorted(before - now):
            log.info("%s: no longer %s", name, problem)
        self.problems[name] = now
        if self.metrics:
            self.metrics.device_up.labels(name).set(1)
            self.metrics.device_problems.labels(name).set(len(now))
        if was is not True or now != before:
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # ---------------------------------------------------------------- traps

    async def _resolve(self) -> None:
        loop = asyncio.get_running_loop()
        for target in self.config.targets:
            try:
                found = await loop.getaddrinfo(target.host, None, type=socket.SOCK_DGRAM)
            except OSError:
                continue  # polling reports the name that does not resolve
            self._addresses[target.name] |= {str(info[4][0]) for info in found}

    async def _listen(self, settings: TrapSettings) -> None:
        await self._resolve()
        try:
            async with TrapReceiver(settings) as receiver:
                self.receiver = receiver
                async for trap in receiver.traps():
                    self._on_trap(trap)
        except SnmpError as err:
            # The box runs on without traps: polling still sees every device.
            log.error("no SNMP traps: %s", err)

    def _on_trap(self, trap: SnmpTrap) -> None:
        self.traps_received += 1
        if self.metrics:
            self.metrics.snmp_traps.labels(trap.kind.value).inc()
        host = trap.source.rsplit(":", 1)[0]
        targets = [name for name, hosts in self._addresses.items() if host in hosts]
        if not targets:
            self.traps_unknown += 1
            if host not in self._unknown_sources and len(self._unknown_sources) < 256:
                self._unknown_sources.add(host)
                log.warning("SNMP trap %s from %s, which is no health target", trap.kind, host)
            return
        who = "/".join(targets)
        if trap.kind in (TrapKind.LINK_DOWN, TrapKind.UPS_ON_BATTERY, TrapKind.UPS_ALARM_ADDED):
            detail = f" (port {trap.if_index})" if trap.if_index is not None else ""
            log.warning("%s: trap %s%s", who, trap.kind, detail)
        else:
            log.info("%s: trap %s", who, trap.kind)
        for name in targets:  # several targets can share an address: poll each
            self._poll_now[name].set()
