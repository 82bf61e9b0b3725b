"""The transit ingest: an explicit, ordered list of small handlers per topic, and the sweep.

    positions: decode -> dedupe -> resolve movement -> place -> judge -> store -> publish -> series
    seal events: decode -> dedupe -> resolve movement -> judge -> store -> publish -> series
    sweep (central's clock): every movement in transit -> judge a Tick -> store -> publish

A handler that raises ends the run of that message only: a contract violation is
counted by reason, logged and stored in `rejected_messages`; anything else is
counted as a failure. Inside `judge`, each rule catches its own failure too. One
lock serialises judging and storing between the ingest and the sweep, so a
movement's state is never judged twice from the same starting point.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.errors import RejectedMessage
from central.pipeline import record_rejection, run_handlers, validation_summary
from central.timeseries import TimeSeriesWriter
from central.transit import rules, store
from central.transit.clock import TransitClock
from central.transit.geometry import TransitSite
from central.transit.model import (
    Event,
    Fix,
    MovementContext,
    Raised,
    SealChange,
    Tick,
    TransitState,
)
from central.transit.settings import Tolerances
from central.transit.tables import TransitFixRow, TransitSealEventRow
from contract import topics
from contract.messages import Alert, PositionFix, SealEvent

log = logging.getLogger(__name__)

RECENT_IDS = 100_000  # message ids remembered to drop quick resends without a query
Publish = Callable[[str, bytes], Awaitable[None]]
UNITS = f"{topics.ROOT}/units/"
SEALS = f"{topics.ROOT}/seals/"


def is_transit_topic(topic: str) -> bool:
    return topic.startswith((UNITS, SEALS))


@dataclass
class TransitStats:
    received: int = 0
    handled: int = 0  # runs finished, whatever their end (rehearsals wait on this)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    unbound: int = 0  # from a device bound to no movement: stored, not judged
    late: int = 0  # older than the movement's newest judged fix: stored, not judged
    unusable: int = 0  # no GNSS fix, or too inaccurate to judge
    alerts: int = 0
    sweeps: int = 0
    transactions: int = 0  # commits of fixes and seal events (one per batch or message)
    batches_retried: int = 0  # batches that failed to store and ran one at a time
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    rule_failures: Counter[str] = field(default_factory=Counter)


@dataclass
class TransitInbound:
    """One MQTT message on its way through the transit handlers."""

    topic: str
    payload: bytes
    received_at: datetime  # central's clock
    message: Any = None
    done: bool = False
    binding: store.Binding | None = None
    context: MovementContext | None = None
    event: Fix | SealChange | None = None
    judged: bool = False
    late: bool = False
    state: TransitState | None = None  # after judging, when it changed
    alerts: list[Alert] = field(default_factory=list)


Handler = Callable[[TransitInbound], Awaitable[None]]


class TransitPipeline:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        site: TransitSite,
        tolerances: Tolerances,
        clock: TransitClock,
        timeseries: TimeSeriesWriter | None = None,
        *,
        binding_cache_s: float = 5.0,
    ) -> None:
        self.sessions = sessions
        self.binding_cache_s = binding_cache_s
        self.site = site
        self.tolerances = tolerances
        self.clock = clock
        self.timeseries = timeseries
        self.stats = TransitStats()
        self.publisher: Publish | None = None
        self.lock = asyncio.Lock()
        # What the sweep needs, kept in memory: states of movements in transit, and
        # their latest context (tolerances, route). The database has the same states.
        self.states: dict[UUID, TransitState] = {}
        self.contexts: dict[UUID, MovementContext] = {}
        self._tolerances: dict[str | None, Tolerances] = {}
        self._bindings: dict[tuple[str, str], tuple[float, store.Binding | None]] = {}
        self._recent: OrderedDict[UUID, None] = OrderedDict()
        # While a batch is judged: each movement's state after the batch's earlier
        # messages (not committed yet), so the next message is judged from it.
        self._pending: dict[UUID, TransitState] | None = None
        self._routes: dict[str, tuple[Handler, ...]] = {
            "units": (
                self.decode_fix,
                self.dedupe,
                self.resolve,
                self.place,
                self.judge,
                self.store,
            ),
            "seals": (
                self.decode_seal_event,
                self.dedupe,
                self.resolve,
                self.judge,
                self.store,
            ),
        }

    # ----------------------------------------------------------------- running

    async def load(self) -> None:
        """Pick up the movements in transit from the database (at start)."""
        async with self.sessions() as session:
            found = await store.states_in_transit(session)
        for binding, state in found:
            self.states[binding.iot_id] = state
            self.contexts[binding.iot_id] = self.context(binding)
        log.info("transit: %d movement(s) in transit", len(found))

    async def handle(self, topic: str, payload: bytes) -> TransitInbound:
        """Run one message through its handlers; never raises."""
        self.stats.received += 1
        try:
            return await self._handle_one(topic, payload)
        finally:
            self.stats.handled += 1

    async def _handle_one(self, topic: str, payload: bytes) -> TransitInbound:
        inbound = TransitInbound(topic, payload, self.clock.now())
        async with self.lock:
            if not await self._run(inbound, self._handlers(topic)):
                return inbound
        await self.publish(inbound.alerts)
        self.write_series(inbound)
        return inbound

    async def handle_batch(self, messages: Sequence[tuple[str, bytes]]) -> list[TransitInbound]:
        """Run messages that arrived together; store them in one transaction.

        Each is decoded, resolved, placed and judged in arrival order, exactly as
        `handle` would, from the states the batch's earlier messages led to; then the
        fixes and seal events, the states and the alerts of all are committed at once
        (one commit instead of one per message: the commit is most of a message's
        cost). Resends are found before judging (one query for the batch), so a batch
        is never judged from a message stored before. If the transaction still fails
        (another process stored one of them meanwhile), nothing of it is kept and each
        message runs again alone. Never raises.
        """
        if len(messages) < 2:
            return [await self.handle(topic, payload) for topic, payload in messages]
        now = self.clock.now()
        inbounds = [TransitInbound(topic, payload, now) for topic, payload in messages]
        self.stats.received += len(inbounds)
        # What judging counts; put back if the batch is run again one at a time.
        counted = (self.stats.unbound, self.stats.unusable, Counter(self.stats.rule_failures))
        try:
            async with self.lock:
                ready, judged = await self._judge_together(inbounds)
                stored = judged and await self._store_together(ready)
            if not stored:
                self.stats.unbound, self.stats.unusable, self.stats.rule_failures = counted
                retried = {id(i): await self._handle_one(i.topic, i.payload) for i in ready}
                inbounds = [retried.get(id(i), i) for i in inbounds]
            else:
                for inbound in ready:
                    await self.publish(inbound.alerts)
                    self.write_series(inbound)
        finally:
            self.stats.handled += len(inbounds)
        return inbounds

    async def _judge_together(
        self, inbounds: list[TransitInbound]
    ) -> tuple[list[TransitInbound], bool]:
        """The batch's messages up to judging: those left to store, in order, and whether
        they were judged (not when the look-up of resends failed: run them one at a time)."""
        live: list[TransitInbound] = []
        for inbound in inbounds:
            if await self._run(inbound, self._handlers(inbound.topic)[:2]):
                live.append(inbound)
        try:
            live = await self._drop_stored(live)
        except Exception:
            self.stats.batches_retried += 1
            log.exception("transit: resends of a batch of %d not looked up", len(live))
            return live, False
        self._pending = {}
        try:
            ready: list[TransitInbound] = []
            for inbound in live:
                if await self._run(inbound, self._handlers(inbound.topic)[2:-1]):
                    ready.append(inbound)
                if inbound.context is not None and inbound.state is not None:
                    self._pending[inbound.context.iot_id] = inbound.state
            return ready, True
        finally:
            self._pending = None

    async def _drop_stored(self, inbounds: list[TransitInbound]) -> list[TransitInbound]:
        """Resends: twice in the batch, or stored before (one query per table)."""
        kept: list[TransitInbound] = []
        ids: set[UUID] = set()
        for inbound in inbounds:
            message_id = inbound.message.message_id
            if message_id in ids:
                self.stats.duplicates += 1
                inbound.done = True
                continue
            ids.add(message_id)
            kept.append(inbound)
        async with self.sessions() as session:
            stored = await store.stored_ids(session, [i.message for i in kept])
        for inbound in kept:
            if inbound.message.message_id in stored:
                self.stats.duplicates += 1
                self._seen(inbound.message.message_id)
                inbound.done = True
        return [i for i in kept if not i.done]

    async def _store_together(self, ready: list[TransitInbound]) -> bool:
        """One transaction for the batch; False (nothing kept) when it failed."""
        if not ready:
            return True
        try:
            async with self.sessions.begin() as session:
                for inbound in ready:
                    session.add(self._row(inbound))
                    await self._store_outcome(session, inbound)
        except Exception as err:
            self.stats.batches_retried += 1
            log.warning(
                "transit: a batch of %d could not be stored (%r); one at a time", len(ready), err
            )
            return False
        self.stats.transactions += 1
        for inbound in ready:
            self._seen(inbound.message.message_id)
            self._remember(inbound)
        return True

    def _handlers(self, topic: str) -> tuple[Handler, ...]:
        kind = topic[len(topics.ROOT) + 1 :].split("/", 1)[0]
        return self._routes.get(kind, (self.unknown_topic,))

    async def _run(self, inbound: TransitInbound, handlers: Sequence[Handler]) -> bool:
        """Some of a message's handlers; False when it ended (rejected, failed, done)."""
        return bool(await run_handlers(inbound, handlers, self._reject, self.stats))

    async def _reject(self, inbound: TransitInbound, reason: str) -> None:
        await record_rejection(self.sessions, self.stats, inbound, reason)

    async def unknown_topic(self, inbound: TransitInbound) -> None:
        raise RejectedMessage(f"unexpected topic: {inbound.topic}")

    # ----------------------------------------------------------------- decode, dedupe

    def _decode(self, inbound: TransitInbound, model: type[PositionFix] | type[SealEvent]) -> None:
        try:
            device_id = topics.device_of(inbound.topic)
        except ValueError as err:
            raise RejectedMessage(f"bad topic: {err}") from err
        expected = (
            topics.unit_positions(device_id)
            if model is PositionFix
            else topics.seal_events(device_id)
        )
        if inbound.topic != expected:
            raise RejectedMessage(f"bad topic: {inbound.topic!r}, expected {expected!r}")
        try:
            message = model.model_validate_json(inbound.payload)
        except ValidationError as err:
            raise RejectedMessage(f"invalid payload: {validation_summary(err)}") from err
        named = message.device_id if isinstance(message, PositionFix) else message.seal_id
        if named != device_id:
            raise RejectedMessage(
                f"device mismatch: payload names {named!r}, topic device {device_id!r}"
            )
        inbound.message = message

    async def decode_fix(self, inbound: TransitInbound) -> None:
        self._decode(inbound, PositionFix)

    async def decode_seal_event(self, inbound: TransitInbound) -> None:
        self._decode(inbound, SealEvent)

    async def dedupe(self, inbound: TransitInbound) -> None:
        """Quick resends are dropped here; the track tables' primary keys catch the rest
        when storing (a message judged twice never commits twice)."""
        if inbound.message.message_id in self._recent:
            self.stats.duplicates += 1
            inbound.done = True

    def _seen(self, message_id: UUID) -> None:
        self._recent[message_id] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)

    # ----------------------------------------------------------------- resolve, place

    async def resolve(self, inbound: TransitInbound) -> None:
        message = inbound.message
        if isinstance(message, PositionFix):
            kind, device = store.TRACKER, message.device_id
        else:
            kind, device = store.ESEAL, message.seal_id
        binding = await self._binding(kind, device)
        if binding is None or not binding.active:
            self.stats.unbound += binding is None
            return
        inbound.binding = binding
        inbound.context = self.context(binding)
        self.contexts[binding.iot_id] = inbound.context

    async def _binding(self, kind: str, device: str) -> store.Binding | None:
        # Bindings change rarely (the API forgets them at once); a customs status change
        # made elsewhere is seen within binding_cache_s.
        now = time.monotonic()
        cached = self._bindings.get((kind, device))
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.sessions() as session:
            binding = await store.resolve(session, kind, device)
        if len(self._bindings) > RECENT_IDS:
            self._bindings.clear()
        self._bindings[(kind, device)] = (now + self.binding_cache_s, binding)
        return binding

    def forget_bindings(self) -> None:
        self._bindings.clear()

    def context(self, binding: store.Binding) -> MovementContext:
        tolerances = self._tolerances.get(binding.corridor)
        if tolerances is None:
            overrides = dict(self.site.properties.get(binding.corridor or "", {}))
            tolerances = self._tolerances[binding.corridor] = self.tolerances.merged(overrides)
        corridor = binding.corridor if binding.corridor in self.site.corridors else None
        return MovementContext(
            iot_id=binding.iot_id,
            corridor=corridor,
            nodes=tuple(n for n in binding.nodes if n in self.site),
            cleared=binding.customs_status == "cleared",
            tolerances=tolerances,
            site=self.site,
        )

    async def place(self, inbound: TransitInbound) -> None:
        """Geometry for a fix of a bound unit: fences around it, position on its corridor."""
        fix: PositionFix = inbound.message
        context = inbound.context
        if context is None:
            return
        tolerances = context.tolerances
        sigma_m = fix.accuracy_m
        if sigma_m is None and fix.hdop is not None:
            sigma_m = fix.hdop * tolerances.uere_m
        if sigma_m is None:
            sigma_m = tolerances.unknown_accuracy_m
        if fix.mode == 1 or sigma_m > tolerances.max_accuracy_m:
            self.stats.unusable += 1
            return
        radius_m = tolerances.accuracy_sigmas * sigma_m
        inbound.event = Fix(
            context=context,
            device_id=fix.device_id,
            at=fix.fixed_at,
            received_at=inbound.received_at,
            lon=fix.lon,
            lat=fix.lat,
            speed_mps=fix.speed_mps,
            uncertainty_m=radius_m,
            placement=self.site.place(fix.lon, fix.lat, radius_m),
            corridor=(
                self.site.measure(context.corridor, fix.lon, fix.lat)
                if context.corridor is not None
                else None
            ),
        )

    # ----------------------------------------------------------------- judge

    async def judge(self, inbound: TransitInbound) -> None:
        context = inbound.context
        if context is None:
            return
        if isinstance(inbound.message, SealEvent):
            message: SealEvent = inbound.message
            inbound.event = SealChange(
                context=context,
                seal_id=message.seal_id,
                at=message.occurred_at,
                event=message.event,
                state=message.state.value,
                lon=message.lon,
                lat=message.lat,
            )
        event = inbound.event
        if event is None:
            return
        state = await self._state(context.iot_id)
        if rules.is_late(state, event):
            inbound.late = True
            return
        inbound.judged = True
        after, raised = self.run_rules(state, event)
        if after != state:
            inbound.state = after
        inbound.alerts = [_alert(r, context) for r in raised]

    def run_rules(self, state: TransitState, event: Event) -> tuple[TransitState, list[Raised]]:
        """Every rule in order; one that fails is logged, counted and skipped."""
        return rules.judge(state, event, self._rule_failed)

    def _rule_failed(self, rule: rules.Rule, err: Exception) -> None:
        self.stats.rule_failures[rule.__name__] += 1
        log.error("transit rule %s failed: %r", rule.__name__, err, exc_info=err)

    async def _state(self, iot_id: UUID) -> TransitState:
        if self._pending is not None and iot_id in self._pending:
            return self._pending[iot_id]
        state = self.states.get(iot_id)
        if state is None:
            async with self.sessions() as session:
                state = await store.load_state(session, iot_id)
        return state or TransitState()

    # ----------------------------------------------------------------- store

    async def store(self, inbound: TransitInbound) -> None:
        """One transaction: the fix or seal event, the state it led to, its alerts. A
        message stored before (its id is the key) is a duplicate: nothing of this run
        is kept."""
        row = self._row(inbound)
        try:
            async with self.sessions.begin() as session:
                session.add(row)
                await self._store_outcome(session, inbound)
        except IntegrityError:
            async with self.sessions() as session:
                if await session.get(type(row), row.message_id) is None:
                    raise
            self.stats.duplicates += 1
            self._seen(row.message_id)
            inbound.done, inbound.alerts = True, []
            return
        self.stats.transactions += 1
        self._seen(row.message_id)
        self._remember(inbound)

    @staticmethod
    def _row(inbound: TransitInbound) -> TransitFixRow | TransitSealEventRow:
        iot_id = inbound.binding.iot_id if inbound.binding else None
        message = inbound.message
        if isinstance(message, PositionFix):
            return TransitFixRow(
                message_id=message.message_id,
                device_id=message.device_id,
                iot_id=iot_id,
                fixed_at=message.fixed_at,
                received_at=inbound.received_at,
                lat=message.lat,
                lon=message.lon,
                speed_mps=message.speed_mps,
                course_deg=message.course_deg,
                mode=message.mode,
                hdop=message.hdop,
                accuracy_m=message.accuracy_m,
                judged=inbound.judged,
            )
        event: SealEvent = message
        return TransitSealEventRow(
            message_id=event.message_id,
            seal_id=event.seal_id,
            iot_id=iot_id,
            occurred_at=event.occurred_at,
            received_at=inbound.received_at,
            event=event.event,
            state=event.state.value,
            battery_pct=event.battery_pct,
            lat=event.lat,
            lon=event.lon,
        )

    async def _store_outcome(self, session: AsyncSession, inbound: TransitInbound) -> None:
        if inbound.context is None:
            return
        if inbound.state is not None:
            await store.save_state(
                session, inbound.context.iot_id, inbound.state, inbound.received_at
            )
        for alert in inbound.alerts:
            await store.add_alert(session, alert, inbound.received_at)

    def _remember(self, inbound: TransitInbound) -> None:
        """After the commit: the in-memory state follows the database."""
        self.stats.stored += 1
        self.stats.late += inbound.late
        self.stats.alerts += len(inbound.alerts)
        if inbound.context is not None and inbound.state is not None:
            self._keep(inbound.context.iot_id, inbound.state)
        for alert in inbound.alerts:
            log.info("ALERT %s %s: %s", alert.severity, alert.rule, alert.summary)

    def _keep(self, iot_id: UUID, state: TransitState) -> None:
        if state.in_transit:
            self.states[iot_id] = state
        else:
            self.states.pop(iot_id, None)

    # ----------------------------------------------------------------- publish

    async def publish(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            if self.publisher is None:
                log.warning("not connected to the broker: alert %s not published", alert.rule)
                continue
            try:
                await self.publisher(topics.alerts(alert.severity), alert.to_json())
            except Exception as err:
                # Stored already: consoles find it through the API.
                log.warning("publishing alert %s failed: %s", alert.rule, err)

    def write_series(self, inbound: TransitInbound) -> None:
        if self.timeseries is None or inbound.message is None or inbound.done:
            return
        iot_id = inbound.binding.iot_id if inbound.binding else None
        try:
            if isinstance(inbound.message, PositionFix):
                self.timeseries.write_fix(inbound.message, iot_id)
            else:
                self.timeseries.write_seal_event(inbound.message, iot_id)
        except Exception:
            log.exception("time series: could not queue a point")

    # ----------------------------------------------------------------- the sweep

    async def sweep(self, now: datetime | None = None) -> int:
        """Judge a Tick for every movement in transit; returns the alerts raised."""
        now = now or self.clock.now()
        self.stats.sweeps += 1
        raised_total = 0
        for iot_id in list(self.states):
            async with self.lock:
                state, context = self.states.get(iot_id), self.contexts.get(iot_id)
                if state is None or context is None:
                    continue
                after, raised = self.run_rules(state, Tick(context, now))
                alerts = [_alert(r, context) for r in raised]
                if after == state and not alerts:
                    continue
                try:
                    async with self.sessions.begin() as session:
                        await store.save_state(session, iot_id, after, now)
                        for alert in alerts:
                            await store.add_alert(session, alert, now)
                except Exception:
                    log.exception(
                        "sweep: could not store movement %s; judged again next time", iot_id
                    )
                    continue
                self._keep(iot_id, after)
            self.stats.alerts += len(alerts)
            raised_total += len(alerts)
            for alert in alerts:
                log.info("ALERT %s %s: %s", alert.severity, alert.rule, alert.summary)
            await self.publish(alerts)
        return raised_total


def _alert(raised: Raised, context: MovementContext) -> Alert:
    return Alert(
        rule=raised.rule,
        severity=raised.severity,
        raised_at=raised.at,
        iot_id=context.iot_id,
        device_id=raised.device_id,
        lat=raised.lat,
        lon=raised.lon,
        summary=raised.summary,
        details=store.alert_details(raised.details, raised.device_id, raised.lon, raised.lat),
    )
