"""The wire contract between gate boxes, central and simulators.

Topics, typed messages and signing live here and nowhere else: edge, central and
simulators import them from this package so that all three always agree.
"""

from contract.errors import ContractError
from contract.messages import (
    SCHEMA_VERSION,
    Alert,
    BarrierState,
    BarrierStateEvent,
    CommandAck,
    FusedIdentifier,
    GateDecision,
    GateEvent,
    GatePosition,
    GateStatus,
    HoldReason,
    IdentifierKind,
    IncidentNotice,
    LaneStatus,
    Message,
    Passage,
    PositionFix,
    Receipt,
    ScanInfo,
    SealEvent,
    SealReading,
    SealState,
    Verdict,
    parse_gate_event,
    utc_now,
)

__all__ = [
    "SCHEMA_VERSION",
    "Alert",
    "BarrierState",
    "BarrierStateEvent",
    "CommandAck",
    "ContractError",
    "FusedIdentifier",
    "GateDecision",
    "GateEvent",
    "GatePosition",
    "GateStatus",
    "HoldReason",
    "IdentifierKind",
    "IncidentNotice",
    "LaneStatus",
    "Message",
    "Passage",
    "PositionFix",
    "Receipt",
    "ScanInfo",
    "SealEvent",
    "SealReading",
    "SealState",
    "Verdict",
    "parse_gate_event",
    "utc_now",
]
