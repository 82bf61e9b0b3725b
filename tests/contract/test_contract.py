"""The wire contract: models, the AsyncAPI document, topics, signing, ISO 6346."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contract import (
    GateDecision,
    IdentifierKind,
    Passage,
    PositionFix,
    Verdict,
    asyncapi,
    parse_gate_event,
    topics,
    utc_now,
)
from contract.errors import SignatureError
from contract.iso6346 import check_digit, is_valid
from contract.messages import ALL_MESSAGES, FusedIdentifier
from contract.signing import sign, verify


def test_the_asyncapi_document_matches_the_models() -> None:
    assert asyncapi.DOCUMENT.read_text() == asyncapi.render(), (
        "contract/asyncapi.yaml is stale: run `corridor contract asyncapi --write`"
    )


def test_the_document_describes_every_message_on_a_channel() -> None:
    doc = yaml.safe_load(asyncapi.DOCUMENT.read_text())
    on_channels = {name for ch in doc["channels"].values() for name in ch["messages"]}
    assert on_channels == {m.__name__ for m in ALL_MESSAGES}
    for model in ALL_MESSAGES:
        schema = doc["components"]["schemas"][model.__name__]
        assert set(schema["properties"]) == set(model.model_fields)
        assert {"message_id", "sent_at", "schema_version"} <= set(schema["properties"])
    for channel in doc["channels"].values():
        assert channel["address"].startswith(f"{topics.ROOT}/")


def passage() -> Passage:
    now = utc_now()
    return Passage(
        gate_id="gate-a",
        lane_id="lane-1",
        started_at=now,
        closed_at=now,
        identifiers=[
            FusedIdentifier(
                kind=IdentifierKind.PLATE, value="AB123CD", confidence=0.9, sources=["cam"], reads=2
            )
        ],
    )


def test_messages_round_trip_through_json_with_utc_times() -> None:
    original = passage()
    payload = original.to_json()
    assert b'"sent_at":"' in payload and b'Z"' in payload
    again = Passage.model_validate_json(payload)
    assert again == original


def test_naive_times_unknown_fields_and_bad_ids_are_rejected() -> None:
    fields = passage().model_dump()
    with pytest.raises(ValidationError):
        Passage.model_validate({**fields, "started_at": datetime(2026, 1, 1)})
    with pytest.raises(ValidationError):
        Passage.model_validate({**fields, "surprise": 1})
    with pytest.raises(ValidationError):
        Passage.model_validate({**fields, "gate_id": "gate/#"})
    with pytest.raises(ValidationError):
        PositionFix(device_id="t1", fixed_at=utc_now(), lat=91, lon=0)
    with pytest.raises(ValidationError):
        parse_gate_event(b'{"kind": "passage"}')


def test_times_in_other_zones_are_normalised_to_utc() -> None:
    cet = datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    fix = PositionFix(device_id="t1", fixed_at=cet, lat=41.1, lon=16.9)
    assert fix.fixed_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert '"fixed_at":"2026-03-01T12:00:00.000Z"' in fix.to_json().decode()


def test_a_signature_covers_every_field_and_the_key_id() -> None:
    key = Ed25519PrivateKey.generate()
    keys = {"central": key.public_key()}
    now = utc_now()
    decision = GateDecision(
        gate_id="gate-a",
        lane_id="lane-1",
        passage_id=uuid4(),
        verdict=Verdict.HOLD,
        issued_at=now,
        expires_at=now + timedelta(seconds=30),
    )
    signed = sign(decision, key, "central")
    verify(signed, keys)
    verify(GateDecision.model_validate_json(signed.to_json()), keys)  # survives the wire
    for change in ({"verdict": Verdict.RELEASE}, {"gate_id": "gate-b"}, {"key_id": "other"}):
        with pytest.raises(SignatureError):
            verify(signed.model_copy(update=change), {**keys, "other": key.public_key()})
    with pytest.raises(SignatureError):
        verify(signed.model_copy(update={"signature": "not base64!"}), keys)
    with pytest.raises(SignatureError):
        verify(decision, keys)


def test_topics_refuse_wildcards_and_separators() -> None:
    assert topics.gate_passages("gate-a") == "corridor/v1/gates/gate-a/passages"
    assert topics.gate_of("corridor/v1/gates/gate-a/events") == "gate-a"
    for bad in ("a/b", "a+", "#", "", "x" * 65):
        with pytest.raises(ValueError):
            topics.gate_commands(bad)
    with pytest.raises(ValueError):
        topics.gate_of("corridor/v2/gates/gate-a/events")


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("CSQU3054383", True),  # the standard's own example
        ("MSCU1234566", True),
        ("MSCU1234565", False),  # wrong check digit
        ("CSQU305438", False),  # too short
        ("CSQX3054383", False),  # X is not an equipment category
        ("csqu 305438-3", True),  # spacing and case as painted
    ],
)
def test_iso6346(code: str, valid: bool) -> None:
    assert is_valid(code) is valid


def test_iso6346_check_digit_10_becomes_0() -> None:
    # A weighted sum of 10 (mod 11) gives check digit 0; owners avoid such serials.
    first_ten = next(f"ABCU{n:06d}" for n in range(10**6) if _weighted(f"ABCU{n:06d}") % 11 == 10)
    assert check_digit(first_ten) == 0


def _weighted(first_ten: str) -> int:
    from contract.iso6346 import _LETTER_VALUES

    return sum(
        (int(c) if c.isdigit() else _LETTER_VALUES[c]) * 2**i for i, c in enumerate(first_ten)
    )
