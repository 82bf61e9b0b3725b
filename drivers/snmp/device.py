"""Poll one device's health over SNMP (pysnmp 7.1, asyncio).

    async with SnmpDevice(SnmpTarget(name="ups-1", kind="ups", host="10.0.0.9")) as ups:
        reading = await ups.poll()          # UpsReading
        async for reading in ups.readings(): ...

Two error channels: no answer raises `SnmpTimeout`, an SNMP error status raises
`SnmpRequestError`; what the device says (on battery, a link down, an object it
does not implement) comes back as a value. A value outside its MIB range is
dropped to None, counted in `stats.bad_values` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import fmean
from types import TracebackType
from typing import Any, Literal, TypeVar

from pyasn1.type import univ
from pydantic import BaseModel, ConfigDict, Field
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_SHA,
    USM_PRIV_CFB128_AES,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    walk_cmd,
)
from pysnmp.proto import rfc1905

from drivers.probe import ProbeResult
from drivers.snmp import oids
from drivers.snmp.errors import SnmpRequestError, SnmpTimeout
from drivers.snmp.oids import OID, IfOperStatus, UpsBatteryStatus, UpsOutputSource

log = logging.getLogger(__name__)

DeviceKind = Literal["ups", "switch", "camera", "host"]
Plain = int | str | None
E = TypeVar("E", UpsBatteryStatus, UpsOutputSource, IfOperStatus)


class SnmpTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="device id in reports, e.g. ups-gate-3")
    kind: DeviceKind = Field(description="ups, switch, camera or host (what to poll)")
    host: str = Field(description="agent address")
    port: int = Field(default=161, ge=1, le=65535, description="agent UDP port")
    community: str = Field(default="public", description="SNMPv2c community (if no v3 user)")
    v3_user: str | None = Field(default=None, description="SNMPv3 user: authPriv, SHA + AES128")
    v3_auth_key: str | None = Field(default=None, description="SNMPv3 authentication passphrase")
    v3_priv_key: str | None = Field(default=None, description="SNMPv3 privacy passphrase")
    timeout_s: float = Field(default=1.0, gt=0, description="per request try")
    retries: int = Field(default=1, ge=0, description="resends before SnmpTimeout")
    poll_interval_s: float = Field(default=10.0, gt=0, description="readings() period")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SystemInfo(_Frozen):
    descr: str | None
    name: str | None
    uptime_s: float | None = Field(description="sysUpTime: since the SNMP agent started")


class UpsReading(_Frozen):
    device: str
    at: datetime
    uptime_s: float | None
    battery_status: UpsBatteryStatus | None
    output_source: UpsOutputSource | None
    on_battery: bool | None = Field(description="output fed from the battery (mains lost)")
    charge_pct: int | None
    seconds_on_battery_s: int | None
    runtime_remaining_s: int | None
    battery_voltage_v: float | None
    battery_temperature_c: int | None
    alarms_present: int | None


class InterfaceStatus(_Frozen):
    index: int
    name: str | None
    admin_up: bool | None
    oper_status: IfOperStatus | None


class SwitchReading(_Frozen):
    device: str
    at: datetime
    uptime_s: float | None
    interfaces: tuple[InterfaceStatus, ...]

    @property
    def links_down(self) -> list[InterfaceStatus]:
        """Ports that are administratively up but not operationally up."""
        return [
            i for i in self.interfaces if i.admin_up and i.oper_status not in (IfOperStatus.UP,)
        ]


class StorageUse(_Frozen):
    descr: str
    size_bytes: int
    used_bytes: int


class HostReading(_Frozen):
    """A camera or the gate box itself: uptime, and HOST-RESOURCES where the agent has it."""

    device: str
    at: datetime
    uptime_s: float | None
    descr: str | None
    cpu_load_pct: float | None
    storage: tuple[StorageUse, ...]


HealthReading = UpsReading | SwitchReading | HostReading


@dataclass
class SnmpStats:
    requests: int = 0
    timeouts: int = 0
    bad_values: int = 0
    problems: dict[str, int] = field(default_factory=dict)


def plain(value: Any) -> Plain:
    """A pysnmp value as a Python value; None for noSuchObject/Instance, endOfMibView."""
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets()).decode("utf-8", "replace")
    if isinstance(value, univ.ObjectIdentifier):
        return oids.dotted(tuple(value))
    return None


class SnmpDevice:
    """One SNMP agent. Use as `async with`."""

    def __init__(self, target: SnmpTarget) -> None:
        self.target = target
        self.stats = SnmpStats()
        self._engine: SnmpEngine | None = None
        self._transport: UdpTransportTarget | None = None
        self._auth: CommunityData | UsmUserData = _auth(target)

    async def __aenter__(self) -> SnmpDevice:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def open(self) -> None:
        t = self.target
        self._engine = SnmpEngine()
        self._transport = await UdpTransportTarget.create(
            (t.host, t.port), timeout=t.timeout_s, retries=t.retries
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    # ---------------------------------------------------------------- requests

    def _check(self, error_indication: Any, error_status: Any, error_index: Any) -> None:
        if error_indication:
            self.stats.timeouts += 1
            raise SnmpTimeout(f"{self.target.name} ({self.target.host}): {error_indication}")
        if error_status and int(error_status):
            raise SnmpRequestError(
                f"{self.target.name}: agent answered {error_status.prettyPrint()} "
                f"at varbind {int(error_index)}"
            )

    async def get(self, *wanted: OID) -> dict[OID, Plain]:
        """GET some scalars; an object the agent does not implement comes back as None."""
        assert self._engine is not None and self._transport is not None, "not opened"
        self.stats.requests += 1
        indication, status, index, varbinds = await get_cmd(
            self._engine,
            self._auth,
            self._transport,
            ContextData(),
            *(ObjectType(ObjectIdentity(oids.dotted(o))) for o in wanted),
            lookupMib=False,
        )
        self._check(indication, status, index)
        return {tuple(name): plain(value) for name, value in varbinds}

    async def walk(self, column: OID) -> dict[tuple[int, ...], Plain]:
        """A table column, keyed by the row index (the OID after the column)."""
        assert self._engine is not None and self._transport is not None, "not opened"
        rows: dict[tuple[int, ...], Plain] = {}
        async for indication, status, index, varbinds in walk_cmd(
            self._engine,
            self._auth,
            self._transport,
            ContextData(),
            ObjectType(ObjectIdentity(oids.dotted(column))),
            lookupMib=False,
            lexicographicMode=False,
        ):
            self.stats.requests += 1
            self._check(indication, status, index)
            for name, value in varbinds:
                rows[tuple(name)[len(column) :]] = plain(value)
        return rows

    # ---------------------------------------------------------------- values

    def _bad(self, what: str, value: Plain) -> None:
        self.stats.bad_values += 1
        self.stats.problems[what] = self.stats.problems.get(what, 0) + 1
        log.warning("%s: %s = %r is outside its MIB range; ignored", self.target.name, what, value)

    def _int(self, what: str, value: Plain, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and low <= value <= high:
            return value
        self._bad(what, value)
        return None

    def _enum(self, what: str, value: Plain, kind: type[E]) -> E | None:
        number = self._int(what, value, 1, 255)
        if number is None:
            return None
        try:
            return kind(number)
        except ValueError:
            self._bad(what, value)
            return None

    def _text(self, value: Plain) -> str | None:
        return value if isinstance(value, str) else None

    def _uptime(self, value: Plain) -> float | None:
        ticks = self._int("sysUpTime", value, 0, 0xFFFFFFFF)
        return None if ticks is None else ticks / 100

    # ---------------------------------------------------------------- polls

    async def system(self) -> SystemInfo:
        got = await self.get(oids.SYS_DESCR, oids.SYS_NAME, oids.SYS_UPTIME)
        return SystemInfo(
            descr=self._text(got.get(oids.SYS_DESCR)),
            name=self._text(got.get(oids.SYS_NAME)),
            uptime_s=self._uptime(got.get(oids.SYS_UPTIME)),
        )

    async def ups(self) -> UpsReading:
        got = await self.get(
            oids.SYS_UPTIME,
            oids.UPS_BATTERY_STATUS,
            oids.UPS_SECONDS_ON_BATTERY,
            oids.UPS_MINUTES_REMAINING,
            oids.UPS_CHARGE_REMAINING,
            oids.UPS_BATTERY_VOLTAGE,
            oids.UPS_BATTERY_TEMPERATURE,
            oids.UPS_OUTPUT_SOURCE,
            oids.UPS_ALARMS_PRESENT,
        )
        source = self._enum("upsOutputSource", got.get(oids.UPS_OUTPUT_SOURCE), UpsOutputSource)
        minutes = self._int(
            "upsEstimatedMinutesRemaining", got.get(oids.UPS_MINUTES_REMAINING), 0, 2**31 - 1
        )
        decivolts = self._int("upsBatteryVoltage", got.get(oids.UPS_BATTERY_VOLTAGE), 0, 2**31 - 1)
        return UpsReading(
            device=self.target.name,
            at=datetime.now(UTC),
            uptime_s=self._uptime(got.get(oids.SYS_UPTIME)),
            battery_status=self._enum(
                "upsBatteryStatus", got.get(oids.UPS_BATTERY_STATUS), UpsBatteryStatus
            ),
            output_source=source,
            on_battery=None if source is None else source == UpsOutputSource.BATTERY,
            charge_pct=self._int(
                "upsEstimatedChargeRemaining", got.get(oids.UPS_CHARGE_REMAINING), 0, 100
            ),
            seconds_on_battery_s=self._int(
                "upsSecondsOnBattery", got.get(oids.UPS_SECONDS_ON_BATTERY), 0, 2**31 - 1
            ),
            runtime_remaining_s=None if minutes is None else minutes * 60,
            battery_voltage_v=None if decivolts is None else decivolts / 10,
            battery_temperature_c=self._int(
                "upsBatteryTemperature", got.get(oids.UPS_BATTERY_TEMPERATURE), -100, 200
            ),
            alarms_present=self._int(
                "upsAlarmsPresent", got.get(oids.UPS_ALARMS_PRESENT), 0, 2**31 - 1
            ),
        )

    async def switch(self) -> SwitchReading:
        uptime = (await self.get(oids.SYS_UPTIME)).get(oids.SYS_UPTIME)
        names = await self.walk(oids.IF_DESCR)
        admin = await self.walk(oids.IF_ADMIN_STATUS)
        oper = await self.walk(oids.IF_OPER_STATUS)
        interfaces = []
        for row in sorted(set(names) | set(oper)):
            if len(row) != 1:
                self._bad("ifTable index", oids.dotted(row))
                continue
            admin_status = self._enum("ifAdminStatus", admin.get(row), IfOperStatus)
            interfaces.append(
                InterfaceStatus(
                    index=row[0],
                    name=self._text(names.get(row)),
                    admin_up=None if admin_status is None else admin_status == IfOperStatus.UP,
                    oper_status=self._enum("ifOperStatus", oper.get(row), IfOperStatus),
                )
            )
        return SwitchReading(
            device=self.target.name,
            at=datetime.now(UTC),
            uptime_s=self._uptime(uptime),
            interfaces=tuple(interfaces),
        )

    async def host(self) -> HostReading:
        got = await self.get(oids.SYS_UPTIME, oids.SYS_DESCR)
        loads = [
            v for v in (await self.walk(oids.HR_PROCESSOR_LOAD)).values() if isinstance(v, int)
        ]
        return HostReading(
            device=self.target.name,
            at=datetime.now(UTC),
            uptime_s=self._uptime(got.get(oids.SYS_UPTIME)),
            descr=self._text(got.get(oids.SYS_DESCR)),
            cpu_load_pct=round(fmean(loads), 1) if loads else None,
            storage=await self._storage(),
        )

    async def _storage(self) -> tuple[StorageUse, ...]:
        descr = await self.walk(oids.HR_STORAGE_DESCR)
        if not descr:
            return ()  # a camera without HOST-RESOURCES
        units = await self.walk(oids.HR_STORAGE_UNITS)
        size = await self.walk(oids.HR_STORAGE_SIZE)
        used = await self.walk(oids.HR_STORAGE_USED)
        found = []
        for row, name in sorted(descr.items()):
            unit = self._int("hrStorageAllocationUnits", units.get(row), 1, 2**31 - 1)
            total = self._int("hrStorageSize", size.get(row), 0, 2**31 - 1)
            taken = self._int("hrStorageUsed", used.get(row), 0, 2**31 - 1)
            if isinstance(name, str) and None not in (unit, total, taken):
                found.append(
                    StorageUse(descr=name, size_bytes=total * unit, used_bytes=taken * unit)  # type: ignore[operator]
                )
        return tuple(found)

    async def poll(self) -> HealthReading:
        """One reading of what this kind of device reports."""
        if self.target.kind == "ups":
            return await self.ups()
        if self.target.kind == "switch":
            return await self.switch()
        return await self.host()

    async def readings(self) -> AsyncGenerator[HealthReading, None]:
        """A reading every `poll_interval_s`; ends only by raising (SnmpTimeout...)."""
        while True:
            started = time.monotonic()
            yield await self.poll()
            await asyncio.sleep(
                max(0.0, self.target.poll_interval_s - (time.monotonic() - started))
            )

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        try:
            info = await self.system()
        except (SnmpTimeout, SnmpRequestError) as err:
            return ProbeResult(ok=False, detail=str(err))
        rtt = (time.perf_counter() - started) * 1000
        detail = f"{info.name or '?'}: {info.descr or 'no sysDescr'}, up {info.uptime_s} s"
        return ProbeResult(ok=info.uptime_s is not None, detail=detail, round_trip_ms=round(rtt, 1))


def _auth(target: SnmpTarget) -> CommunityData | UsmUserData:
    if target.v3_user:
        return UsmUserData(
            target.v3_user,
            authKey=target.v3_auth_key,
            privKey=target.v3_priv_key,
            authProtocol=USM_AUTH_HMAC96_SHA,
            privProtocol=USM_PRIV_CFB128_AES,
        )
    return CommunityData(target.community, mpModel=1)
