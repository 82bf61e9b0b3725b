from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

from contract import GateStatus
from edge.outbox import Outbox


def status() -> GateStatus:
    return GateStatus(gate_id="gate-a", online=True)


def test_a_message_is_due_until_receipted_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    first, second = status(), status()
    box.put("t/1", first)
    box.put("t/2", second)
    box.put("t/1", first)  # the same message twice is stored once
    assert [m.message_id for m in box.due(resend_after_s=5)] == [
        str(first.message_id),
        str(second.message_id),
    ]
    box.mark_sent(str(first.message_id))
    # Sent but not receipted: not due again until the resend interval passes.
    assert [m.message_id for m in box.due(resend_after_s=5)] == [str(second.message_id)]
    assert next(m.message_id for m in box.due(resend_after_s=0)) == str(first.message_id)
    box.close()

    reopened = Outbox(path)  # a reboot
    assert reopened.pending() == 2
    assert reopened.mark_receipted([first.message_id]) == 1
    assert reopened.mark_receipted([first.message_id]) == 0
    assert reopened.pending() == 1
    reopened.resend_all()
    assert [m.message_id for m in reopened.due(resend_after_s=3600)] == [str(second.message_id)]
    assert reopened.due(resend_after_s=3600)[0].payload == second.to_json()


def test_decisions_acted_on_are_remembered_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    decision = uuid4()
    assert decision not in box
    box.remember_decision(decision)
    box.close()
    assert decision in Outbox(path)


def test_purge_drops_only_old_receipted_messages(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    kept, gone = status(), status()
    box.put("t", kept)
    box.put("t", gone)
    box.mark_receipted([gone.message_id])
    time.sleep(0.01)
    assert box.purge(older_than_s=0) == 1
    assert box.pending() == 1


def test_a_receipted_message_can_be_sent_again_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    message, unreceipted = status(), status()
    box.put("t/1", message)
    box.put("t/2", unreceipted)
    for item in box.due(resend_after_s=5):
        box.mark_sent(item.message_id)
    assert not box.send_again(str(unreceipted.message_id))  # the resend schedule has it
    assert not box.send_again(str(uuid4()))  # not in the outbox
    assert box.due(resend_after_s=3600) == []

    box.mark_receipted([message.message_id])
    assert box.send_again(str(message.message_id))
    assert [m.message_id for m in box.due(resend_after_s=3600)] == [str(message.message_id)]
    assert box.pending() == 2  # unreceipted again until central's next receipt
    assert not box.send_again(str(message.message_id))
