"""The site file: logistic nodes, their gate boxes, and one mission path per process.

The file is YAML; it is validated here, then synced into the database at start-up
(see `central.store.sync_site`). The models are also the pure rule's view of a
mission path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from central.errors import ConfigError
from contract.messages import DeviceId

NodeKind = Literal["gate", "parking", "wharf", "dock", "border"]


class LogisticNode(BaseModel):
    """A physical checkpoint; its gate boxes report passages under their gate ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: DeviceId = Field(description="logistic node id")
    name: str = Field(default="", description="human-readable name")
    kind: NodeKind = Field(default="gate", description="gate | parking | wharf | dock | border")
    gates: list[DeviceId] = Field(default_factory=list, description="gate box ids at this node")


class MissionStep(BaseModel):
    """One step of a mission path: the unit must pass one of `nodes`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nodes: list[DeviceId] = Field(min_length=1, description="allowed nodes (alternatives)")
    requires_clearance: bool = Field(
        default=True, description="customs status must be `cleared` to pass"
    )
    divert_unless: str | None = Field(
        default=None, description="permit name; a unit without it is released to `divert_to`"
    )
    divert_to: DeviceId | None = Field(default=None, description="node a diverted unit goes to")
    scan_check: bool = Field(
        default=False, description="a required NII scan must be validated to pass here"
    )

    @model_validator(mode="after")
    def _divert_pair(self) -> MissionStep:
        if (self.divert_unless is None) != (self.divert_to is None):
            raise ValueError("divert_unless and divert_to go together")
        return self


class MissionPath(BaseModel):
    """The ordered steps of one customs process; the last step is the destination."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(default="", description="what the process is")
    steps: list[MissionStep] = Field(min_length=1, description="ordered steps")


class Site(BaseModel):
    """A whole site file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(description="site name, e.g. bari")
    nodes: list[LogisticNode] = Field(default_factory=list)
    processes: dict[DeviceId, MissionPath] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Site:
        node_ids = [node.id for node in self.nodes]
        if len(set(node_ids)) != len(node_ids):
            raise ValueError("node ids must be unique")
        gate_ids = [gate for node in self.nodes for gate in node.gates]
        if len(set(gate_ids)) != len(gate_ids):
            raise ValueError("a gate box belongs to exactly one node")
        known = set(node_ids)
        for process, path in self.processes.items():
            for i, step in enumerate(path.steps):
                unknown = [n for n in [*step.nodes, step.divert_to] if n and n not in known]
                if unknown:
                    raise ValueError(f"process {process} step {i}: unknown nodes {unknown}")
        return self

    def node_of_gate(self, gate_id: str) -> str | None:
        for node in self.nodes:
            if gate_id in node.gates:
                return node.id
        return None


def load_site(path: Path) -> Site:
    """Read and validate a site file; ConfigError says what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read site file {path}: {err}") from err
    try:
        return Site.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"site file {path} is invalid: {err}") from err
