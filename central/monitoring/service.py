"""The monitoring centre inside one central process.

A background loop, every `poll_interval_s`, in this order:
  1. follow the ledger: each new alert gets its workflow state (folded into an
     earlier one if it repeats) and, when it concerns cargo on the move or is
     critical, an incident; each new decision is shown live on the gate view;
  2. run the response clocks: escalate incidents nobody reached in time;
  3. send the notifications that are due (retries with back-off);
  4. push the units that moved to the live map.
Following the ledger (not a hook in the ingest) means every alert is taken in,
whoever raised it, exactly once (the cursor moves in the same transaction), also
after a restart. A second MQTT client (`<client_id>-monitoring`) reads position
fixes and seal events for the map and evidence, and the fixes of response units,
and carries the notifications to their devices.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.keys import DecisionSigner
from central.monitoring import units as unit_sets
from central.monitoring.alerts import absorb
from central.monitoring.clock import Clock, SystemClock
from central.monitoring.incidents import attach, escalate_overdue, wants_incident
from central.monitoring.live import LiveHub
from central.monitoring.notify import Notifier
from central.monitoring.places import Places
from central.monitoring.schemas import alert_view, incident_view, unit_view
from central.monitoring.settings import ResponseUnitSettings
from central.monitoring.tables import (
    AlertStateRow,
    IncidentRow,
    MonitoringCursorRow,
    ResponseUnitRow,
)
from central.monitoring.tracks import Tracks
from central.site import Site
from central.tables import AlertRow, LedgerRow
from contract import bus, topics
from contract.messages import Alert, GateDecision, PositionFix, SealEvent
from contract.tasks import cancel_and_wait

if TYPE_CHECKING:
    from central.settings import CentralSettings

log = logging.getLogger(__name__)

CURSOR = "ledger"
BATCH = 200


class Monitoring:
    def __init__(
        self,
        settings: CentralSettings,
        sessions: async_sessionmaker[AsyncSession],
        signer: DecisionSigner,
        site: Site | None,
        clock: Clock | None = None,
    ) -> None:
        self.central_settings = settings
        self.settings = settings.monitoring
        self.sessions = sessions
        self.signer = signer
        self.clock: Clock = clock or SystemClock()
        self.hub = LiveHub()
        self.tracks = Tracks()
        self.places = Places(site, self.settings.gate_locations, self.settings.map_sites)
        page = f"{self.settings.public_url.rstrip('/')}/rru" if self.settings.public_url else None
        self.notifier = Notifier(self.settings.notifications, sessions, page_url=page)
        self.stats: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self._publish: bus.MqttClient | None = None
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def sla(self) -> timedelta:
        return timedelta(minutes=self.settings.sla_minutes)

    @property
    def fresh(self) -> timedelta:
        """A unit's live position younger than this counts; an older one, its base."""
        return timedelta(seconds=self.settings.position_fresh_s)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self._sync_units()
        self._tasks.append(asyncio.create_task(self._loop(), name="monitoring-loop"))
        if self.central_settings.mqtt.enabled:
            self._tasks.append(asyncio.create_task(self._mqtt(), name="monitoring-mqtt"))

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks.clear()
        self.hub.close()
        await self.notifier.aclose()

    async def _sync_units(self) -> None:
        configured: list[ResponseUnitSettings] = []
        for name in self.settings.unit_sets:
            configured += unit_sets.load(name)
        configured += self.settings.units
        now = self.clock.now()
        async with self.sessions.begin() as session:
            for unit in configured:
                row = await session.get(ResponseUnitRow, unit.unit_id)
                if row is None:
                    row = ResponseUnitRow(unit_id=unit.unit_id, status="available")
                    session.add(row)
                row.name, row.base_lat, row.base_lon = unit.name, unit.base_lat, unit.base_lon
                row.channels, row.email = list(unit.channels), unit.email
                row.webhook_url, row.updated_at = unit.webhook_url, now
        if configured:
            log.info("%d response units configured", len(configured))

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                log.exception("monitoring step failed; trying again")
            await asyncio.sleep(self.settings.poll_interval_s)

    async def step(self) -> None:
        """One round of the loop (tests call it to run the clock they moved)."""
        async with self._lock:
            while await self.follow_ledger() == BATCH:
                pass
            await self.check_clocks()
            await self.notifier.deliver_due(self.clock.now())
            moved = self.tracks.take_changed()
            if moved:
                units = [{"device_id": d, **p.public()} for d, p in moved.items()]
                self.hub.publish("positions", {"units": units})

    # ----------------------------------------------------------------- the ledger

    async def follow_ledger(self) -> int:
        """Take in the alerts and decisions appended since the cursor; how many were read."""
        async with self.sessions() as session:
            cursor = await session.get(MonitoringCursorRow, CURSOR)
            after = cursor.seq if cursor else 0
            entries = (
                await session.scalars(
                    select(LedgerRow)
                    .where(LedgerRow.seq > after, LedgerRow.kind.in_(("alert", "decision")))
                    .order_by(LedgerRow.seq)
                    .limit(BATCH)
                )
            ).all()
        for entry in entries:
            if entry.kind == "alert":
                await self._take_alert(entry)
            else:
                self._show_decision(entry)
        if entries and entries[-1].kind != "alert":
            async with self.sessions.begin() as session:
                await _move_cursor(session, entries[-1].seq)
        return len(entries)

    async def _take_alert(self, entry: LedgerRow) -> None:
        try:
            alert = Alert.model_validate_json(entry.body)
        except ValidationError as err:
            self.stats["unreadable_alerts"] += 1
            log.error("ledger entry %d is not an alert: %s", entry.seq, err)
            async with self.sessions.begin() as session:
                await _move_cursor(session, entry.seq)
            return
        now = self.clock.now()
        shown: list[tuple[str, dict[str, Any], str | None]] = []
        async with self.sessions.begin() as session:
            row = await session.get(AlertRow, alert.alert_id)
            taken = await session.get(AlertStateRow, alert.alert_id)
            if row is None:
                self.stats["alerts_without_row"] += 1
                log.error("alert %s is on the ledger but not in alerts", alert.alert_id)
            elif taken is None:
                shown = await self._absorb(session, alert, row, now)
            await _move_cursor(session, entry.seq)
        for kind, data, unit_id in shown:
            self.hub.publish(kind, data, unit_id)

    async def _absorb(
        self, session: AsyncSession, alert: Alert, row: AlertRow, now: Any
    ) -> list[tuple[str, dict[str, Any], str | None]]:
        absorbed = await absorb(
            session,
            alert,
            now,
            severity_overrides=dict(self.settings.severity),
            debounce=timedelta(seconds=self.settings.debounce_s),
        )
        shown_row = row if absorbed.new else await session.get(AlertRow, absorbed.shown.alert_id)
        incident: IncidentRow | None = None
        if absorbed.new:
            self.stats["alerts"] += 1
            view = alert_view(row, absorbed.state).model_dump(mode="json")
            self.notifier.for_systems(session, "alert", view, now)
            if wants_incident(alert, absorbed.state.severity):
                incident, opened = await attach(
                    session,
                    alert,
                    absorbed.state,
                    now,
                    sla=self.sla,
                    location=self.locate(alert),
                )
                if opened:
                    self.stats["incidents"] += 1
                    data = incident_view(incident).model_dump(mode="json")
                    self.notifier.for_systems(session, "incident", data, now)
        else:
            self.stats["folded"] += 1
        await session.flush()
        shown: list[tuple[str, dict[str, Any], str | None]] = []
        if shown_row is not None:
            shown.append(
                ("alert", alert_view(shown_row, absorbed.shown).model_dump(mode="json"), None)
            )
        if incident is not None:
            shown.append(
                ("incident", incident_view(incident).model_dump(mode="json"), incident.unit_id)
            )
        return shown

    def locate(self, alert: Alert) -> tuple[float, float] | None:
        """(lat, lon) of an alert: its own, its device's last fix, else its gate's place."""
        if alert.lat is not None and alert.lon is not None:
            return alert.lat, alert.lon
        if alert.device_id:
            point = self.tracks.latest(alert.device_id)
            if point is not None:
                return point.lat, point.lon
        if alert.gate_id:
            return self.places.gate(alert.gate_id)
        return None

    def _show_decision(self, entry: LedgerRow) -> None:
        try:
            decision = GateDecision.model_validate_json(entry.body)
        except ValidationError:
            return
        self.hub.publish(
            "decision",
            decision.model_dump(
                mode="json", exclude={"signature", "key_id", "schema_version", "sent_at"}
            ),
        )

    # ----------------------------------------------------------------- the clock

    async def check_clocks(self) -> int:
        now = self.clock.now()
        every = timedelta(minutes=self.settings.escalate_every_minutes)
        shown = []
        async with self.sessions.begin() as session:
            for incident in await escalate_overdue(session, now, every):
                self.stats["escalations"] += 1
                self.notifier.for_supervisors(session, incident, now)
                if incident.unit_id:
                    unit = await session.get(ResponseUnitRow, incident.unit_id)
                    if unit is not None:
                        self.notifier.for_unit(session, unit, incident, "escalated", now)
                data = incident_view(incident).model_dump(mode="json")
                self.notifier.for_systems(session, "incident", data, now)
                shown.append((data, incident.unit_id))
        for data, unit_id in shown:
            self.hub.publish("incident", data, unit_id)
        return len(shown)

    # ----------------------------------------------------------------- MQTT

    async def publish(self, topic: str, payload: bytes) -> bool:
        """Publish QoS 1 on the monitoring client; False when not connected."""
        client = self._publish
        if client is None:
            return False
        try:
            await client.publish(topic, payload, qos=1, retain=False)
        except bus.MqttError as err:
            log.warning("publish to %s failed: %s", topic, err)
            return False
        return True

    async def _mqtt(self) -> None:
        mqtt = self.central_settings.mqtt
        client_id = f"{mqtt.client_id or mqtt.username or 'central'}-monitoring"
        settings = mqtt.model_copy(update={"client_id": client_id})
        attempt = 0
        while True:
            try:
                async with bus.client(settings) as client:
                    for topic, qos in (
                        (topics.ALL_UNIT_POSITIONS, 0),
                        (topics.ALL_SEAL_EVENTS, 1),
                        (topics.ALL_RRU_POSITIONS, 1),
                    ):
                        await client.subscribe(topic, qos=qos)
                    self._publish = client
                    self.notifier.publish = self._publish_or_raise
                    self.connected.set()
                    attempt = 0
                    async for message in client.messages:
                        payload = message.payload
                        raw = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                        await self.on_message(str(message.topic), raw)
            except bus.MqttError as err:
                if attempt == 0:
                    log.warning("monitoring: broker connection lost or refused: %s", err)
                await asyncio.sleep(bus.backoff_s(attempt))
                attempt += 1
            finally:
                self._publish = None
                self.notifier.publish = None
                self.connected.clear()

    async def _publish_or_raise(self, topic: str, payload: bytes) -> None:
        if not await self.publish(topic, payload):
            raise ConnectionError("not connected to the broker")

    async def on_message(self, topic: str, payload: bytes) -> None:
        """A fix, a seal event or a response unit's fix; bad ones are counted and logged."""
        parts = topic.split("/")
        try:
            if parts[-1] == "positions" and parts[-3] == "units":
                fix = PositionFix.model_validate_json(payload)
                if fix.device_id != parts[-2]:
                    raise ValueError(f"device_id {fix.device_id} on the topic of {parts[-2]}")
                self.tracks.add_fix(fix)
            elif parts[-1] == "events" and parts[-3] == "seals":
                self.tracks.add_seal_event(SealEvent.model_validate_json(payload))
            elif parts[-1] == "positions" and parts[-3] == "rru":
                fix = PositionFix.model_validate_json(payload)
                if fix.device_id != parts[-2]:
                    raise ValueError(f"device_id {fix.device_id} on the topic of {parts[-2]}")
                await self.unit_position(fix.device_id, fix.lat, fix.lon, fix.fixed_at)
        except (ValidationError, ValueError, IndexError) as err:
            self.stats["rejected_messages"] += 1
            if (
                self.stats["rejected_messages"] <= 100
                or self.stats["rejected_messages"] % 1000 == 0
            ):
                log.warning("monitoring: refused a message on %s: %s", topic, str(err)[:300])

    async def unit_position(self, unit_id: str, lat: float, lon: float, at: Any) -> bool:
        """A response unit's live position; False for a unit central does not know."""
        async with self.sessions.begin() as session:
            unit = await session.get(ResponseUnitRow, unit_id)
            if unit is None:
                raise ValueError(f"no response unit {unit_id}")
            if unit.position_at is not None and at <= unit.position_at:
                return True  # an older fix arriving late changes nothing
            unit.lat, unit.lon, unit.position_at, unit.updated_at = lat, lon, at, self.clock.now()
            data = unit_view(unit).model_dump(mode="json")
        self.hub.publish("unit", data, unit_id)
        return True


async def _move_cursor(session: AsyncSession, seq: int) -> None:
    cursor = await session.get(MonitoringCursorRow, CURSOR)
    if cursor is None:
        session.add(MonitoringCursorRow(name=CURSOR, seq=seq))
    elif seq > cursor.seq:
        cursor.seq = seq
