"""Lane device adapters: one module and one config class per device kind.

An adapter runs a driver, turns what it reports into observations for the lane
(`edge.observations`), reconnects on its own, and reports its health. Adding a
device kind means adding a module here and its config class to `DeviceConfig`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from edge.adapters.anpr import AnprFeedAdapter, AnprFeedConfig
from edge.adapters.base import Adapter, ObservationSink
from edge.adapters.camera import CameraAdapter, CameraConfig
from edge.adapters.eseal import EsealAdapter, EsealConfig
from edge.adapters.rfid import RfidAdapter, RfidConfig
from edge.adapters.scanner import ScannerAdapter, ScannerConfig

AnyDeviceConfig = RfidConfig | AnprFeedConfig | CameraConfig | EsealConfig | ScannerConfig
DeviceConfig = Annotated[AnyDeviceConfig, Field(discriminator="type")]

ADAPTERS: dict[str, type[Adapter]] = {
    "rfid": RfidAdapter,
    "anpr_feed": AnprFeedAdapter,
    "camera": CameraAdapter,
    "eseal": EsealAdapter,
    "scanner": ScannerAdapter,
}

# Devices on a serial line: only one process can hold the port (`diagnose --skip-serial`).
SERIAL_TYPES = frozenset({"rfid", "eseal"})


def build(config: AnyDeviceConfig, sink: ObservationSink) -> Adapter:
    return ADAPTERS[config.type](config, sink)


__all__ = ["ADAPTERS", "SERIAL_TYPES", "Adapter", "DeviceConfig", "ObservationSink", "build"]
