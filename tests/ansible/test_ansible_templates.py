"""The roles' templates, rendered with the example inventory, checked by the project's
own loaders: what Ansible writes on a host is what the services accept."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_harness import ANSIBLE, ROLES, Host

from central.settings import load_settings
from central.site import load_site
from corridor.broker import acl_text
from edge.config import EdgeConfig, load

# --------------------------------------------------------------------------- broker


def test_acl_is_the_rehearsal_acl(broker_host: Host) -> None:
    assert broker_host.render("acl.j2") == acl_text()


def test_password_list_has_the_services_and_every_gate_box(
    broker_host: Host, gate_hosts: list[Host]
) -> None:
    lines = broker_host.render("passwd.plain.j2").splitlines()
    credentials = dict(line.split(":", 1) for line in lines)
    assert len(credentials) == len(lines), "one line per user"
    expected = {
        "central": broker_host["corridor_mqtt_central_password"],
        "telematics": broker_host["corridor_mqtt_telematics_password"],
        "observer": broker_host["corridor_mqtt_observer_password"],
    }
    for gate in gate_hosts:
        expected[gate["corridor_gate_id"]] = gate["corridor_gate_mqtt_password"]
    assert credentials == expected


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out.setdefault(key, []).append(value)
    return out


def test_mosquitto_conf_keeps_the_rehearsal_security_model(
    broker_host: Host, tmp_path: Path
) -> None:
    from corridor.broker import Broker

    rehearsal = _directives((Broker(tmp_path, ["gate-a"]).directory / "mosquitto.conf").read_text())
    production = _directives(broker_host.render("mosquitto.conf.j2"))
    # Settings that make the security model and the latency: the same values.
    for key in ("per_listener_settings", "allow_anonymous", "set_tcp_nodelay"):
        assert production[key] == rehearsal[key], key
    # Files and TLS: present (paths differ), one listener, on the clients' port.
    for key in ("password_file", "acl_file", "cafile", "certfile", "keyfile"):
        assert len(production[key]) == 1, key
    assert production["password_file"][0].startswith(broker_host["corridor_broker_dir"] + "/")
    assert production["listener"] == [str(broker_host["corridor_broker_port"])]
    assert production["user"] == ["mosquitto"]
    assert production["persistence"] == ["true"]


# --------------------------------------------------------------------------- gate boxes


def _load_edge(text: str, tmp_path: Path, name: str) -> EdgeConfig:
    path = tmp_path / name
    path.write_text(text)
    return load(path)


def test_gate_box_config_loads_with_the_inventory_settings(
    gate_hosts: list[Host], tmp_path: Path
) -> None:
    for gate in gate_hosts:
        gate_id = gate["corridor_gate_id"]
        config = _load_edge(gate.render("edge.yaml.j2"), tmp_path, f"{gate_id}.yaml")
        assert config.gate_id == gate_id
        assert config.mqtt.host == gate["corridor_broker_host"]
        assert config.mqtt.port == gate["corridor_broker_port"]
        assert config.mqtt.username == gate_id
        assert config.mqtt.client_id == gate_id
        assert config.mqtt.password == gate["corridor_gate_mqtt_password"]
        assert config.mqtt.ca_file == "/etc/corridor/ca.crt"
        assert config.central_keys == {"central": Path("/etc/corridor/keys/central.pub")}
        assert config.signing is not None
        assert config.signing.key_id == gate_id
        assert config.signing.private_key_file == Path(f"/etc/corridor/keys/{gate_id}.key")
        assert config.outbox_path == Path(gate["corridor_edge_outbox_dir"]) / "outbox.sqlite"
        assert config.metrics_port == 9108

        lanes: list[dict[str, Any]] = gate["corridor_gate_lanes"]
        assert [lane.lane_id for lane in config.lanes] == [lane["lane_id"] for lane in lanes]
        for want, got in zip(lanes, config.lanes, strict=True):
            for key, value in want["plc"].items():
                assert getattr(got.plc, key) == value, (gate_id, want["lane_id"], key)
            assert [d.name for d in got.devices] == [d["name"] for d in want["devices"]]
            for device_want, device in zip(want["devices"], got.devices, strict=True):
                assert device.type == device_want["type"]
                if device.type == "rfid":
                    assert device.port == f"/dev/corridor/{device.name}"
                if device.type == "camera":
                    sources = [(v.view, v.source) for v in device.views]
                    assert sources == [(v["view"], v["source"]) for v in device_want["views"]]
                    for key, value in device_want.get("vision", {}).items():
                        assert getattr(device.vision, key) == value, (device.name, key)
    marisabella = next(g for g in gate_hosts if g["corridor_gate_id"] == "marisabella")
    config = _load_edge(marisabella.render("edge.yaml.j2"), tmp_path, "m.yaml")
    assert config.lanes[0].plc.transport == "rtu"
    assert config.lanes[0].devices[0].rssi_floor_dbm == -65  # type: ignore[union-attr]


def test_health_check_config_leaves_out_serial_lines_and_the_agents_client_id(
    gate_hosts: list[Host], tmp_path: Path
) -> None:
    checked = 0
    for gate in gate_hosts:
        gate_id = gate["corridor_gate_id"]
        agent = _load_edge(gate.render("edge.yaml.j2"), tmp_path, f"{gate_id}.yaml")
        text = gate.render("edge.yaml.j2", corridor_edge_health=True)
        if all(lane.plc.transport == "rtu" for lane in agent.lanes):
            # Nothing the check may probe beside the agent: the role installs no timer.
            assert yaml.safe_load(text)["lanes"] is None
            continue
        health = _load_edge(text, tmp_path, f"{gate_id}-health.yaml")
        checked += 1
        assert health.mqtt.client_id == f"{gate_id}-health" != agent.mqtt.client_id
        assert health.mqtt.username == agent.mqtt.username  # the ACL goes by username
        # Otherwise the same configuration, less serial readers and RTU lanes.
        expected = agent.model_dump()
        expected["mqtt"]["client_id"] = f"{gate_id}-health"
        expected["lanes"] = [
            {**lane, "devices": [d for d in lane["devices"] if d["type"] != "rfid"]}
            for lane in expected["lanes"]
            if lane["plc"]["transport"] != "rtu"
        ]
        assert health.model_dump() == expected
        assert any(d.type == "rfid" for lane in agent.lanes for d in lane.devices)
    assert checked >= 1


def _udev_rules(text: str) -> list[dict[str, str]]:
    token = re.compile(r'^([A-Z]+)(\{[A-Za-z_]+\})?(==|\+=|=)"([^"]*)"$')
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rule = {}
        for part in line.split(", "):
            match = token.match(part)
            assert match, f"not a udev key: {part!r} in {line!r}"
            key, attr, _op, value = match.groups()
            rule[key + (attr or "")] = value
        rules.append(rule)
    return rules


def test_udev_rules_name_every_serial_reader(gate_hosts: list[Host], tmp_path: Path) -> None:
    for gate in gate_hosts:
        rules = _udev_rules(gate.render("60-corridor-serial.rules.j2"))
        devices = gate["corridor_gate_serial_devices"]
        assert len(rules) == len(devices)
        by_link = {rule["SYMLINK"]: rule for rule in rules}
        for device in devices:
            rule = by_link[f"corridor/{device['name']}"]
            assert rule["SUBSYSTEM"] == "tty"
            assert rule["ATTRS{idVendor}"] == device["vendor"]
            assert rule["ATTRS{idProduct}"] == device["product"]
            if "serial" in device:
                assert rule["ATTRS{serial}"] == device["serial"]
            else:
                assert rule["KERNELS"] == device["usb_path"]
            assert (rule["GROUP"], rule["MODE"]) == ("dialout", "0660")
        # Every serial port the gate box opens is one of these stable names.
        config = _load_edge(gate.render("edge.yaml.j2"), tmp_path, "gate.yaml")
        ports: list[str | None] = [
            d.port for lane in config.lanes for d in lane.devices if d.type == "rfid"
        ]
        ports += [lane.plc.serial_port for lane in config.lanes if lane.plc.transport == "rtu"]
        assert ports
        for port in ports:
            assert port is not None and port.startswith("/dev/")
            assert port.removeprefix("/dev/") in by_link, port
        kinds = {device.get("kind") for device in devices}
        assert "eseal" in kinds and "rfid" in kinds


# --------------------------------------------------------------------------- central


def test_central_config_loads_with_the_inventory_settings(
    central_host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("CORRIDOR_CENTRAL__")]:
        monkeypatch.delenv(name)
    path = tmp_path / "central.yaml"
    path.write_text(central_host.render("central.yaml.j2"))
    settings = load_settings(path)
    assert settings.database_url == central_host["corridor_central_database_url"]
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.mqtt.host == central_host["corridor_broker_host"]
    assert settings.mqtt.port == central_host["corridor_broker_port"]
    assert settings.mqtt.username == "central"
    assert settings.mqtt.password == central_host["corridor_mqtt_central_password"]
    assert settings.mqtt.ca_file == "/etc/corridor/ca.crt"
    assert settings.mqtt.client_id == "corridor-central"
    assert settings.signing.private_key_file == Path("/etc/corridor/keys/central.key")
    assert settings.signing.key_id == "central"
    assert settings.gate_keys_dir == Path("/etc/corridor/keys/gates")
    assert settings.require_signed_passages is True
    assert settings.site_file == Path("/etc/corridor/site.yaml")
    assert settings.api_tokens == central_host["corridor_central_api_tokens"]
    assert settings.decision_ttl_s == 30


def test_central_settings_extra_reach_the_file(central_host: Host, tmp_path: Path) -> None:
    text = central_host.render(
        "central.yaml.j2", corridor_central_settings_extra={"decision_ttl_s_typo": 1}
    )
    path = tmp_path / "central.yaml"
    path.write_text(text)
    with pytest.raises(Exception, match="decision_ttl_s_typo"):
        load_settings(path)


def test_site_file_has_every_gate_box(central_host: Host, gate_hosts: list[Host]) -> None:
    site = load_site(Path(central_host["corridor_central_site_file"]))
    gates = {gate for node in site.nodes for gate in node.gates}
    for gate in gate_hosts:
        assert gate["corridor_gate_id"] in gates


# --------------------------------------------------------------------------- systemd


def _unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_central_unit(central_host: Host) -> None:
    unit = _unit(central_host.render("corridor-central.service.j2"))
    service = unit["Service"]
    assert service["ExecStart"].split() == [
        "/opt/corridor/venv/bin/corridor",
        "central",
        "run",
        "--config",
        "/etc/corridor/central.yaml",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert service["Restart"] == "always"
    assert int(service["RestartSec"]) > 0
    assert (service["User"], service["Group"]) == ("corridor", "corridor")
    assert "time-sync.target" in unit["Unit"]["After"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_gate_box_units(gate_hosts: list[Host]) -> None:
    for gate in gate_hosts:
        agent = _unit(gate.render("corridor-edge.service.j2"))
        service = agent["Service"]
        assert service["ExecStart"].split() == [
            "/opt/corridor/venv/bin/corridor",
            "edge",
            "run",
            "--config",
            "/etc/corridor/edge.yaml",
        ]
        assert service["Restart"] == "always"
        assert int(service["RestartSec"]) > 0
        assert "WatchdogSec" not in service  # the agent does not notify systemd
        assert service["User"] == "corridor"
        assert "dialout" in service["SupplementaryGroups"].split()
        assert gate["corridor_edge_outbox_dir"] in service["ReadWritePaths"].split()
        assert agent["Unit"]["StartLimitIntervalSec"] == "0"
        assert agent["Install"]["WantedBy"] == "multi-user.target"

        check = _unit(gate.render("corridor-edge-health.service.j2"))["Service"]
        assert check["Type"] == "oneshot"
        assert check["ExecStart"].split()[1:] == [
            "edge",
            "diagnose",
            "--config",
            "/etc/corridor/edge-health.yaml",
        ]
        timer = _unit(gate.render("corridor-edge-health.timer.j2"))
        assert timer["Timer"]["OnUnitActiveSec"] == "5min"
        assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_units_pass_systemd_analyze_verify(
    central_host: Host, gate_hosts: list[Host], tmp_path: Path
) -> None:
    # ExecStart must name an executable that exists: point corridor_bin at one.
    binary = tmp_path / "corridor"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    units = {
        "corridor-central.service": central_host.render(
            "corridor-central.service.j2", corridor_bin=str(binary)
        )
    }
    for name in ("corridor-edge.service", "corridor-edge-health.service"):
        units[name] = gate_hosts[0].render(f"{name}.j2", corridor_bin=str(binary))
    units["corridor-edge-health.timer"] = gate_hosts[0].render("corridor-edge-health.timer.j2")
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in units)],
        capture_output=True,
        text=True,
    )
    # Unknown keys and sections are only warnings to systemd: any output is a failure.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(tmp_path) in line or "corridor" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


# --------------------------------------------------------------------------- common


def test_chrony_and_journald(gate_hosts: list[Host], central_host: Host) -> None:
    for host in [central_host, *gate_hosts]:
        chrony = _directives(host.render("chrony.conf.j2"))
        assert chrony["server"] == [f"{name} iburst" for name in host["corridor_ntp_servers"]]
        assert chrony["makestep"] == ["1.0 3"]
        assert "rtcsync" in chrony
        journal = _unit(host.render("journald.conf.j2"))["Journal"]
        assert journal["Storage"] == "persistent"


def test_every_template_is_used_and_every_used_template_exists() -> None:
    """A template no task writes is dead; a task naming a missing one fails late."""
    used: dict[str, set[str]] = {}
    for role in sorted(p.name for p in ROLES.iterdir()):
        for tasks_file in (ROLES / role / "tasks").glob("*.yml"):
            text = tasks_file.read_text()
            names = set(re.findall(r"src: ([\w.-]+\.j2)", text))
            names |= {f"{n}.j2" for n in re.findall(r"- (corridor-[\w.-]+)$", text, re.M)}
            used.setdefault(role, set()).update(names)
        present = {p.name for p in (ROLES / role / "templates").glob("*.j2")}
        assert used[role] == present, role
    assert (ANSIBLE / "site.yml").is_file()
