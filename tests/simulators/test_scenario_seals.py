"""E-seals in scenario files: what the format accepts, and how the rehearsal turns a truck's
seals into tags that travel with it (the end-to-end run is bari-seals.yaml in
tests/test_scenarios.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contract import SealState
from corridor.rehearsal import Rehearsal
from simulators.scenario.model import Reads, Scenario, SealSeen, Truck


def test_seal_ids_and_states_an_eseal_cannot_carry_are_refused() -> None:
    with pytest.raises(ValidationError, match="printable ASCII"):
        Truck(id="T1", seals=["ES\u00e90001"])
    with pytest.raises(ValidationError, match="printable ASCII"):
        SealSeen(seal_id="X" * 41)
    with pytest.raises(ValidationError, match="sealed, opened or tampered"):
        Reads(seals=[SealSeen(seal_id="ES1", state=SealState.UNKNOWN)])
    assert SealSeen(seal_id="ES1").state == SealState.SEALED


def test_a_seal_is_one_physical_tag_whose_state_sticks(tmp_path: Path) -> None:
    scenario = Scenario(name="s", trucks=[Truck(id="T1", seals=["ES1", "ES2"])])
    rehearsal = Rehearsal(scenario, tmp_path / "run")
    first = rehearsal._seals_arriving(["ES1", "ES2"], None)
    assert [t.seal_id for t in first] == ["ES1", "ES2"]
    assert all(t.shackle and t.case for t in first)

    # An arrival that says what the reader sees: ES2's case is open (and only ES2 is seen).
    seen = rehearsal._seals_arriving(["ES1", "ES2"], [SealSeen(seal_id="ES2", state="tampered")])
    assert seen == [first[1]] and not first[1].case

    # The next arrival without `reads`: the same tags, ES2 still open.
    again = rehearsal._seals_arriving(["ES1", "ES2"], None)
    assert again[0] is first[0] and again[1] is first[1] and not again[1].case

    cut = rehearsal._seals_arriving([], [SealSeen(seal_id="ES1", state="opened")])
    assert not cut[0].shackle and cut[0].case
    assert first[0].key != first[1].key  # one key per seal, derived from the run's issuer key
