"""Build the AsyncAPI 3.0 document of the bus from the message models.

`contract/asyncapi.yaml` is the committed, human-readable document; a test
regenerates it and fails if the models and the document disagree. Run
`corridor contract asyncapi --write` after changing a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from contract import messages as m
from contract.topics import ROOT

DOCUMENT = Path(__file__).with_name("asyncapi.yaml")

# channel name -> (address, parameter, messages, who sends, description, retained)
CHANNELS: dict[str, tuple[str, str, list[type[m.Message]], str, str]] = {
    "gatePassages": (
        f"{ROOT}/gates/{{gateId}}/passages",
        "gateId",
        [m.Passage],
        "edge",
        "Fused passages, QoS 1, resent from the gate box outbox until a receipt names them.",
    ),
    "gateStatus": (
        f"{ROOT}/gates/{{gateId}}/status",
        "gateId",
        [m.GateStatus],
        "edge",
        "Retained. Published online at connect; the MQTT last will is the same message "
        "with online=false.",
    ),
    "gateEvents": (
        f"{ROOT}/gates/{{gateId}}/events",
        "gateId",
        [m.CommandAck, m.BarrierStateEvent],
        "edge",
        "What the box did with a decision, and barrier state read back from the PLC.",
    ),
    "gateCommands": (
        f"{ROOT}/gates/{{gateId}}/commands",
        "gateId",
        [m.GateDecision],
        "central",
        "Signed gate decisions. The box opens only on a valid, fresh release naming "
        "the passage in front of it.",
    ),
    "gateReceipts": (
        f"{ROOT}/gates/{{gateId}}/receipts",
        "gateId",
        [m.Receipt],
        "central",
        "Message ids central has stored; the box stops resending them.",
    ),
    "unitPositions": (
        f"{ROOT}/units/{{deviceId}}/positions",
        "deviceId",
        [m.PositionFix],
        "device",
        "GNSS fixes of units in transit.",
    ),
    "sealEvents": (
        f"{ROOT}/seals/{{sealId}}/events",
        "sealId",
        [m.SealEvent],
        "device",
        "E-seal state changes.",
    ),
    "alerts": (
        f"{ROOT}/alerts/{{severity}}",
        "severity",
        [m.Alert],
        "central",
        "Alerts raised by central, by severity.",
    ),
    "rruPositions": (
        f"{ROOT}/rru/{{unitId}}/positions",
        "unitId",
        [m.PositionFix],
        "device",
        "GNSS fixes of a rapid response unit (device_id = the unit id).",
    ),
    "rruNotifications": (
        f"{ROOT}/rru/{{unitId}}/notifications",
        "unitId",
        [m.IncidentNotice],
        "central",
        "Incidents dispatched to a rapid response unit, and news of them. QoS 1.",
    ),
}


def build() -> dict[str, Any]:
    """The AsyncAPI document as a plain dict."""
    _, schema = models_json_schema(
        [(model, "serialization") for model in m.ALL_MESSAGES],
        ref_template="#/components/schemas/{model}",
    )
    schemas = schema.get("$defs", {})
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, (address, param, models, sender, description) in CHANNELS.items():
        channels[name] = {
            "address": address,
            "description": description,
            "parameters": {param: {"description": f"{param}: letters, digits, _ . : -"}},
            "messages": {
                model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}
                for model in models
            },
        }
        operations[f"{sender}Sends{name[0].upper()}{name[1:]}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"sent by {sender}",
        }
    messages = {
        model.__name__: {
            "name": model.__name__,
            "contentType": "application/json",
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
        for model in m.ALL_MESSAGES
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Corridor bus",
            "version": f"{m.SCHEMA_VERSION}.0.0",
            "description": "MQTT 5 topics and JSON payloads between gate boxes, central "
            "and devices. Generated from contract/messages.py; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "localhost:8883",
                "protocol": "mqtts",
                "protocolVersion": "5",
                "description": "TLS; one credential per gate box; ACLs confine a box "
                "to its own gate id.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return yaml.safe_dump(build(), sort_keys=True, allow_unicode=True, width=100)
