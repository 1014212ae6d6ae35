"""Backoff is a pure function of the attempt and the error."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAuthorizationFailedError
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakError
from hypothesis import given
from hypothesis import strategies as st

from ingest.gateway.backoff import BackoffPolicy, Transience, backoff_delay_s, classify
from ingest.gateway.errors import BufferOwnershipError, PmdStatusError, StrapNotFoundError

NO_JITTER = BackoffPolicy(initial_s=1.0, max_s=60.0, multiplier=2.0, jitter=0.0)


def test_delay_doubles_then_stays_at_the_maximum() -> None:
    delays = [backoff_delay_s(n, NO_JITTER, unit_random=0.0) for n in range(9)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_jitter_shortens_the_delay_by_at_most_its_fraction() -> None:
    policy = BackoffPolicy(initial_s=1.0, max_s=60.0, jitter=0.5)
    assert backoff_delay_s(3, policy, unit_random=0.0) == 8.0
    assert backoff_delay_s(3, policy, unit_random=0.5) == 6.0
    assert backoff_delay_s(3, policy, unit_random=0.999999) == pytest.approx(4.0, abs=1e-5)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert backoff_delay_s(10_000, NO_JITTER, unit_random=0.0) == 60.0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, Transience.TRANSIENT),
        (StrapNotFoundError("any strap", 10), Transience.TRANSIENT),
        (BleakError("link lost"), Transience.TRANSIENT),
        (KafkaTimeoutError(), Transience.TRANSIENT),  # aiokafka says not retriable; an outage passes
        (KafkaConnectionError(), Transience.TRANSIENT),
        (OSError("connection refused"), Transience.TRANSIENT),
        (TopicAuthorizationFailedError(), Transience.PERSISTENT),
        (BufferOwnershipError("in use"), Transience.PERSISTENT),
        (BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF), Transience.PERSISTENT),
        (PmdStatusError(op_code=2, measurement_type=0, status=10, status_name="INVALID_MTU"), Transience.PERSISTENT),
        (PmdStatusError(op_code=2, measurement_type=0, status=12, status_name="INVALID_STATE"), Transience.TRANSIENT),
    ],
)
def test_errors_are_classified_by_type_and_retriable_flag(error: BaseException | None, expected: Transience) -> None:
    assert classify(error) is expected


def test_persistent_errors_wait_the_maximum_from_the_first_attempt() -> None:
    assert backoff_delay_s(0, NO_JITTER, unit_random=0.0, error=TopicAuthorizationFailedError()) == 60.0
    assert backoff_delay_s(0, NO_JITTER, unit_random=0.0, error=KafkaTimeoutError()) == 1.0


@pytest.mark.parametrize(
    "kwargs", [{"initial_s": 0.0}, {"initial_s": 5.0, "max_s": 1.0}, {"multiplier": 0.5}, {"jitter": 1.5}]
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        BackoffPolicy(**kwargs)


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay_s(-1, NO_JITTER, unit_random=0.0)
    with pytest.raises(ValueError, match="unit_random"):
        backoff_delay_s(0, NO_JITTER, unit_random=1.0)


@given(
    attempt=st.integers(min_value=0, max_value=200),
    unit=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_delay_is_bounded_and_its_base_never_shrinks(attempt: int, unit: float, jitter: float) -> None:
    policy = BackoffPolicy(initial_s=0.5, max_s=30.0, jitter=jitter)
    delay = backoff_delay_s(attempt, policy, unit_random=unit)
    assert 0.0 <= delay <= 30.0
    assert backoff_delay_s(attempt, policy, unit_random=0.0) <= backoff_delay_s(attempt + 1, policy, unit_random=0.0)
