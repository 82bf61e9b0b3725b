"""Fuse a passage's raw reads into one identifier per real-world identifier.

Per kind, reads of the same normalised value are one candidate whose confidence
is the noisy-OR over the devices that read it (independent devices that agree
reinforce each other; one device repeating itself does not). A plate candidate
within one edit of a stronger one is taken as a misread of it: it is folded in
and lowers the winner's confidence in proportion to the evidence against it.
Container codes are never folded: two distinct check-digit-valid codes are two
containers. RFID reads weaker than the lane's
RSSI floor are dropped by the adapter (tags of the next lane).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from contract import FusedIdentifier, IdentifierKind
from edge.observations import IdentifierRead

_SEPARATORS = re.compile(r"[\s\-·.]+")


def normalise(kind: IdentifierKind, value: str) -> str:
    value = _SEPARATORS.sub("", value.strip().upper())
    return value


@dataclass
class _Candidate:
    value: str
    reads: list[IdentifierRead] = field(default_factory=list)
    absorbed: list[IdentifierRead] = field(default_factory=list)

    @property
    def score(self) -> float:
        # Repeated reads by one device are not independent evidence: take each device's
        # best read, then combine devices.
        best: dict[str, float] = {}
        for r in self.reads:
            best[r.source] = max(best.get(r.source, 0.0), min(max(r.confidence, 0.0), 0.999))
        miss = 1.0
        for confidence in best.values():
            miss *= 1.0 - confidence
        return 1.0 - miss

    @property
    def weight(self) -> float:
        return sum(r.confidence for r in self.reads)


def within_one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by at most one substitution, insertion or deletion."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _fold_misreads(candidates: list[_Candidate]) -> list[_Candidate]:
    kept: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (-c.weight, c.value)):
        winner = next((k for k in kept if within_one_edit(k.value, cand.value)), None)
        if winner is None:
            kept.append(cand)
        else:
            winner.absorbed.extend(cand.reads)
    return kept


def fuse(reads: list[IdentifierRead]) -> list[FusedIdentifier]:
    """One FusedIdentifier per distinct identifier, most confident first within a kind."""
    by_kind: dict[IdentifierKind, dict[str, _Candidate]] = defaultdict(dict)
    for read in reads:
        value = normalise(read.kind, read.value)
        if not value:
            continue
        by_kind[read.kind].setdefault(value, _Candidate(value)).reads.append(read)
    fused: list[FusedIdentifier] = []
    for kind in IdentifierKind:
        candidates = list(by_kind.get(kind, {}).values())
        if kind == IdentifierKind.PLATE:
            candidates = _fold_misreads(candidates)
        for cand in sorted(candidates, key=lambda c: (-c.score, c.value)):
            fused.append(_to_fused(kind, cand))
    return fused


def _to_fused(kind: IdentifierKind, cand: _Candidate) -> FusedIdentifier:
    against = sum(r.confidence for r in cand.absorbed)
    confidence = cand.score * cand.weight / (cand.weight + against) if against else cand.score
    detail: dict[str, str] = {}
    for read in cand.reads:
        detail.update(read.detail)
    return FusedIdentifier(
        kind=kind,
        value=cand.value,
        confidence=round(confidence, 4),
        sources=sorted({r.source for r in cand.reads}),
        reads=len(cand.reads) + len(cand.absorbed),
        detail=detail,
    )
