"""UHF RFID reader adapter: the truck's tag as an identifier read."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from contract import IdentifierKind
from drivers.probe import ProbeResult
from drivers.rfid import RfidError, RfidReader, RfidSettings
from edge.adapters.base import Adapter, AdapterConfig
from edge.observations import IdentifierRead


class RfidConfig(AdapterConfig):
    type: Literal["rfid"] = "rfid"
    port: str = Field(description="serial device of the reader")
    baudrate: int = Field(default=115200, description="baud rate")
    address: int = Field(default=1, description="reader address")
    rssi_floor_dbm: float = Field(
        default=-70.0, description="weaker reads are tags in the next lane: ignored"
    )


def confidence_from_rssi(rssi_dbm: float) -> float:
    """The EPC itself is CRC-checked on air; what is uncertain is whether the tag is on
    the vehicle in this lane. A strong signal says it is."""
    return round(min(0.99, max(0.5, 0.6 + (rssi_dbm + 70) * 0.013)), 3)


class RfidAdapter(Adapter):
    config: RfidConfig

    def _settings(self) -> RfidSettings:
        c = self.config
        return RfidSettings(port=c.port, baudrate=c.baudrate, address=c.address)

    async def session(self) -> None:
        async with RfidReader(self._settings()) as reader:
            await reader.firmware_version()
            self.health.up()
            async for tag in reader.readings():
                if tag.rssi_dbm < self.config.rssi_floor_dbm:
                    continue
                self.sink(
                    IdentifierRead(
                        kind=IdentifierKind.RFID_TAG,
                        value=tag.epc,
                        confidence=confidence_from_rssi(tag.rssi_dbm),
                        source=self.name,
                        at=tag.at,
                        detail={"antenna": str(tag.antenna)},
                    )
                )

    async def probe(self) -> ProbeResult:
        started = time.perf_counter()
        try:
            async with RfidReader(self._settings()) as reader:
                version = await reader.firmware_version()
                tags = await reader.inventory()
        except RfidError as err:
            return ProbeResult(ok=False, detail=str(err))
        rtt = round((time.perf_counter() - started) * 1000, 1)
        return ProbeResult(
            ok=True, detail=f"firmware {version}, {len(tags)} tag(s) in field", round_trip_ms=rtt
        )
