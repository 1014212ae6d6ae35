"""Anchoring a strap's clock to host time."""

from __future__ import annotations

from ingest.gateway.clock import ClockAnchor, SystemClock

S = 1_000_000_000


def test_the_first_frame_sets_the_offset_and_later_jitter_is_ignored() -> None:
    anchor = ClockAnchor()
    device0 = 1_546_300_800 * S  # a strap whose clock reset to 2019-01-01
    host0 = 1_750_000_000 * S
    assert anchor.host_time_ns(device0, host0) == host0
    # The next frame is 0.5 s later on the strap clock but arrives 80 ms late over BLE.
    assert anchor.host_time_ns(device0 + S // 2, host0 + S // 2 + 80_000_000) == host0 + S // 2
    assert anchor.offset_ns == host0 - device0


def test_reset_takes_a_new_offset_at_the_next_frame() -> None:
    anchor = ClockAnchor()
    anchor.host_time_ns(100 * S, 1_000 * S)
    anchor.reset()
    assert anchor.offset_ns is None
    assert anchor.host_time_ns(5 * S, 2_000 * S) == 2_000 * S
    assert anchor.offset_ns == 1_995 * S


def test_a_strap_clock_jump_reanchors_and_is_counted() -> None:
    anchor = ClockAnchor(reanchor_threshold_ns=2 * S)
    anchor.host_time_ns(100 * S, 1_000 * S)
    assert anchor.host_time_ns(101 * S, 1_001 * S + 500_000_000) == 1_001 * S  # within the threshold
    assert anchor.host_time_ns(9_999 * S, 1_002 * S) == 1_002 * S  # the strap clock was set by another app
    assert anchor.reanchors == 1
    assert anchor.host_time_ns(10_000 * S, 1_003 * S) == 1_003 * S


def test_system_clock_is_unix_ns() -> None:
    assert SystemClock().time_ns() > 1_700_000_000 * S
