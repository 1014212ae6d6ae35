"""Retry delays as a pure function of the error and the attempt number (no clock, no randomness inside).

An error is retried only when it says so (``retriable``, see errors.py). Delays grow exponentially and are
capped; the caller supplies the jitter sample so tests are deterministic.

The defaults are project choices, not from a standard: MLLP receivers sit on the hospital network, so
0.5 s doubling to a 30 s cap gives 8 attempts over about 1.5 minutes, which rides out an interface-engine
restart; after that the dispatcher leaves the outbox row for its next pass rather than blocking the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``initial_delay_s * multiplier**(attempt-1)``, capped, minus up to ``jitter_fraction``."""

    initial_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 30.0
    max_attempts: int = 8  # total attempts, the first included
    jitter_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.initial_delay_s <= 0 or self.multiplier < 1 or self.max_delay_s < self.initial_delay_s:
            raise ValueError("RetryPolicy needs 0 < initial_delay_s <= max_delay_s and multiplier >= 1")
        if self.max_attempts < 1 or not 0 <= self.jitter_fraction < 1:
            raise ValueError("RetryPolicy needs max_attempts >= 1 and 0 <= jitter_fraction < 1")


DEFAULT_RETRY_POLICY: Final = RetryPolicy()


def is_retriable(error: BaseException) -> bool:
    return bool(getattr(error, "retriable", False))


def next_delay_s(
    error: BaseException, attempt: int, policy: RetryPolicy = DEFAULT_RETRY_POLICY, jitter: float = 0.0
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    ``attempt`` is the number of attempts made so far (1 after the first failure); ``jitter`` is a sample in
    [0, 1) that shortens the delay by up to ``policy.jitter_fraction`` so that many senders do not retry in step.
    """
    if attempt < 1:
        raise ValueError("attempt counts attempts made, starting at 1")
    if not is_retriable(error) or attempt >= policy.max_attempts:
        return None
    delay = min(policy.max_delay_s, policy.initial_delay_s * policy.multiplier ** (attempt - 1))
    return delay * (1.0 - policy.jitter_fraction * min(max(jitter, 0.0), 1.0))
