"""MQTT topic names, all under one versioned root.

A gate box may publish only under its own gate id; the broker ACL (see
`corridor.broker`) enforces that with the username as the gate id.
"""

from __future__ import annotations

import re

ROOT = "corridor/v1"

# Ids appear in topic levels, so they must never contain MQTT wildcards or separators.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ID = re.compile(ID_PATTERN)


def check_id(value: str) -> str:
    """Return `value` when it is usable as one topic level, else raise ValueError."""
    if not _ID.match(value):
        raise ValueError(f"not a valid id for a topic level: {value!r}")
    return value


def gate_passages(gate_id: str) -> str:
    """Edge -> central: fused passages (QoS 1, from the outbox)."""
    return f"{ROOT}/gates/{check_id(gate_id)}/passages"


def gate_status(gate_id: str) -> str:
    """Edge -> all: retained gate status; the last will marks the box offline."""
    return f"{ROOT}/gates/{check_id(gate_id)}/status"


def gate_events(gate_id: str) -> str:
    """Edge -> central: command acknowledgements and barrier state changes."""
    return f"{ROOT}/gates/{check_id(gate_id)}/events"


def gate_commands(gate_id: str) -> str:
    """Central -> edge: signed gate decisions."""
    return f"{ROOT}/gates/{check_id(gate_id)}/commands"


def gate_receipts(gate_id: str) -> str:
    """Central -> edge: ids of outbox messages central has stored (end-to-end ack)."""
    return f"{ROOT}/gates/{check_id(gate_id)}/receipts"


def unit_positions(device_id: str) -> str:
    """Tracker -> central: GNSS position fixes of a unit on the move."""
    return f"{ROOT}/units/{check_id(device_id)}/positions"


def seal_events(seal_id: str) -> str:
    """E-seal (or its reader) -> central: seal state changes."""
    return f"{ROOT}/seals/{check_id(seal_id)}/events"


def alerts(severity: str) -> str:
    """Central -> consoles, RRU devices: alerts by severity."""
    return f"{ROOT}/alerts/{check_id(severity)}"


def rru_positions(unit_id: str) -> str:
    """Rapid response unit's device -> central: its GNSS fixes (device_id = unit id)."""
    return f"{ROOT}/rru/{check_id(unit_id)}/positions"


def rru_notifications(unit_id: str) -> str:
    """Central -> a rapid response unit's device: incidents dispatched to it."""
    return f"{ROOT}/rru/{check_id(unit_id)}/notifications"


# Subscription filters used by central.
ALL_GATE_PASSAGES = f"{ROOT}/gates/+/passages"
ALL_GATE_EVENTS = f"{ROOT}/gates/+/events"
ALL_GATE_STATUS = f"{ROOT}/gates/+/status"
ALL_UNIT_POSITIONS = f"{ROOT}/units/+/positions"
ALL_SEAL_EVENTS = f"{ROOT}/seals/+/events"
ALL_ALERTS = f"{ROOT}/alerts/#"
ALL_RRU_POSITIONS = f"{ROOT}/rru/+/positions"


def gate_of(topic: str) -> str:
    """The gate id in a `corridor/v1/gates/{gate}/...` topic."""
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != ROOT or parts[2] != "gates":
        raise ValueError(f"not a gate topic: {topic!r}")
    return check_id(parts[3])


def device_of(topic: str) -> str:
    """The device id in a `corridor/v1/{units|seals|rru}/{id}/...` topic."""
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != ROOT or parts[2] not in ("units", "seals", "rru"):
        raise ValueError(f"not a unit, seal or rru topic: {topic!r}")
    return check_id(parts[3])
