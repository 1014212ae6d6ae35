"""What each delivery result does to an outbox row (the table in delivery.py)."""

from __future__ import annotations

import pytest

from services.integrations.backoff import RetryPolicy
from services.integrations.delivery import (
    DeliveryPolicy,
    after_error,
    delay_s,
    delivered,
    hold_off_s,
    is_transport_down,
)
from services.integrations.errors import (
    AckTimeoutError,
    BuildError,
    MalformedAckError,
    MllpConnectionError,
    NegativeAckError,
    RestHookConnectionError,
    RestHookRejectedError,
)

POLICY = DeliveryPolicy(
    backoff=RetryPolicy(initial_delay_s=0.5, max_delay_s=30, jitter_fraction=0.2, max_attempts=2**31 - 1),
    nak_max_attempts=3,
    malformed_max_attempts=2,
)


def test_accepted_is_delivered() -> None:
    assert delivered("AA").state == "delivered" and delivered("HTTP 204").ack_code == "HTTP 204"


@pytest.mark.parametrize(
    "error",
    [MllpConnectionError("refused"), AckTimeoutError("silent"), RestHookConnectionError("503", 503)],
)
def test_transport_errors_are_retried_forever_with_capped_backoff(error: Exception) -> None:
    delays = [after_error(error, attempt, POLICY).retry_in_s for attempt in (1, 2, 3, 10, 1000)]
    assert delays == [0.5, 1.0, 2.0, 30.0, 30.0]
    assert after_error(error, 10**6, POLICY).state == "pending"
    assert not after_error(error, 1, POLICY).report
    assert is_transport_down(error)


def test_application_error_nak_is_final_and_reported_at_once() -> None:
    outcome = after_error(NegativeAckError("AE", "CID", "unknown patient"), 1, POLICY)
    assert (outcome.state, outcome.ack_code, outcome.report, outcome.retry_in_s) == ("nacked", "AE", True, None)
    assert "unknown patient" in (outcome.error or "")
    assert not is_transport_down(NegativeAckError("AE", "CID", ""))


def test_reject_nak_is_retried_within_its_budget_then_reported() -> None:
    error = NegativeAckError("AR", "CID", "busy")
    assert [after_error(error, n, POLICY).state for n in (1, 2, 3)] == ["pending", "pending", "nacked"]
    assert after_error(error, 3, POLICY).report and not after_error(error, 2, POLICY).report


@pytest.mark.parametrize(("status", "states"), [(401, ["pending", "pending", "nacked"]), (400, ["nacked"] * 3)])
def test_rest_hook_refusals_behave_like_naks(status: int, states: list[str]) -> None:
    error = RestHookRejectedError(status, "msg", "no")
    assert [after_error(error, n, POLICY).state for n in (1, 2, 3)] == states
    assert after_error(error, 3, POLICY).ack_code == f"HTTP {status}"


def test_malformed_answers_fail_after_their_budget_and_other_errors_fail_at_once() -> None:
    error = MalformedAckError("not an ACK")
    assert [after_error(error, n, POLICY).state for n in (1, 2)] == ["pending", "failed"]
    built = after_error(BuildError("bad"), 1, POLICY)
    assert (built.state, built.report) == ("failed", True)


def test_jitter_only_shortens_and_hold_off_follows_the_same_backoff() -> None:
    assert delay_s(3, POLICY.backoff, jitter=1.0) == pytest.approx(2.0 * 0.8)
    assert hold_off_s(1, POLICY) == 0.5 and hold_off_s(50, POLICY) == 30.0
