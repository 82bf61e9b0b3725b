"""The gate box agent: lanes, the durable outbox and the bus.

    agent = GateAgent(config)
    await agent.run()          # until cancelled

Three loops run beside the lanes: the bus session (subscribe to this gate's
commands and receipts, publish the retained status, reconnect with back-off),
the outbox publisher (send what is due, QoS 1, until a receipt names it) and
the status heartbeat. With a `gnss:` section, the box's own receiver is watched too
(`edge/position.py`): its position and whether it is at its node go in the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from pydantic import ValidationError

from contract import GateDecision, GateStatus, Message, Passage, Receipt, topics
from contract.bus import MqttClient, MqttError, MqttMessage, backoff_s, client
from contract.signing import load_private_key, load_public_key
from contract.tasks import raise_if_cancelling, within
from corridor import __version__
from edge.config import EdgeConfig
from edge.lane import Lane
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox
from edge.position import PositionMonitor
from edge.snmp_health import SnmpHealthMonitor

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 600  # decisions queued by the broker during a short outage still arrive
STATUS_MIN_GAP_S = 1.0  # a flapping device: at most one extra status a second


class GateAgent:
    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.gate_id = config.gate_id
        self.outbox = Outbox(config.outbox_path)
        self.metrics = EdgeMetrics()
        self.published_at: dict[str, float] = {}  # message id -> perf_counter of first send
        keys = {kid: load_public_key(path) for kid, path in config.central_keys.items()}
        signing = None
        if config.signing:
            signing = (load_private_key(config.signing.private_key_file), config.signing.key_id)
        self.lanes = {
            lane.lane_id: Lane(
                self.gate_id,
                lane,
                emit=self.emit,
                central_keys=keys,
                seen_decisions=self.outbox,
                remember_decision=self.outbox.remember_decision,
                signing=signing,
                clock_skew=timedelta(seconds=config.clock_skew_s),
                metrics=self.metrics,
            )
            for lane in config.lanes
        }
        for lane_ in self.lanes.values():
            lane_.published_at = self.published_at.get
            lane_.ask_again = self._ask_again
        self.rejected: dict[str, int] = {}
        self._mqtt: MqttClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._status_changed = asyncio.Event()
        self.health_monitor: SnmpHealthMonitor | None = None
        if config.health.targets or config.health.traps:
            self.health_monitor = SnmpHealthMonitor(
                config.health, metrics=self.metrics, on_change=self._status_changed.set
            )
        self.position: PositionMonitor | None = None
        if config.gnss is not None:
            self.position = PositionMonitor(
                config.gnss, metrics=self.metrics, on_change=self._status_changed.set
            )

    # ------------------------------------------------------------ outbox

    def emit(self, message: Message) -> None:
        """Write an event to the outbox (durably) and wake the publisher."""
        if isinstance(message, Passage):
            topic = topics.gate_passages(self.gate_id)
        else:
            topic = topics.gate_events(self.gate_id)
        self.outbox.put(topic, message)
        self._wake.set()

    def _ask_again(self, passage: Passage) -> bool:
        """A lane's passage central receipted but never answered: send it once more."""
        if not self.outbox.send_again(str(passage.message_id)):
            return False
        self._wake.set()
        return True

    async def _publish_outbox(self) -> None:
        while True:
            raise_if_cancelling()  # a publish (aiomqtt's wait_for) may have lost the stop
            await self._connected.wait()
            mqtt = self._mqtt
            due = self.outbox.due(resend_after_s=self.config.resend_after_s)
            if mqtt is None or not due:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await within(self._wake.wait(), self.config.resend_after_s / 2)
                continue
            for item in due:
                self.published_at.setdefault(item.message_id, time.perf_counter())
                try:
                    await mqtt.publish(item.topic, item.payload, qos=1)
                except MqttError as err:
                    log.warning("publish failed, will resend: %s", err)
                    self._connected.clear()
                    break
                self.outbox.mark_sent(item.message_id)
            if len(self.published_at) > 10000:  # keep the newest half (dicts keep order)
                for message_id in list(self.published_at)[:5000]:
                    del self.published_at[message_id]

    # ------------------------------------------------------------ bus session

    def _status(self, online: bool) -> GateStatus:
        pending = self.outbox.pending()
        self.metrics.outbox_pending.set(pending)
        devices = self.health_monitor.availability() if self.health_monitor else {}
        if self.position is not None:
            devices |= self.position.availability()
        return GateStatus(
            gate_id=self.gate_id,
            online=online,
            lanes=[lane.status() for lane in self.lanes.values()],
            devices=devices,
            outbox_pending=pending if online else 0,
            agent_version=__version__,
            position=self.position.report() if self.position else None,
            at_node=self.position.at_node if self.position else None,
        )

    async def _bus_session(self) -> None:
        attempt = 0
        while True:
            will = (topics.gate_status(self.gate_id), self._status(online=False))
            try:
                async with client(
                    self.config.mqtt, will=will, persistent_session_s=SESSION_EXPIRY_S
                ) as mqtt:
                    attempt = 0
                    await self._on_connected(mqtt)
                    # aiomqtt's wait_for may have lost a stop that landed as the broker
                    # answered; the agent's TaskGroup sends no second one.
                    raise_if_cancelling()
                    async for message in mqtt.messages:
                        await self._on_message(message)
            except MqttError as err:
                log.warning("broker connection lost (%s); retrying", err)
            finally:
                self._mqtt = None
                self._connected.clear()
                self.metrics.connected.set(0)
            raise_if_cancelling()  # a lost stop is never a reason to reconnect
            attempt += 1
            await asyncio.sleep(backoff_s(min(attempt, 6), cap_s=10.0))

    async def _on_connected(self, mqtt: MqttClient) -> None:
        await mqtt.subscribe(topics.gate_commands(self.gate_id), qos=1)
        await mqtt.subscribe(topics.gate_receipts(self.gate_id), qos=1)
        # Before the status goes out, not after: a change while it is on its way (the
        # first GNSS fix) is then published by the heartbeat, not dropped for want of
        # a connection until the next beat.
        self._mqtt = mqtt
        await mqtt.publish(
            topics.gate_status(self.gate_id),
            self._status(online=True).to_json(),
            qos=1,
            retain=True,
        )
        self.metrics.connected.set(1)
        self.outbox.resend_all()
        self._connected.set()
        self._wake.set()
        log.info(
            "%s connected to the broker; %d message(s) pending", self.gate_id, self.outbox.pending()
        )

    async def _on_message(self, message: MqttMessage) -> None:
        topic = str(message.topic)
        payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
        try:
            if topic == topics.gate_receipts(self.gate_id):
                receipt = Receipt.model_validate_json(payload)
                self.outbox.mark_receipted(receipt.message_ids)
            elif topic == topics.gate_commands(self.gate_id):
                decision = GateDecision.model_validate_json(payload)
                await self._dispatch(decision)
        except ValidationError as err:
            self._reject(topic, f"invalid payload: {err.error_count()} error(s)")

    async def _dispatch(self, decision: GateDecision) -> None:
        lane = self.lanes.get(decision.lane_id)
        if lane is None:
            self._reject("commands", f"decision for unknown lane {decision.lane_id!r}")
            return
        # Acting on a decision waits for the barrier; do not block the bus meanwhile.
        task = asyncio.create_task(lane.on_decision(decision), name=f"decision-{decision.lane_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reject(self, where: str, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self.metrics.rejected.inc()
        log.warning("rejected message on %s: %s", where, reason)

    async def _heartbeat(self) -> None:
        """The retained status every `status_interval_s`, and soon after a health change."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.config.status_interval_s
        while True:
            changed = True
            try:
                async with asyncio.timeout_at(next_beat):  # never swallows a cancel (wait_for can)
                    await self._status_changed.wait()
            except TimeoutError:
                changed = False
                next_beat = loop.time() + self.config.status_interval_s
            self._status_changed.clear()
            mqtt = self._mqtt
            if mqtt is not None:
                with contextlib.suppress(MqttError):
                    await mqtt.publish(
                        topics.gate_status(self.gate_id),
                        self._status(online=True).to_json(),
                        qos=1,
                        retain=True,
                    )
                raise_if_cancelling()  # the publish may have lost the stop
            if changed:
                await asyncio.sleep(STATUS_MIN_GAP_S)
            else:
                self.outbox.purge(older_than_s=7 * 24 * 3600)

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        log.info("gate box %s starting with %d lane(s)", self.gate_id, len(self.lanes))
        if self.config.metrics_port:
            self.metrics.serve(self.config.metrics_port)
            log.info("metrics on http://127.0.0.1:%d/metrics", self.config.metrics_port)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._bus_session(), name="bus")
                tasks.create_task(self._publish_outbox(), name="outbox")
                tasks.create_task(self._heartbeat(), name="heartbeat")
                if self.health_monitor is not None:
                    tasks.create_task(self.health_monitor.run(), name="snmp-health")
                if self.position is not None:
                    tasks.create_task(self.position.run(), name="gnss")
                for lane in self.lanes.values():
                    tasks.create_task(lane.run(), name=f"lane-{lane.lane_id}")
        finally:
            for lane in self.lanes.values():
                await lane.close()
            self.outbox.close()
