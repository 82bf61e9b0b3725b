"""The broker's security model: TLS, one credential per gate box, ACLs."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import aiomqtt
import pytest

from contract import topics
from contract.bus import BrokerSettings, client
from corridor.broker import Broker, BrokerError


async def _first_payload(sub: aiomqtt.Client, timeout_s: float = 5.0) -> bytes:
    async def first() -> bytes:
        async for message in sub.messages:
            return bytes(message.payload)  # type: ignore[arg-type]
        raise AssertionError("subscription ended")

    return await asyncio.wait_for(first(), timeout_s)


async def test_gate_cannot_publish_as_another_gate(broker: Broker) -> None:
    async with (
        client(broker.settings("central", "acl-central")) as central,
        client(broker.settings("gate-a", "acl-gate-a")) as gate_a,
    ):
        await central.subscribe(f"{topics.ROOT}/gates/+/passages", qos=1)
        await gate_a.publish(topics.gate_passages("gate-b"), b"forged", qos=1)
        await gate_a.publish(topics.gate_passages("gate-a"), b"own", qos=1)
        # The broker handles one client's publishes in order: had the forged one been
        # accepted, it would arrive first.
        assert await _first_payload(central) == b"own"


async def test_gate_cannot_read_another_gates_commands(broker: Broker) -> None:
    async with (
        client(broker.settings("central", "acl-central-2")) as central,
        client(broker.settings("gate-a", "acl-gate-a-2")) as gate_a,
    ):
        await gate_a.subscribe(f"{topics.ROOT}/gates/+/commands", qos=1)
        await central.publish(topics.gate_commands("gate-b"), b"for b", qos=1)
        await central.publish(topics.gate_commands("gate-a"), b"for a", qos=1)
        assert await _first_payload(gate_a) == b"for a"


async def test_wrong_password_is_refused(broker: Broker) -> None:
    settings = broker.settings("gate-a").model_copy(update={"password": "not-it"})
    with pytest.raises(aiomqtt.MqttError):
        async with client(settings):
            pass


async def test_plain_tcp_and_untrusted_tls_are_refused(broker: Broker) -> None:
    good = broker.settings("gate-a")
    no_tls = BrokerSettings(**{**good.model_dump(), "ca_file": None})
    with pytest.raises(aiomqtt.MqttError):
        async with client(no_tls):
            pass
    # A client that trusts only the system CAs must not accept the broker's certificate.
    untrusted = aiomqtt.Client(
        good.host,
        good.port,
        username=good.username,
        password=good.password,
        tls_context=ssl.create_default_context(),
        timeout=3,
    )
    with pytest.raises(aiomqtt.MqttError):
        async with untrusted:
            pass


async def test_a_port_taken_before_the_first_start_is_given_up_for_another(
    tmp_path: Path,
) -> None:
    broker = Broker(tmp_path / "broker", ["gate-a"])
    taken = broker.port
    with socket.socket() as squatter:  # another process binds the port free_port() chose
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        with broker:
            assert broker.port != taken
            async with client(broker.settings("gate-a", "moved-port")) as gate_a:
                await gate_a.publish(topics.gate_status("gate-a"), b"up", qos=1)
            broker.kill()  # after the first start the port is known to clients: it stays
            broker.start()
            assert f"listener {broker.port} " in (tmp_path / "broker/mosquitto.conf").read_text()


def test_a_port_given_by_the_caller_is_never_changed(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = Broker(tmp_path / "broker", ["gate-a"], port=port)
        with pytest.raises(BrokerError, match=r"(?i)address already in use"):
            broker.start()
        assert broker.port == port
