"""Receive SNMP notifications (v2c traps and informs) from the lane's devices.

    async with TrapReceiver(TrapSettings(port=1162)) as receiver:
        async for trap in receiver.traps():
            if trap.kind is TrapKind.UPS_ON_BATTERY: ...

pysnmp decodes and authenticates the datagrams (community); a datagram that is
not SNMP, or carries an unknown community, is dropped by pysnmp and counted in
its own SNMPv2-MIB counters, which `stats()` reports. A notification without a
snmpTrapOID is dropped, counted and logged here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv

from drivers.snmp import oids
from drivers.snmp.device import Plain, plain
from drivers.snmp.errors import SnmpError
from drivers.snmp.oids import OID, TrapKind

log = logging.getLogger(__name__)


class TrapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=162, ge=0, le=65535, description="UDP port (0: any free port)")
    communities: list[str] = Field(default=["public"], description="accepted v2c communities")
    queue_size: int = Field(default=1000, ge=1, description="traps held for a slow consumer")


class SnmpTrap(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="sender address, host:port")
    kind: TrapKind
    trap_oid: str
    uptime_s: float | None = Field(description="sender's sysUpTime when it sent the trap")
    if_index: int | None = Field(default=None, description="for link_down / link_up")
    varbinds: dict[str, str] = Field(description="every varbind, dotted OID -> value as text")
    at: datetime = Field(description="when it was received, UTC")


@dataclass(frozen=True)
class TrapStats:
    received: int
    malformed: int
    dropped_full: int
    asn_parse_errors: int
    bad_communities: int


class MalformedTrap(SnmpError):
    """A notification Corridor cannot interpret."""


def trap_from_varbinds(source: str, varbinds: Iterable[tuple[OID, Plain]]) -> SnmpTrap:
    """Interpret a notification's varbinds (pure: no network, fuzzable)."""
    values = {tuple(name): value for name, value in varbinds}
    trap_oid = values.get(oids.SNMP_TRAP_OID)
    if not isinstance(trap_oid, str):
        raise MalformedTrap(f"notification from {source} carries no snmpTrapOID.0")
    try:
        kind = oids.TRAP_KINDS.get(oids.oid(trap_oid), TrapKind.OTHER)
    except ValueError as err:
        raise MalformedTrap(f"snmpTrapOID {trap_oid!r} is not an OID") from err
    ticks = values.get(oids.SYS_UPTIME)
    if_index = None
    if kind in (TrapKind.LINK_DOWN, TrapKind.LINK_UP):
        if_index = _if_index(values)
    return SnmpTrap(
        source=source,
        kind=kind,
        trap_oid=trap_oid,
        uptime_s=ticks / 100 if isinstance(ticks, int) and ticks >= 0 else None,
        if_index=if_index,
        varbinds={oids.dotted(name): str(value) for name, value in values.items()},
        at=datetime.now(UTC),
    )


def _if_index(values: dict[OID, Plain]) -> int | None:
    """linkDown/linkUp carry ifIndex.N (and ifOperStatus.N); N is the port."""
    for name, value in values.items():
        if name[: len(oids.IF_INDEX)] == oids.IF_INDEX and isinstance(value, int):
            return value
    for name in values:
        if name[:-1] == oids.IF_OPER_STATUS:
            return name[-1]
    return None


class TrapReceiver:
    """A notification receiver on a UDP port. Use as `async with`."""

    def __init__(self, settings: TrapSettings) -> None:
        self.settings = settings
        self.port = settings.port
        self._engine: engine.SnmpEngine | None = None
        self._queue: asyncio.Queue[SnmpTrap] = asyncio.Queue(settings.queue_size)
        self._received = 0
        self._malformed = 0
        self._dropped_full = 0

    async def __aenter__(self) -> TrapReceiver:
        self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        s = self.settings
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((s.host, s.port))
        except OSError as err:
            sock.close()
            raise SnmpError(f"cannot listen for traps on {s.host}:{s.port}: {err}") from err
        self.port = sock.getsockname()[1]
        self._engine = engine.SnmpEngine()
        config.add_transport(
            self._engine, udp.DOMAIN_NAME, udp.UdpAsyncioTransport().open_server_mode(sock=sock)
        )
        for number, community in enumerate(s.communities):
            config.add_v1_system(self._engine, f"trap-area-{number}", community)
        ntfrcv.NotificationReceiver(self._engine, self._on_notification)
        log.info("SNMP trap receiver on %s:%d", s.host, self.port)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def _on_notification(
        self,
        snmp_engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        varbinds: Any,
        cb_ctx: Any,
    ) -> None:
        context = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        host, port = context["transportAddress"][:2]
        self._received += 1
        try:
            trap = trap_from_varbinds(
                f"{host}:{port}", ((tuple(name), plain(value)) for name, value in varbinds)
            )
        except MalformedTrap as err:
            self._malformed += 1
            log.warning("SNMP trap dropped: %s", err)
            return
        try:
            self._queue.put_nowait(trap)
        except asyncio.QueueFull:
            self._dropped_full += 1
            log.warning("SNMP trap queue full: dropped %s from %s", trap.kind, trap.source)

    async def traps(self) -> AsyncGenerator[SnmpTrap, None]:
        while True:
            yield await self._queue.get()

    def stats(self) -> TrapStats:
        parse_errors = bad_communities = 0
        if self._engine is not None:
            mib = self._engine.get_mib_builder()
            (asn,) = mib.import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")
            (community,) = mib.import_symbols("__SNMPv2-MIB", "snmpInBadCommunityNames")
            parse_errors, bad_communities = int(asn.syntax), int(community.syntax)
        return TrapStats(
            received=self._received,
            malformed=self._malformed,
            dropped_full=self._dropped_full,
            asn_parse_errors=parse_errors,
            bad_communities=bad_communities,
        )
