"""Backoff is a pure function of the error's ``retriable`` flag and the attempt number."""

from __future__ import annotations

import pytest

from services.integrations.backoff import DEFAULT_RETRY_POLICY, RetryPolicy, next_delay_s
from services.integrations.errors import (
    AckTimeoutError,
    BuildError,
    MalformedAckError,
    MllpConnectionError,
    NegativeAckError,
)


def test_retriable_errors_back_off_exponentially_up_to_the_cap() -> None:
    error = MllpConnectionError("reset")
    delays = [next_delay_s(error, attempt) for attempt in range(1, 9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, None]  # capped at 30 s, 8 attempts in all


@pytest.mark.parametrize(
    "error",
    [BuildError("x"), MalformedAckError("x"), NegativeAckError("AE", "C", "bad"), NegativeAckError("CE", "C", ""),
     ValueError("not ours")],
)  # fmt: skip
def test_non_retriable_errors_give_up_at_once(error: BaseException) -> None:
    assert next_delay_s(error, 1) is None


@pytest.mark.parametrize(
    "error", [AckTimeoutError("t"), NegativeAckError("AR", "C", ""), NegativeAckError("CR", "C", "")]
)
def test_timeouts_and_rejects_are_retried(error: BaseException) -> None:
    assert next_delay_s(error, 1) == DEFAULT_RETRY_POLICY.initial_delay_s


def test_jitter_only_shortens_and_stays_within_the_fraction() -> None:
    policy = RetryPolicy(jitter_fraction=0.2)
    error = AckTimeoutError("t")
    assert next_delay_s(error, 3, policy, jitter=0.0) == 2.0
    assert next_delay_s(error, 3, policy, jitter=0.5) == pytest.approx(1.8)
    assert next_delay_s(error, 3, policy, jitter=0.999) == pytest.approx(1.6004)
    assert next_delay_s(error, 3, policy, jitter=7.0) == pytest.approx(1.6)  # out-of-range samples are clamped


def test_invalid_policies_and_attempts_are_refused() -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(initial_delay_s=0)
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="attempt"):
        next_delay_s(AckTimeoutError("t"), 0)
