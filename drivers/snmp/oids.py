"""The MIB objects Corridor reads, as numeric OIDs (no MIB compilation at run time).

SNMPv2-MIB (RFC 3418), IF-MIB (RFC 2863), UPS-MIB (RFC 1628), HOST-RESOURCES-MIB
(RFC 2790), and the standard notifications.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

OID = tuple[int, ...]


def oid(text: str) -> OID:
    return tuple(int(part) for part in text.strip(".").split("."))


def dotted(value: OID) -> str:
    return ".".join(str(part) for part in value)


# SNMPv2-MIB system group
SYS_DESCR = oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = oid("1.3.6.1.2.1.1.3.0")  # TimeTicks, hundredths of a second
SYS_NAME = oid("1.3.6.1.2.1.1.5.0")
SYS_LOCATION = oid("1.3.6.1.2.1.1.6.0")

# IF-MIB ifTable columns (index = ifIndex)
IF_DESCR = oid("1.3.6.1.2.1.2.2.1.2")
IF_ADMIN_STATUS = oid("1.3.6.1.2.1.2.2.1.7")
IF_OPER_STATUS = oid("1.3.6.1.2.1.2.2.1.8")
IF_INDEX = oid("1.3.6.1.2.1.2.2.1.1")

# UPS-MIB upsBattery and upsOutput groups
UPS_BATTERY_STATUS = oid("1.3.6.1.2.1.33.1.2.1.0")
UPS_SECONDS_ON_BATTERY = oid("1.3.6.1.2.1.33.1.2.2.0")
UPS_MINUTES_REMAINING = oid("1.3.6.1.2.1.33.1.2.3.0")
UPS_CHARGE_REMAINING = oid("1.3.6.1.2.1.33.1.2.4.0")  # percent
UPS_BATTERY_VOLTAGE = oid("1.3.6.1.2.1.33.1.2.5.0")  # 0.1 V DC
UPS_BATTERY_TEMPERATURE = oid("1.3.6.1.2.1.33.1.2.7.0")  # degrees Celsius
UPS_OUTPUT_SOURCE = oid("1.3.6.1.2.1.33.1.4.1.0")
UPS_ALARMS_PRESENT = oid("1.3.6.1.2.1.33.1.6.1.0")

# HOST-RESOURCES-MIB
HR_SYSTEM_UPTIME = oid("1.3.6.1.2.1.25.1.1.0")
HR_PROCESSOR_LOAD = oid("1.3.6.1.2.1.25.3.3.1.2")  # column, percent per CPU
HR_STORAGE_DESCR = oid("1.3.6.1.2.1.25.2.3.1.3")
HR_STORAGE_UNITS = oid("1.3.6.1.2.1.25.2.3.1.4")  # bytes per allocation unit
HR_STORAGE_SIZE = oid("1.3.6.1.2.1.25.2.3.1.5")
HR_STORAGE_USED = oid("1.3.6.1.2.1.25.2.3.1.6")

# Notifications
SNMP_TRAP_OID = oid("1.3.6.1.6.3.1.1.4.1.0")
COLD_START = oid("1.3.6.1.6.3.1.1.5.1")
WARM_START = oid("1.3.6.1.6.3.1.1.5.2")
LINK_DOWN = oid("1.3.6.1.6.3.1.1.5.3")
LINK_UP = oid("1.3.6.1.6.3.1.1.5.4")
UPS_TRAP_ON_BATTERY = oid("1.3.6.1.2.1.33.2.0.1")
UPS_TRAP_ALARM_ADDED = oid("1.3.6.1.2.1.33.2.0.3")
UPS_TRAP_ALARM_REMOVED = oid("1.3.6.1.2.1.33.2.0.4")


class UpsBatteryStatus(IntEnum):
    UNKNOWN = 1
    NORMAL = 2
    LOW = 3
    DEPLETED = 4


class UpsOutputSource(IntEnum):
    OTHER = 1
    NONE = 2
    NORMAL = 3
    BYPASS = 4
    BATTERY = 5
    BOOSTER = 6
    REDUCER = 7


class IfOperStatus(IntEnum):
    UP = 1
    DOWN = 2
    TESTING = 3
    UNKNOWN = 4
    DORMANT = 5
    NOT_PRESENT = 6
    LOWER_LAYER_DOWN = 7


class TrapKind(StrEnum):
    COLD_START = "cold_start"
    WARM_START = "warm_start"
    LINK_DOWN = "link_down"
    LINK_UP = "link_up"
    UPS_ON_BATTERY = "ups_on_battery"
    UPS_ALARM_ADDED = "ups_alarm_added"
    UPS_ALARM_REMOVED = "ups_alarm_removed"
    OTHER = "other"


TRAP_KINDS: dict[OID, TrapKind] = {
    COLD_START: TrapKind.COLD_START,
    WARM_START: TrapKind.WARM_START,
    LINK_DOWN: TrapKind.LINK_DOWN,
    LINK_UP: TrapKind.LINK_UP,
    UPS_TRAP_ON_BATTERY: TrapKind.UPS_ON_BATTERY,
    UPS_TRAP_ALARM_ADDED: TrapKind.UPS_ALARM_ADDED,
    UPS_TRAP_ALARM_REMOVED: TrapKind.UPS_ALARM_REMOVED,
}
