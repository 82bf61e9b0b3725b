"""NII/X-ray scanner control link: trigger, scan started/complete, faults (NII-1 over TCP).

The scan id the scanner returns is linked to the passage that triggered it; the
"scan validated" verdict comes later from the image analyst through central's
HTTP API, never through this driver (docs/devices.md).
"""

from drivers.scanner.client import (
    NiiScanner,
    ProbeResult,
    ScanAborted,
    ScanCompleted,
    ScannerEvent,
    ScannerFault,
    ScannerFaultCleared,
    ScannerSettings,
    ScannerState,
    ScannerStats,
    ScannerStatus,
    ScanStarted,
    TriggerOutcome,
)
from drivers.scanner.errors import LineError, ScannerError, ScannerLinkError, ScannerTimeout

__all__ = [
    "LineError",
    "NiiScanner",
    "ProbeResult",
    "ScanAborted",
    "ScanCompleted",
    "ScanStarted",
    "ScannerError",
    "ScannerEvent",
    "ScannerFault",
    "ScannerFaultCleared",
    "ScannerLinkError",
    "ScannerSettings",
    "ScannerState",
    "ScannerStats",
    "ScannerStatus",
    "ScannerTimeout",
    "TriggerOutcome",
]
