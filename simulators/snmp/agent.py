"""A simulated SNMP device: a pysnmp agent on a real UDP port, and the traps it sends.

Profiles: `ups` (UPS-MIB), `switch` (IF-MIB ifTable), `camera` (system group
only, as many IP cameras), `host` (HOST-RESOURCES: CPU load, storage). All
answer SNMPv2-MIB system objects; sysUpTime counts from the agent's (re)start.

Faults: mains lost (on battery, charge draining, battery low, upsTrapOnBattery),
a link down (linkDown trap), a reboot (coldStart), a silent agent, a value
outside its MIB range, garbage datagrams to a trap receiver.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    NotificationType,
    ObjectIdentity,
    SnmpEngine,
    UdpTransportTarget,
    send_notification,
)
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c
from pysnmp.smi import instrum

from drivers.snmp import oids
from drivers.snmp.oids import OID, UpsBatteryStatus, UpsOutputSource

log = logging.getLogger(__name__)

Profile = Literal["ups", "switch", "camera", "host"]
Value = Any  # a pysnmp value, or a callable returning one (read at request time)


class OidTable(instrum.AbstractMibInstrumController):
    """The agent's MIB as a sorted table of OID -> value; answers GET and GETNEXT."""

    def __init__(self) -> None:
        self.values: dict[OID, Value] = {}

    def _value(self, name: OID) -> Any:
        value = self.values[name]
        return value() if callable(value) else value

    def read_variables(self, *varbinds: Any, **context: Any) -> list[tuple[Any, Any]]:
        out = []
        for name, _ in varbinds:
            key = tuple(name)
            out.append((name, self._value(key) if key in self.values else rfc1905.noSuchInstance))
        return out

    def read_next_variables(self, *varbinds: Any, **context: Any) -> list[tuple[Any, Any]]:
        ordered = sorted(self.values)
        out = []
        for name, _ in varbinds:
            i = bisect.bisect_right(ordered, tuple(name))
            if i < len(ordered):
                out.append((v2c.ObjectIdentifier(ordered[i]), self._value(ordered[i])))
            else:
                out.append((name, rfc1905.endOfMibView))
        return out


class SilenceableUdp(udp.UdpAsyncioTransport):
    """UDP transport that can stop hearing requests (a hung agent, a blocked port)."""

    silent = False

    def datagram_received(self, datagram: bytes, transport_address: Any) -> None:
        if not self.silent:
            super().datagram_received(datagram, transport_address)


