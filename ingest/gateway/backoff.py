"""Retry delays as a pure function of the attempt number and the error (no sleeping, no clock, no RNG state).

Exponential backoff with "equal jitter": the delay for attempt ``n`` (0-based) is drawn from
``[base * (1 - jitter), base]`` with ``base = min(max_s, initial_s * multiplier**n)``. The random draw is a
parameter (``unit_random`` in [0, 1)), so callers own the RNG and tests are deterministic. Jitter keeps many
gateways that lost the same broker (or straps that lost the same radio) from retrying in lock step.

Errors that retrying soon cannot fix (``retriable`` is False, or Bluetooth itself is unavailable) wait the
maximum delay every time: the loops never give up, because a home gateway has no operator watching it, but
they do not hammer a broken dependency either.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    RequestTimedOutError,
)
from bleak.exc import BleakBluetoothNotAvailableError

# Past this exponent the base is far above any sane max_s; capping it avoids float overflow.
_MAX_EXPONENT = 64


class Transience(Enum):
    """How an error should be retried."""

    TRANSIENT = "transient"  # likely to pass: retry with growing delays
    PERSISTENT = "persistent"  # needs the environment to change: retry at the maximum delay


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential backoff limits, in seconds."""

    initial_s: float = 1.0
    max_s: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.5  # fraction of the delay that is randomised: 0 = none, 1 = "full jitter"

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got {self.initial_s} and {self.max_s}")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter}")


def classify(error: BaseException | None) -> Transience:
    """Whether retrying soon can help; reads the error's type and ``retriable`` flag, never its message."""
    if error is None:
        return Transience.TRANSIENT
    if isinstance(error, BleakBluetoothNotAvailableError):
        return Transience.PERSISTENT
    # aiokafka marks its timeout errors non-retriable, but for a forwarder they are the signature of an
    # outage that ends by itself.
    if isinstance(
        error, KafkaTimeoutError | KafkaConnectionError | RequestTimedOutError | asyncio.TimeoutError | OSError
    ):
        return Transience.TRANSIENT
    retriable = getattr(error, "retriable", True)
    return Transience.TRANSIENT if retriable else Transience.PERSISTENT


def backoff_delay_s(
    attempt: int, policy: BackoffPolicy, *, unit_random: float, error: BaseException | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) after ``error``."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not 0 <= unit_random < 1:
        raise ValueError(f"unit_random must be within [0, 1), got {unit_random}")
    if classify(error) is Transience.PERSISTENT:
        base = policy.max_s
    else:
        base = min(policy.max_s, policy.initial_s * policy.multiplier ** min(attempt, _MAX_EXPONENT))
    return base * (1.0 - policy.jitter * unit_random)
