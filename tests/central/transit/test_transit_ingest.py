"""Fixes and e-seal events through the real broker (TLS, ACLs) into central's transit
side, published as the telematics gateway; alerts come back on the bus."""

from __future__ import annotations

import asyncio
import uuid

from central_support import alert_listener
from conftest import TransitCentral
from transit_support import at, position

from contract import bus, topics
from contract.messages import Alert, SealEvent, SealState
from corridor.broker import Broker


async def next_alert(queue: asyncio.Queue[Alert], rule: str, timeout_s: float = 15) -> Alert:
    async with asyncio.timeout(timeout_s):
        while True:
            alert = await queue.get()
            if alert.rule == rule:
                return alert


async def test_a_unit_over_mqtt_raises_alerts_on_the_bus_and_bad_payloads_do_not_stop_it(
    transit_live: TransitCentral, broker: Broker
) -> None:
    transit = transit_live
    iot_id = await transit.movement(status="lodged", seals=["KRA0000900"])
    assert (await transit.bind(iot_id, "trk-m1")).status_code == 200
    gateway = broker.settings("telematics", client_id=f"gateway-{uuid.uuid4().hex[:6]}")
    sent = 0
    async with alert_listener(broker) as alerts, bus.client(gateway) as mqtt:
        t = 0.0
        for km in [0.0] * 6 + [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]:
            fix = position("trk-m1", t, km, speed_mps=0.0 if t < 360 else 16.7)
            await mqtt.publish(topics.unit_positions("trk-m1"), fix.to_json(), qos=1)
            t += 60
            sent += 1
            if sent == 3:  # garbage from a broken gateway in the middle of the stream
                await mqtt.publish(topics.unit_positions("trk-m1"), b'{"lat": "north"}', qos=1)
                sent += 1
        left = await next_alert(alerts, "left_controlled_area")
        assert left.iot_id == uuid.UUID(iot_id) and left.raised_at == at(540)
        opened = SealEvent(
            seal_id="KRA0000900",
            occurred_at=at(t),
            state=SealState.OPENED,
            event="opened",
            lat=-1.0,
            lon=36.05,
        )
        await mqtt.publish(topics.seal_events("KRA0000900"), opened.to_json(), qos=1)
        sent += 1
        seal = await next_alert(alerts, "seal_opened")
        assert seal.raised_at == at(t) and seal.details["seal_id"] == "KRA0000900"
    stats = transit.pipeline.stats
    async with asyncio.timeout(10):
        # the alert leaves before its run is counted as handled
        while stats.handled < sent:  # noqa: ASYNC110 - a counter, not an event
            await asyncio.sleep(0.05)
    assert (stats.received, stats.stored, stats.rejected, stats.failed) == (sent, sent - 1, 1, 0)
    assert {a["rule"] for a in await transit.alerts()} == {"left_controlled_area", "seal_opened"}
