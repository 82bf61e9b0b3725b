"""The ingest pipeline: an explicit, ordered list of small handlers per topic.

    passages: decode -> verify -> dedupe -> resolve movement -> decide -> sign -> store -> publish
    events:   decode -> dedupe -> store (ack: mark decision, advance movement) -> publish
    status:   decode -> dedupe -> store (offline: alert) -> publish

Each handler works on one `Inbound` and may end its run early (`done`); publish
always comes last, so a duplicate still gets its receipt or its decision again. A handler that
raises ends the run for that message only: a contract violation is counted,
logged with what was wrong and stored in `rejected_messages`; anything else is
counted as a failure and stored the same way. The next message goes through
untouched, so one bad message never stalls the line.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central import ledger, store
from central.errors import RejectedMessage
from central.identifiers import normalise
from central.keys import DecisionSigner, GateKeys
from central.rules.gate import (
    GateOutcome,
    Match,
    MovementState,
    Progress,
    Resolution,
    SealRead,
    alert_rules,
    decide,
    resolve_unit,
)
from central.tables import (
    AlertRow,
    BarrierEventRow,
    CommandAckRow,
    DecisionRow,
    GateStatusRow,
    IngestedMessageRow,
    PassageRow,
    RejectedMessageRow,
)
from contract import topics
from contract.errors import SignatureError
from contract.messages import (
    Alert,
    BarrierStateEvent,
    CommandAck,
    GateDecision,
    GateStatus,
    IdentifierKind,
    Message,
    Passage,
    Receipt,
    Verdict,
    parse_gate_event,
    utc_now,
)
from contract.signing import verify

log = logging.getLogger(__name__)

HEAD_BYTES = 256  # how much of a rejected payload is kept
Publish = Callable[[str, bytes], Awaitable[None]]
T = TypeVar("T", bound=BaseModel)


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    decisions: int = 0
    alerts: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)


@dataclass
class Inbound:
    """One MQTT message on its way through the pipeline."""

    topic: str
    payload: bytes
    received_at: datetime
    gate_id: str = ""
    message: Any = None
    done: bool = False
    receipt: UUID | None = None
    outbound: list[tuple[str, bytes]] = field(default_factory=list)
    # passages only
    redecide: bool = False
    node_id: str | None = None
    resolution: Resolution | None = None
    movement: MovementState | None = None
    outcome: GateOutcome | None = None
    decision: GateDecision | None = None
    alerts: list[Alert] = field(default_factory=list)


Handler = Callable[[Inbound], Awaitable[None]]


class Pipeline:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        signer: DecisionSigner,
        gate_keys: GateKeys,
        *,
        decision_ttl_s: float,
        require_signed_passages: bool,
    ) -> None:
        self.sessions = sessions
        self.signer = signer
        self.gate_keys = gate_keys
        self.decision_ttl = timedelta(seconds=decision_ttl_s)
        self.require_signed_passages = require_signed_passages
        self.stats = IngestStats()
        self.publisher: Publish | None = None
        self._receipts: dict[str, list[UUID]] = defaultdict(list)
        self._routes: dict[str, Sequence[Handler]] = {
            "passages": (
                self.decode_passage,
                self.verify_signature,
                self.dedupe_passage,
                self.resolve_movement,
                self.decide,
                self.sign,
                self.store_passage,
            ),
            "events": (self.decode_event, self.dedupe, self.store_event),
            "status": (self.decode_status, self.dedupe, self.store_status),
        }

    # ----------------------------------------------------------------- running

    async def handle(self, topic: str, payload: bytes) -> Inbound:
        """Run one message through its handlers; never raises."""
        inbound = Inbound(topic, payload, utc_now())
        self.stats.received += 1
        handlers = self._routes.get(topic.rsplit("/", 1)[-1], (self.unknown_topic,))
        if await run_handlers(inbound, handlers, self._reject, self.stats) is None:
            return inbound
        # Publish ends every run that was not rejected, also one that dedupe ended early.
        await self.publish(inbound)
        return inbound

    async def _reject(self, inbound: Inbound, reason: str) -> None:
        await record_rejection(self.sessions, self.stats, inbound, reason)

    async def flush_receipts(self) -> None:
        """Send one receipt per gate for the messages stored since the last flush."""
        pending, self._receipts = self._receipts, defaultdict(list)
        for gate_id, ids in pending.items():
            for start in range(0, len(ids), 1000):
                receipt = Receipt(gate_id=gate_id, message_ids=ids[start : start + 1000])
                await self._send(topics.gate_receipts(gate_id), receipt.to_json())

    async def _send(self, topic: str, payload: bytes) -> bool:
        """Publish; False (logged) where it could not be."""
        if self.publisher is None:
            log.warning("not connected to the broker: %s not published", topic)
            return False
        try:
            await self.publisher(topic, payload)
        except Exception as err:
            log.warning("publish to %s failed: %s", topic, err)
            return False
        return True

    # ----------------------------------------------------------------- decode

    async def unknown_topic(self, inbound: Inbound) -> None:
        raise RejectedMessage(f"unexpected topic: {inbound.topic}")

    def _decode(self, inbound: Inbound, parse: Callable[[bytes], T]) -> T:
        try:
            inbound.gate_id = topics.gate_of(inbound.topic)
        except ValueError as err:
            raise RejectedMessage(f"bad topic: {err}") from err
        try:
            message = parse(inbound.payload)
        except ValidationError as err:
            raise RejectedMessage(f"invalid payload: {validation_summary(err)}") from err
        gate_id = getattr(message, "gate_id", None)
        if gate_id != inbound.gate_id:
            raise RejectedMessage(
                f"gate mismatch: payload gate_id {gate_id!r}, topic gate {inbound.gate_id!r}"
            )
        inbound.message = message
        return message

    async def decode_passage(self, inbound: Inbound) -> None:
        self._decode(inbound, Passage.model_validate_json)

    async def decode_event(self, inbound: Inbound) -> None:
        self._decode(inbound, parse_gate_event)

    async def decode_status(self, inbound: Inbound) -> None:
        self._decode(inbound, GateStatus.model_validate_json)

    async def verify_signature(self, inbound: Inbound) -> None:
        """A gate signs with its own key (key id = gate id); a bad signature never passes."""
        passage: Passage = inbound.message
        if passage.signature is None and not self.require_signed_passages:
            return
        key = self.gate_keys.key_of(inbound.gate_id)
        if key is None:
            if self.require_signed_passages:
                raise RejectedMessage(f"bad signature: no public key for gate {inbound.gate_id}")
            return
        try:
            verify(passage, {inbound.gate_id: key})
        except SignatureError as err:
            raise RejectedMessage(f"bad signature: {err}") from err

    # ----------------------------------------------------------------- dedupe

    async def dedupe(self, inbound: Inbound) -> None:
        message: Message = inbound.message
        async with self.sessions() as session:
            seen = await session.get(IngestedMessageRow, message.message_id)
        if seen is not None:
            self.stats.duplicates += 1
            if not isinstance(message, GateStatus):
                inbound.receipt = message.message_id
            inbound.done = True

    async def dedupe_passage(self, inbound: Inbound) -> None:
        """A passage seen before: resend its decision while it is fresh, else decide again."""
        passage: Passage = inbound.message
        async with self.sessions.begin() as session:
            stored = await session.get(PassageRow, passage.passage_id)
            if stored is None:
                return
            self.stats.duplicates += 1
            inbound.receipt = passage.message_id
            await session.merge(_ingested(inbound, passage))
            latest = await session.scalar(
                select(DecisionRow)
                .where(DecisionRow.passage_id == passage.passage_id)
                .order_by(DecisionRow.issued_at.desc())
                .limit(1)
            )
        if latest is not None and latest.executed:
            inbound.done = True  # the barrier already acted on it
        elif latest is not None and latest.expires_at > utc_now():
            inbound.outbound.append(
                (topics.gate_commands(passage.gate_id), latest.payload.encode())
            )
            inbound.done = True
        else:
            inbound.redecide = True

    # ----------------------------------------------------------------- decide

    async def resolve_movement(self, inbound: Inbound) -> None:
        passage: Passage = inbound.message
        keys = {
            (i.kind.value, normalise(i.value))
            for i in passage.identifiers
            if i.kind in store.RESOLVING_KINDS
        }
        async with self.sessions() as session:
            inbound.node_id = await store.node_of_gate(session, passage.gate_id)
            inbound.resolution = resolve_unit(keys, await store.candidates(session, keys))
            if inbound.resolution.iot_id is not None:
                inbound.movement = await store.movement_state(session, inbound.resolution.iot_id)

    async def decide(self, inbound: Inbound) -> None:
        passage: Passage = inbound.message
        assert inbound.resolution is not None
        resolution = inbound.resolution
        if resolution.iot_id is not None and inbound.movement is None:
            # The movement's declaration or process vanished: treat as unknown.
            resolution = Resolution(Match.UNKNOWN)
        reads = [SealRead(normalise(s.seal_id), s.state) for s in passage.seals]
        reads += [SealRead(normalise(v)) for v in passage.values(IdentifierKind.SEAL)]
        # An orange plate reads `hazard number/UN number` (vision.hazard).
        shown = [v.rsplit("/", 1)[-1] for v in passage.values(IdentifierKind.HAZARD)]
        inbound.outcome = decide(inbound.node_id, resolution, inbound.movement, reads, shown)
        inbound.alerts = [
            _alert(rule, severity, passage, inbound.outcome, resolution)
            for rule, severity in alert_rules(inbound.outcome)
        ]

    async def sign(self, inbound: Inbound) -> None:
        passage: Passage = inbound.message
        outcome = inbound.outcome
        assert outcome is not None
        now = utc_now()
        decision = GateDecision(
            gate_id=passage.gate_id,
            lane_id=passage.lane_id,
            passage_id=passage.passage_id,
            iot_id=outcome.iot_id,
            verdict=outcome.verdict,
            reasons=list(outcome.reasons),
            divert_to=outcome.divert_to,
            message=outcome.message,
            issued_at=now,
            expires_at=now + self.decision_ttl,
        )
        inbound.decision = self.signer.sign(decision)

    # ----------------------------------------------------------------- store

    async def store_passage(self, inbound: Inbound) -> None:
        passage: Passage = inbound.message
        decision, outcome = inbound.decision, inbound.outcome
        assert decision is not None and outcome is not None
        async with self.sessions.begin() as session:
            if inbound.redecide:
                inbound.alerts = await _not_yet_raised(session, passage.passage_id, inbound.alerts)
            else:
                session.add(_ingested(inbound, passage))
                session.add(_passage_row(passage, inbound))
            session.add(_decision_row(decision, outcome))
            await ledger.append(
                session, "decision", decision.model_dump(mode="json"), decision.issued_at
            )
            for alert in inbound.alerts:
                session.add(_alert_row(alert, passage.passage_id))
                await ledger.append(
                    session, "alert", alert.model_dump(mode="json"), decision.issued_at
                )
        self.stats.stored += 0 if inbound.redecide else 1
        self.stats.decisions += 1
        self.stats.alerts += len(inbound.alerts)
        inbound.receipt = passage.message_id
        inbound.outbound.append((topics.gate_commands(passage.gate_id), decision.to_json()))
        inbound.outbound += [(topics.alerts(a.severity), a.to_json()) for a in inbound.alerts]
        log.info(
            "%s %s lane %s: %s %s",
            decision.verdict.upper(),
            passage.gate_id,
            passage.lane_id,
            decision.iot_id or "-",
            ",".join(decision.reasons) or "",
        )

    async def store_event(self, inbound: Inbound) -> None:
        event: CommandAck | BarrierStateEvent = inbound.message
        async with self.sessions.begin() as session:
            session.add(_ingested(inbound, event))
            if isinstance(event, CommandAck):
                await self._store_ack(session, inbound, event)
            else:
                session.add(_barrier_row(event, inbound.received_at))
        self.stats.stored += 1
        inbound.receipt = event.message_id

    async def _store_ack(self, session: AsyncSession, inbound: Inbound, ack: CommandAck) -> None:
        session.add(_ack_row(ack, inbound.received_at))
        await ledger.append(
            session, "command_ack", ack.model_dump(mode="json"), inbound.received_at
        )
        decision = await session.get(DecisionRow, ack.decision_id)
        if decision is None or (decision.gate_id, decision.passage_id) != (
            ack.gate_id,
            ack.passage_id,
        ):
            log.warning(
                "ack from %s names no decision %s for passage %s",
                ack.gate_id,
                ack.decision_id,
                ack.passage_id,
            )
            return
        decision.executed = ack.executed
        decision.rejected_because = ack.rejected_because
        if not (ack.executed and decision.verdict == Verdict.RELEASE and decision.progress):
            return
        if decision.iot_id is None:
            return
        progress = Progress(**decision.progress)
        if not await store.advance(session, decision.iot_id, progress, inbound.received_at):
            log.warning(
                "movement %s moved on already; ack %s ignored", decision.iot_id, ack.message_id
            )

    async def store_status(self, inbound: Inbound) -> None:
        status: GateStatus = inbound.message
        async with self.sessions.begin() as session:
            session.add(_ingested(inbound, status))
            previous = await session.get(GateStatusRow, status.gate_id)
            was_online = previous is None or previous.online
            was_off_node = previous is not None and previous.at_node is False
            row = _status_row(status, inbound.received_at)
            if previous is not None:
                # A last will, or a box whose receiver has no fix just now, says nothing
                # of where the box is: the last known position and node check stay.
                if status.at_node is None:
                    row.position, row.at_node = previous.position, previous.at_node
                if not status.online:
                    row.devices = previous.devices
            await session.merge(row)
            alerts = []
            if not status.online and was_online:
                alerts.append(_offline_alert(status, inbound.received_at))
            # Once per episode: a box that reports itself away from its node has been
            # moved, or its receiver is fooled; either way the operators must know.
            if status.online and status.at_node is False and not was_off_node:
                alerts.append(_off_node_alert(status, inbound.received_at))
            for alert in alerts:
                session.add(_alert_row(alert, None))
                await ledger.append(
                    session, "alert", alert.model_dump(mode="json"), inbound.received_at
                )
                inbound.alerts.append(alert)
                inbound.outbound.append((topics.alerts(alert.severity), alert.to_json()))
        self.stats.stored += 1
        self.stats.alerts += len(inbound.alerts)

    # ----------------------------------------------------------------- publish

    async def publish(self, inbound: Inbound) -> None:
        """Send what a message caused, then queue its receipt, but only if all of it went
        out. A passage whose decision could not be sent (the broker gone while a batch
        was being handled) stays unreceipted, so its gate box resends it and the resend
        gets the stored decision (`dedupe_passage`). Receipted anyway, the passage was
        never resent and the lane waited for a decision that never came (a rehearsal
        with the broker killed mid-scenario, on a loaded machine)."""
        sent = [await self._send(topic, payload) for topic, payload in inbound.outbound]
        if inbound.receipt is not None and all(sent):
            self._receipts[inbound.gate_id].append(inbound.receipt)


# --------------------------------------------------------------------------- helpers


def validation_summary(err: ValidationError, limit: int = 3) -> str:
    """What was wrong with a payload, in one line (the first `limit` errors)."""
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
        for e in err.errors()[:limit]
    ]
    more = err.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _ingested(inbound: Inbound, message: Message) -> IngestedMessageRow:
    return IngestedMessageRow(
        message_id=message.message_id,
        topic=inbound.topic[:200],
        kind=str(getattr(message, "kind", "")),
        received_at=inbound.received_at,
    )


def _passage_row(passage: Passage, inbound: Inbound) -> PassageRow:
    outcome = inbound.outcome
    return PassageRow(
        passage_id=passage.passage_id,
        message_id=passage.message_id,
        gate_id=passage.gate_id,
        lane_id=passage.lane_id,
        node_id=inbound.node_id,
        iot_id=outcome.iot_id if outcome else None,
        started_at=passage.started_at,
        closed_at=passage.closed_at,
        sent_at=passage.sent_at,
        received_at=inbound.received_at,
        identifiers=[i.model_dump(mode="json") for i in passage.identifiers],
        seals=[s.model_dump(mode="json") for s in passage.seals],
        scan=passage.scan.model_dump(mode="json") if passage.scan else None,
        key_id=passage.key_id,
    )


def _decision_row(decision: GateDecision, outcome: GateOutcome) -> DecisionRow:
    progress = outcome.progress
    return DecisionRow(
        decision_id=decision.message_id,
        passage_id=decision.passage_id,
        gate_id=decision.gate_id,
        lane_id=decision.lane_id,
        iot_id=decision.iot_id,
        verdict=decision.verdict.value,
        reasons=[r.value for r in decision.reasons],
        divert_to=decision.divert_to,
        message=decision.message[:200],
        issued_at=decision.issued_at,
        expires_at=decision.expires_at,
        payload=decision.to_json().decode(),
        progress=asdict(progress) if progress else None,
        executed=None,
    )


def _ack_row(ack: CommandAck, received_at: datetime) -> CommandAckRow:
    return CommandAckRow(
        message_id=ack.message_id,
        decision_id=ack.decision_id,
        passage_id=ack.passage_id,
        gate_id=ack.gate_id,
        lane_id=ack.lane_id,
        executed=ack.executed,
        rejected_because=ack.rejected_because,
        barrier=ack.barrier.value,
        sent_at=ack.sent_at,
        received_at=received_at,
    )


def _barrier_row(event: BarrierStateEvent, received_at: datetime) -> BarrierEventRow:
    return BarrierEventRow(
        message_id=event.message_id,
        gate_id=event.gate_id,
        lane_id=event.lane_id,
        state=event.state.value,
        fault_code=event.fault_code,
        cycles=event.cycles,
        sent_at=event.sent_at,
        received_at=received_at,
    )


def _status_row(status: GateStatus, received_at: datetime) -> GateStatusRow:
    return GateStatusRow(
        gate_id=status.gate_id,
        online=status.online,
        lanes=[lane.model_dump(mode="json") for lane in status.lanes],
        outbox_pending=status.outbox_pending,
        agent_version=status.agent_version,
        message_id=status.message_id,
        sent_at=status.sent_at,
        received_at=received_at,
        devices=dict(status.devices),
        position=status.position.model_dump(mode="json") if status.position else None,
        at_node=status.at_node,
    )


def _alert(
    rule: str, severity: str, passage: Passage, outcome: GateOutcome, resolution: Resolution
) -> Alert:
    read = ", ".join(f"{i.kind} {i.value}" for i in passage.identifiers) or "nothing read"
    details: dict[str, Any] = {
        "passage_id": str(passage.passage_id),
        "lane_id": passage.lane_id,
        "reasons": [r.value for r in outcome.reasons],
        "identifiers": [i.model_dump(mode="json") for i in passage.identifiers],
        "seals": [s.model_dump(mode="json") for s in passage.seals],
    }
    if resolution.match is Match.AMBIGUOUS:
        details["candidates"] = [str(c) for c in resolution.candidates]
    return Alert(
        rule=rule,
        severity=severity,
        raised_at=passage.closed_at,
        iot_id=outcome.iot_id,
        gate_id=passage.gate_id,
        summary=f"{rule} at gate {passage.gate_id} lane {passage.lane_id}: {read}",
        details=details,
    )


def _offline_alert(status: GateStatus, received_at: datetime) -> Alert:
    # The last will's sent_at is the box's connect time, so the time central
    # learned of the loss is the honest one.
    return Alert(
        rule="gate_offline",
        severity="warning",
        raised_at=received_at,
        gate_id=status.gate_id,
        summary=f"gate box {status.gate_id} went offline",
        details={"status_message_id": str(status.message_id)},
    )


def _off_node_alert(status: GateStatus, received_at: datetime) -> Alert:
    position = status.position
    return Alert(
        rule="gate_box_off_node",
        severity="critical",
        raised_at=received_at,
        gate_id=status.gate_id,
        lat=position.lat if position else None,
        lon=position.lon if position else None,
        summary=f"gate box {status.gate_id} reports itself away from its node",
        details={
            "status_message_id": str(status.message_id),
            "position": position.model_dump(mode="json") if position else None,
        },
    )


def _alert_row(alert: Alert, passage_id: UUID | None) -> AlertRow:
    return AlertRow(
        alert_id=alert.alert_id,
        rule=alert.rule,
        severity=alert.severity,
        raised_at=alert.raised_at,
        iot_id=alert.iot_id,
        gate_id=alert.gate_id,
        passage_id=passage_id,
        summary=alert.summary,
        details=alert.details,
        payload=alert.to_json().decode(),
    )


async def _not_yet_raised(
    session: AsyncSession, passage_id: UUID, alerts: list[Alert]
) -> list[Alert]:
    """A passage decided again raises each alert rule once only."""
    raised = set(
        (
            await session.scalars(select(AlertRow.rule).where(AlertRow.passage_id == passage_id))
        ).all()
    )
    return [a for a in alerts if a.rule not in raised]


async def run_handlers(
    inbound: Any,
    handlers: Sequence[Callable[[Any], Awaitable[None]]],
    reject: Callable[[Any, str], Awaitable[None]],
    stats: Any,
) -> bool | None:
    """Run a message's handlers in order until one marks it done. True: all ran; False:
    ended early (`inbound.done`, a duplicate); None: rejected, or a handler failed
    (counted in `stats.failed`; the rejection is recorded either way). Shared by the
    gate and the transit pipelines."""
    for handler in handlers:
        try:
            await handler(inbound)
        except RejectedMessage as err:
            await reject(inbound, err.reason)
            return None
        except Exception as err:
            log.exception("%s failed on a message from %s", handler.__name__, inbound.topic)
            stats.failed += 1
            await reject(inbound, f"internal error in {handler.__name__}: {err!r}")
            return None
        if inbound.done:
            return False
    return True


async def record_rejection(
    sessions: async_sessionmaker[AsyncSession],
    stats: Any,
    inbound: Any,
    reason: str,
) -> None:
    """Count, log and store a rejected message (topic, reason, its first bytes); storing it
    must never fail the ingest. Shared by the gate and the transit pipelines."""
    stats.rejected += 1
    stats.rejected_by_reason[reason.split(":", 1)[0]] += 1
    log.warning("rejected a message on %s: %s", inbound.topic, reason)
    try:
        async with sessions.begin() as session:
            session.add(
                RejectedMessageRow(
                    topic=inbound.topic[:200],
                    reason=reason[:2000],
                    head=inbound.payload[:HEAD_BYTES],
                    received_at=inbound.received_at,
                )
            )
    except Exception:
        log.exception("could not store the rejected message")
