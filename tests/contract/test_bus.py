"""Helpers of the bus wrapper that do not need a broker."""

from __future__ import annotations

from contract.bus import backoff_s


def test_backoff_is_jittered_and_capped() -> None:
    delays = [backoff_s(attempt, base_s=0.5, cap_s=4.0) for attempt in range(12) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jitter: a fleet does not retry in step
