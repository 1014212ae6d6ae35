"""Subscription state: numbering, status transitions and heartbeat timing."""

from __future__ import annotations

from services.integrations.fhir.subscription_state import SubscriptionState

S = 10**9


def _state(**kwargs: object) -> SubscriptionState:
    return SubscriptionState(subscription_id="sub-1", topic="http://t", **kwargs)  # type: ignore[arg-type]


def test_event_numbers_are_sequential_and_the_state_is_immutable() -> None:
    start = _state()
    one, first = start.next_event()
    two, second = one.next_event()
    assert (first, second) == (1, 2)
    assert (start.events_since_start, one.events_since_start, two.events_since_start) == (0, 1, 2)


def test_handshake_activates_and_failures_move_to_error_until_a_delivery() -> None:
    state = _state()
    assert state.delivered(5 * S, "heartbeat").status == "requested"
    active = state.delivered(5 * S, "handshake")
    assert active.status == "active"
    failing = active.failed().failed()
    assert (failing.status, failing.consecutive_failures) == ("error", 2)
    recovered = failing.delivered(9 * S, "event-notification")
    assert (recovered.status, recovered.consecutive_failures) == ("active", 0)
    assert active.turned_off().failed().status == "off"


def test_heartbeat_due_only_when_active_with_a_period_and_quiet_for_that_long() -> None:
    assert not _state().heartbeat_due(10**12)  # requested, no period
    active = _state(heartbeat_period_s=60).delivered(100 * S, "handshake")
    assert not active.heartbeat_due(159 * S)
    assert active.heartbeat_due(160 * S)
    assert active.next_heartbeat_ns() == 160 * S
    assert not active.failed().heartbeat_due(1000 * S)
    assert not _state(heartbeat_period_s=None).delivered(0, "handshake").heartbeat_due(10**15)