class SnmpDeviceSim:
    """Use as `async with SnmpDeviceSim("ups") as sim:`; poll sim.host:sim.port."""

    def __init__(
        self,
        profile: Profile,
        *,
        name: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        community: str = "public",
        v3_user: str | None = None,
        v3_auth_key: str | None = None,
        v3_priv_key: str | None = None,
        trap_to: tuple[str, int] | None = None,
        ports: int = 8,
        drain_pct_per_s: float = 1.0,
    ) -> None:
        self.profile = profile
        self.name = name or f"{profile}-sim"
        self.host = host
        self.port = port
        self.community = community
        self.v3 = (v3_user, v3_auth_key, v3_priv_key) if v3_user else None
        self.trap_to = trap_to
        self.ports = ports
        self.drain_pct_per_s = drain_pct_per_s
        self.table = OidTable()
        self.link_up: dict[int, bool] = {i: True for i in range(1, ports + 1)}
        self.on_battery_since: float | None = None
        self.charge_at_mains_loss = 100.0
        self._booted = time.monotonic()
        self._engine: engine.SnmpEngine | None = None
        self._transport: SilenceableUdp | None = None
        self._trap_engine: SnmpEngine | None = None
        self._build_table()

    # ------------------------------------------------------------------ MIB

    def uptime_ticks(self) -> int:
        return int((time.monotonic() - self._booted) * 100) & 0xFFFFFFFF

    def charge_pct(self) -> int:
        if self.on_battery_since is None:
            return round(self.charge_at_mains_loss)
        drained = (time.monotonic() - self.on_battery_since) * self.drain_pct_per_s
        return max(0, round(self.charge_at_mains_loss - drained))

    def seconds_on_battery(self) -> int:
        since = self.on_battery_since
        return 0 if since is None else int(time.monotonic() - since)

    def battery_status(self) -> UpsBatteryStatus:
        charge = self.charge_pct()
        if charge == 0:
            return UpsBatteryStatus.DEPLETED
        return UpsBatteryStatus.LOW if charge < 25 else UpsBatteryStatus.NORMAL

    def _build_table(self) -> None:
        t = self.table.values
        t[oids.SYS_DESCR] = v2c.OctetString(_DESCR[self.profile])
        t[oids.SYS_OBJECT_ID] = v2c.ObjectIdentifier((1, 3, 6, 1, 4, 1, 8072, 3, 2, 10))
        t[oids.SYS_UPTIME] = lambda: v2c.TimeTicks(self.uptime_ticks())
        t[oids.SYS_NAME] = v2c.OctetString(self.name)
        t[oids.SYS_LOCATION] = v2c.OctetString("gate lane 1")
        if self.profile == "ups":
            self._ups_table()
        elif self.profile == "switch":
            self._switch_table()
        elif self.profile == "host":
            self._host_table()

    def _ups_table(self) -> None:
        t = self.table.values
        on_battery = lambda: self.on_battery_since is not None  # noqa: E731
        t[oids.UPS_BATTERY_STATUS] = lambda: v2c.Integer(self.battery_status())
        t[oids.UPS_SECONDS_ON_BATTERY] = lambda: v2c.Integer(self.seconds_on_battery())
        t[oids.UPS_MINUTES_REMAINING] = lambda: v2c.Integer(self.charge_pct() * 30 // 100)
        t[oids.UPS_CHARGE_REMAINING] = lambda: v2c.Integer(self.charge_pct())
        t[oids.UPS_BATTERY_VOLTAGE] = v2c.Integer(272)  # 27.2 V
        t[oids.UPS_BATTERY_TEMPERATURE] = v2c.Integer(24)
        t[oids.UPS_OUTPUT_SOURCE] = lambda: v2c.Integer(
            UpsOutputSource.BATTERY if on_battery() else UpsOutputSource.NORMAL
        )
        t[oids.UPS_ALARMS_PRESENT] = lambda: v2c.Integer(1 if on_battery() else 0)

    def _switch_table(self) -> None:
        t = self.table.values
        for i in range(1, self.ports + 1):
            t[(*oids.IF_INDEX, i)] = v2c.Integer(i)
            t[(*oids.IF_DESCR, i)] = v2c.OctetString(f"GigabitEthernet0/{i}")
            t[(*oids.IF_ADMIN_STATUS, i)] = v2c.Integer(1)
            t[(*oids.IF_OPER_STATUS, i)] = self._oper_status(i)

    def _oper_status(self, index: int) -> Callable[[], Any]:
        return lambda: v2c.Integer(1 if self.link_up[index] else 2)

    def _host_table(self) -> None:
        t = self.table.values
        t[oids.HR_SYSTEM_UPTIME] = lambda: v2c.TimeTicks(self.uptime_ticks())
        t[(*oids.HR_PROCESSOR_LOAD, 196608)] = v2c.Integer(12)
        t[(*oids.HR_PROCESSOR_LOAD, 196609)] = v2c.Integer(30)
        storage = (
            (1, "Physical memory", 1024, 4_000_000, 1_500_000),
            (31, "/", 4096, 7_000_000, 2_100_000),
        )
        for row, descr, unit, size, used in storage:
            t[(*oids.HR_STORAGE_DESCR, row)] = v2c.OctetString(descr)
            t[(*oids.HR_STORAGE_UNITS, row)] = v2c.Integer(unit)
            t[(*oids.HR_STORAGE_SIZE, row)] = v2c.Integer(size)
            t[(*oids.HR_STORAGE_USED, row)] = v2c.Integer(used)

    # ------------------------------------------------------------------ agent

    async def __aenter__(self) -> SnmpDeviceSim:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._engine = engine.SnmpEngine()
        self._transport = SilenceableUdp().open_server_mode(sock=sock)
        config.add_transport(self._engine, udp.DOMAIN_NAME, self._transport)
        config.add_v1_system(self._engine, "corridor-area", self.community)
        config.add_vacm_user(self._engine, 2, "corridor-area", "noAuthNoPriv", (1, 3, 6))
        if self.v3:
            user, auth_key, priv_key = self.v3
            config.add_v3_user(
                self._engine,
                user,
                config.USM_AUTH_HMAC96_SHA,
                auth_key,
                config.USM_PRIV_CFB128_AES,
                priv_key,
            )
            config.add_vacm_user(self._engine, 3, user, "authPriv", (1, 3, 6))
        snmp_context = context.SnmpContext(self._engine)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", self.table)
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder,
                          cmdrsp.BulkCommandResponder):  # fmt: skip
            responder(self._engine, snmp_context)
        self._trap_engine = SnmpEngine()  # its own engine: see docs/devices.md (pysnmp notes)
        log.info("SNMP %s simulator %s on %s:%d", self.profile, self.name, self.host, self.port)

    async def stop(self) -> None:
        for eng in (self._engine, self._trap_engine):
            if eng is not None:
                eng.close_dispatcher()
        self._engine = self._trap_engine = None

    @property
    def silent(self) -> bool:
        return bool(self._transport and self._transport.silent)

    @silent.setter
    def silent(self, value: bool) -> None:
        if self._transport is not None:
            self._transport.silent = value

    # ------------------------------------------------------------------ faults

    async def mains_lost(self) -> None:
        """The UPS goes on battery and says so with upsTrapOnBattery."""
        if self.on_battery_since is None:
            self.charge_at_mains_loss = float(self.charge_pct())
            self.on_battery_since = time.monotonic()
        await self.send_trap(
            oids.UPS_TRAP_ON_BATTERY,
            (oids.UPS_MINUTES_REMAINING, v2c.Integer(self.charge_pct() * 30 // 100)),
        )

    async def mains_restored(self) -> None:
        self.charge_at_mains_loss = float(self.charge_pct())
        self.on_battery_since = None
        await self.send_trap(oids.UPS_TRAP_ALARM_REMOVED)

    async def set_link(self, index: int, up: bool) -> None:
        """A switch port goes down or comes back (linkDown / linkUp with ifIndex)."""
        self.link_up[index] = up
        await self.send_trap(
            oids.LINK_UP if up else oids.LINK_DOWN,
            ((*oids.IF_INDEX, index), v2c.Integer(index)),
            ((*oids.IF_ADMIN_STATUS, index), v2c.Integer(1)),
            ((*oids.IF_OPER_STATUS, index), v2c.Integer(1 if up else 2)),
        )

    async def reboot(self) -> None:
        self._booted = time.monotonic()
        await self.send_trap(oids.COLD_START)

    def set_raw(self, name: OID, value: Any) -> None:
        """Any value at any OID: e.g. a charge of 250 %, a string where a number belongs."""
        self.table.values[name] = value

    async def send_trap(self, trap_oid: OID, *varbinds: tuple[OID, Any]) -> None:
        if self.trap_to is None or self._trap_engine is None:
            return
        target = await UdpTransportTarget.create(self.trap_to, timeout=1, retries=0)
        notification = NotificationType(ObjectIdentity(oids.dotted(trap_oid)))
        if varbinds:
            notification = notification.add_varbinds(
                *((oids.dotted(name), value) for name, value in varbinds)
            )
        indication, *_ = await send_notification(
            self._trap_engine,
            CommunityData(self.community, mpModel=1),
            target,
            ContextData(),
            "trap",
            notification,
        )
        if indication:
            log.warning("SNMP simulator %s: trap not sent: %s", self.name, indication)

    async def send_garbage_trap(self, payload: bytes = b"\x30\x82\xff\xffnot snmp") -> None:
        """A datagram that is not SNMP at all, to the trap receiver."""
        if self.trap_to is None:
            return
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as sock:
            sock.sendto(payload, self.trap_to)
        await asyncio.sleep(0)


_DESCR: dict[str, str] = {
    "ups": "Corridor simulated UPS 3 kVA, UPS-MIB (RFC 1628)",
    "switch": "Corridor simulated 8-port managed switch",
    "camera": "Corridor simulated ANPR camera",
    "host": "Corridor gate box (simulated), Linux",
}
