"""The MQTT side of central: one persistent session, one consumer, jittered reconnect.

Central subscribes with QoS 1 under a fixed client id and a session expiry
interval, so the broker queues what gate boxes send while central is down and
delivers it on reconnect. Gate messages go through the pipeline in arrival order;
receipts for what arrived together go out in one message per gate. Transit positions
and seal events queued together are judged in arrival order and stored in one
transaction (`TransitPipeline.handle_batch`).
"""

from __future__ import annotations

import asyncio
import logging

from central.pipeline import Pipeline, Publish
from central.settings import MqttSettings
from central.transit.pipeline import TransitPipeline, is_transit_topic
from contract import bus, topics
from contract.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

SUBSCRIPTIONS = (topics.ALL_GATE_PASSAGES, topics.ALL_GATE_EVENTS, topics.ALL_GATE_STATUS)
TRANSIT_SUBSCRIPTIONS = (topics.ALL_UNIT_POSITIONS, topics.ALL_SEAL_EVENTS)
RECEIPT_BATCH = 200  # flush receipts at least this often under a steady stream
TRANSIT_BATCH = 200  # most queued messages taken together (one transit transaction)


class MqttIngest:
    def __init__(
        self, settings: MqttSettings, pipeline: Pipeline, transit: TransitPipeline | None = None
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.transit = transit
        self.ready = asyncio.Event()  # set while connected and subscribed
        self._handled = 0  # gate messages, for the receipt flushes

    @property
    def connected(self) -> bool:
        return self.ready.is_set()

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with jittered back-off."""
        attempt = 0
        while True:
            try:
                await self._session()
            except bus.MqttError as err:
                if self.ready.is_set():
                    attempt = 0  # it was up: start the back-off afresh
                # Logged once when the link goes (and once when it comes back).
                if attempt == 0:
                    log.warning("broker connection lost or refused: %s; retrying", err)
                self.ready.clear()
                self._set_publisher(None)
                raise_if_cancelling()  # a lost stop is never a reason to reconnect
                await asyncio.sleep(bus.backoff_s(attempt))
                attempt += 1
            finally:
                self.ready.clear()
                self._set_publisher(None)

    def _set_publisher(self, publish: Publish | None) -> None:
        self.pipeline.publisher = publish
        if self.transit is not None:
            self.transit.publisher = publish

    async def _session(self) -> None:
        persistent = self.settings.session_expiry_s
        async with bus.client(self.settings, persistent_session_s=persistent) as client:
            self._set_publisher(_publisher(client))
            transit = TRANSIT_SUBSCRIPTIONS if self.transit is not None else ()
            for topic in (*SUBSCRIPTIONS, *transit):
                await client.subscribe(topic, qos=1)
            self.ready.set()
            log.info("connected to the broker at %s:%d", self.settings.host, self.settings.port)
            await self._consume(client)

    async def _consume(self, client: bus.MqttClient) -> None:
        async for message in client.messages:
            # What is already queued behind this message comes along: the transit
            # positions of a batch are stored in one transaction (not one per fix).
            batch = [message]
            try:
                while len(client.messages) and len(batch) < TRANSIT_BATCH:
                    batch.append(await anext(client.messages))
            except bus.MqttError:
                await self._take(batch)  # received (and acknowledged): never dropped
                raise
            await self._take(batch)
            if len(client.messages) == 0:
                await self.pipeline.flush_receipts()

    async def _take(self, batch: list[bus.MqttMessage]) -> None:
        positions: list[tuple[str, bytes]] = []
        for message in batch:
            topic = str(message.topic)
            if self.transit is not None and is_transit_topic(topic):
                positions.append((topic, _payload_bytes(message.payload)))
                continue
            await self.pipeline.handle(topic, _payload_bytes(message.payload))
            self._handled += 1
            if self._handled % RECEIPT_BATCH == 0:
                await self.pipeline.flush_receipts()
        if positions and self.transit is not None:
            await self.transit.handle_batch(positions)


def _publisher(client: bus.MqttClient) -> Publish:
    async def publish(topic: str, payload: bytes) -> None:
        await client.publish(topic, payload, qos=1, retain=False)

    return publish


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()
