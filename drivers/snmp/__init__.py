"""Device health over SNMP (pysnmp 7.1): poll UPS, switch, cameras and the gate box; receive traps.

async with SnmpDevice(SnmpTarget(name="ups-1", kind="ups", host="10.0.0.9")) as ups:
    reading = await ups.poll()
async with TrapReceiver(TrapSettings(port=1162)) as receiver:
    async for trap in receiver.traps(): ...
"""

from drivers.snmp.device import (
    HealthReading,
    HostReading,
    InterfaceStatus,
    ProbeResult,
    SnmpDevice,
    SnmpStats,
    SnmpTarget,
    StorageUse,
    SwitchReading,
    SystemInfo,
    UpsReading,
)
from drivers.snmp.errors import SnmpError, SnmpRequestError, SnmpTimeout
from drivers.snmp.oids import IfOperStatus, TrapKind, UpsBatteryStatus, UpsOutputSource
from drivers.snmp.traps import MalformedTrap, SnmpTrap, TrapReceiver, TrapSettings, TrapStats

__all__ = [
    "HealthReading",
    "HostReading",
    "IfOperStatus",
    "InterfaceStatus",
    "MalformedTrap",
    "ProbeResult",
    "SnmpDevice",
    "SnmpError",
    "SnmpRequestError",
    "SnmpStats",
    "SnmpTarget",
    "SnmpTimeout",
    "SnmpTrap",
    "StorageUse",
    "SwitchReading",
    "SystemInfo",
    "TrapKind",
    "TrapReceiver",
    "TrapSettings",
    "TrapStats",
    "UpsBatteryStatus",
    "UpsOutputSource",
    "UpsReading",
]
