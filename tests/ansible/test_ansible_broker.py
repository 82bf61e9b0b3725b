"""The broker as the broker role configures it, run for real: Mosquitto with the rendered
mosquitto.conf, ACL and password file, and clients with the rendered gate box and
central configurations. Only paths and the port are moved into a temporary directory."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from ansible_harness import Host

from central.settings import load_settings
from contract import topics
from contract.bus import BrokerSettings, client
from corridor.broker import find_mosquitto, free_port, write_tls_files
from edge.config import load


@pytest.fixture
def deployed_broker(broker_host: Host, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Mosquitto on loopback with the role's files; yields (port, CA file)."""
    port = free_port()
    directory = tmp_path / "mosquitto"
    (directory / "certs").mkdir(parents=True)
    (directory / "data").mkdir()
    ca, cert, key = write_tls_files(directory / "certs")
    cert.rename(directory / "certs" / "broker.crt")
    key.rename(directory / "certs" / "broker.key")
    moved = {
        "corridor_broker_dir": str(directory),
        "corridor_broker_run_user": getpass.getuser(),
        "corridor_broker_persistence_dir": str(directory / "data"),
        "corridor_broker_pid_file": str(directory / "mosquitto.pid"),
        "corridor_broker_port": port,
        "corridor_broker_listen_address": "127.0.0.1",
    }
    conf = directory / "mosquitto.conf"
    conf.write_text(broker_host.render("mosquitto.conf.j2", **moved))
    (directory / "acl").write_text(broker_host.render("acl.j2"))
    # What the role's "Hash the credentials" task does.
    (directory / "passwd").write_text(broker_host.render("passwd.plain.j2"))
    subprocess.run(["mosquitto_passwd", "-U", str(directory / "passwd")], check=True)
    assert "example-central-password" not in (directory / "passwd").read_text()

    log = (directory / "mosquitto.log").open("wb")
    proc = subprocess.Popen([find_mosquitto(), "-c", str(conf)], stdout=log, stderr=log)
    try:
        _wait_for_tls(port, ca, proc, directory / "mosquitto.log")
        yield port, ca
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        log.close()


def _wait_for_tls(port: int, ca: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"mosquitto exited: {log.read_text()}"
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
            context.wrap_socket(raw, server_hostname="localhost"),
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"mosquitto did not accept TLS: {log.read_text()}")


def _gate_settings(gate: Host, tmp_path: Path, port: int, ca: Path) -> BrokerSettings:
    path = tmp_path / f"{gate['corridor_gate_id']}.yaml"
    path.write_text(gate.render("edge.yaml.j2"))
    return load(path).mqtt.model_copy(
        update={"host": "127.0.0.1", "port": port, "ca_file": str(ca)}
    )


def _central_settings(central: Host, tmp_path: Path, port: int, ca: Path) -> BrokerSettings:
    path = tmp_path / "central.yaml"
    path.write_text(central.render("central.yaml.j2"))
    mqtt = load_settings(path).mqtt
    return BrokerSettings(
        host="127.0.0.1",
        port=port,
        username=mqtt.username,
        password=mqtt.password,
        ca_file=str(ca),
        client_id=mqtt.client_id,
    )


async def _first(sub: aiomqtt.Client) -> bytes:
    async def first() -> bytes:
        async for message in sub.messages:
            return bytes(message.payload)  # type: ignore[arg-type,unused-ignore]
        raise AssertionError("subscription ended")

    return await asyncio.wait_for(first(), 5)


async def test_deployed_broker_lets_each_gate_box_publish_only_as_itself(
    deployed_broker: tuple[int, Path],
    central_host: Host,
    gate_hosts: list[Host],
    tmp_path: Path,
) -> None:
    port, ca = deployed_broker
    vittoria, marisabella = sorted(gate_hosts, key=lambda g: g["corridor_gate_id"] != "vittoria")
    central = _central_settings(central_host, tmp_path, port, ca)
    gate = _gate_settings(vittoria, tmp_path, port, ca)
    other = marisabella["corridor_gate_id"]
    async with client(central) as central_client, client(gate) as gate_client:
        await central_client.subscribe(f"{topics.ROOT}/gates/+/passages", qos=1)
        await gate_client.publish(topics.gate_passages(other), b"forged", qos=1)
        await gate_client.publish(topics.gate_passages(gate.username or ""), b"own", qos=1)
        # One client's publishes are handled in order: a forged one let through comes first.
        assert await _first(central_client) == b"own"
    # The other box logs in with its own credential; a wrong password is refused.
    async with client(_gate_settings(marisabella, tmp_path, port, ca)):
        pass
    with pytest.raises(aiomqtt.MqttError):
        async with client(gate.model_copy(update={"password": "not-it"})):
            pass
