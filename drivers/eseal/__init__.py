"""E-seal reader (ISO 18185 semantics) on a serial line: seal status, event log, arm, disarm.

    async with EsealReader(EsealSettings(port="/dev/ttyUSB1"), keys=keyring) as reader:
        async for status in reader.readings():
            print(status.seal_id, status.state, status.battery_pct)

The serial framing (ESR-1) is in `link`, the tag's signed air frames in `air`;
docs/devices.md documents both, and the arm/disarm authorisation scheme.
"""

from drivers.eseal.air import (
    LogEntry,
    SealLogEvent,
    TagResult,
    arm_token,
    derive_tag_key,
    disarm_token,
)
from drivers.eseal.errors import (
    EsealError,
    EsealLinkError,
    EsealTimeout,
    FrameError,
    SignatureError,
)
from drivers.eseal.link import ReaderStatus
from drivers.eseal.reader import (
    EsealReader,
    EsealSettings,
    EsealStats,
    ProbeResult,
    ReaderInfo,
    SealCommandOutcome,
    SealLog,
    SealStatusReading,
    SeenSeal,
)

__all__ = [
    "EsealError",
    "EsealLinkError",
    "EsealReader",
    "EsealSettings",
    "EsealStats",
    "EsealTimeout",
    "FrameError",
    "LogEntry",
    "ProbeResult",
    "ReaderInfo",
    "ReaderStatus",
    "SealCommandOutcome",
    "SealLog",
    "SealLogEvent",
    "SealStatusReading",
    "SeenSeal",
    "SignatureError",
    "TagResult",
    "arm_token",
    "derive_tag_key",
    "disarm_token",
]
