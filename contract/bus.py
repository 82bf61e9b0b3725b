"""The one place that knows the MQTT client library (aiomqtt 2.x, MQTT 5, TLS).

aiomqtt's 3.x line changes the API; keeping it behind this module means a
future upgrade touches one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field

from contract.messages import Message

MqttError = aiomqtt.MqttError
MqttMessage = aiomqtt.Message
MqttClient = aiomqtt.Client


class BrokerSettings(BaseModel):
    """How to reach the broker. TLS is on when `ca_file` is set."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="broker host name or address")
    port: int = Field(default=8883, ge=1, le=65535, description="broker port")
    username: str | None = Field(default=None, description="per-device user (gate id)")
    password: str | None = Field(default=None, description="password for `username`")
    ca_file: str | None = Field(default=None, description="CA bundle; enables TLS")
    client_id: str | None = Field(default=None, description="MQTT client id (default: username)")
    keepalive_s: int = Field(default=15, ge=5, le=600, description="MQTT keepalive")


def tls_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    if not settings.ca_file:
        return None
    return ssl.create_default_context(cafile=settings.ca_file)


def client(
    settings: BrokerSettings,
    *,
    will: tuple[str, Message] | None = None,
    persistent_session_s: int = 0,
) -> aiomqtt.Client:
    """An MQTT 5 client. `persistent_session_s` > 0 keeps the session (and QoS 1
    messages queued for it) on the broker that long while the client is away."""
    properties = None
    if persistent_session_s:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = persistent_session_s
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password,
        identifier=settings.client_id or settings.username,
        protocol=aiomqtt.ProtocolVersion.V5,
        tls_context=tls_context(settings),
        will=aiomqtt.Will(will[0], will[1].to_json(), qos=1, retain=True) if will else None,
        clean_start=not persistent_session_s,
        properties=properties,
        keepalive=settings.keepalive_s,
        timeout=10,
        max_queued_outgoing_messages=10000,
        # Without it Nagle holds each small QoS 1 publish until the peer's delayed ACK:
        # ~45 ms per hop on loopback. The broker needs `set_tcp_nodelay true` as well.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


def backoff_s(attempt: int, *, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Jittered exponential back-off (full jitter), so a fleet does not reconnect in step."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))


@asynccontextmanager
async def connected(
    settings: BrokerSettings,
    *,
    will: tuple[str, Message] | None = None,
    persistent_session_s: int = 0,
) -> AsyncIterator[aiomqtt.Client]:
    """Connect, retrying with back-off until the broker answers."""
    attempt = 0
    while True:
        mqtt = client(settings, will=will, persistent_session_s=persistent_session_s)
        try:
            await mqtt.__aenter__()
        except aiomqtt.MqttError:
            await asyncio.sleep(backoff_s(attempt))
            attempt += 1
            continue
        break
    try:
        yield mqtt
    finally:
        with contextlib.suppress(aiomqtt.MqttError):
            await mqtt.__aexit__(None, None, None)
