"""What a delivery attempt's result means for its outbox row (pure): delivered, retried later, or a final failure.

============================================== ========================= ====================================
result                                         row                       operator
============================================== ========================= ====================================
ACK AA/CA, HTTP 2xx                            ``delivered``             -
connection refused/broken, ACK timeout,        ``pending``, retried with  logged (warning); never given up:
HTTP 408/425/429/5xx                           capped backoff, forever    nothing may be lost
NAK AR/CR, HTTP 401/403/404/410                ``pending`` until          each NAK logged; the last one is
                                               ``nak_max_attempts``, then reported (error log + audit record)
                                               ``nacked``
NAK AE/CE, any other HTTP 4xx                  ``nacked`` at once          reported (error log + audit record)
an answer that is not an ACK for the message   ``pending`` until          reported
                                               ``malformed_max_attempts``,
                                               then ``failed``
============================================== ========================= ====================================

A final state (``delivered``, ``nacked``, ``failed``) releases the next message of the same ordering key: a
receiver that rejects one message's content must not stop every later alarm of that patient. ``nacked`` and
``failed`` rows stay visible in the delivery-state API.

The hospital-level hold-off (:func:`hold_off_s`) stops a dispatcher from dialling a receiver that is down once per
queued patient: after a transport error the whole (hospital, channel) waits, with the same backoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from services.integrations.backoff import RetryPolicy
from services.integrations.errors import (
    MalformedAckError,
    NegativeAckError,
    RestHookRejectedError,
    TransportError,
)

RowState = Literal["pending", "delivered", "nacked", "failed"]
# Retries of transport errors never stop; the policy's attempt budget is therefore effectively unbounded.
UNBOUNDED_ATTEMPTS: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Backoff of every retry, and the budgets of negative acknowledgements and malformed answers.

    The defaults are project choices (see backoff.py): 0.5 s doubling to a 30 s cap, so a receiver that comes
    back is served again within 30 s; 8 attempts for a rejection that may clear (AR, HTTP 401/403/404/410),
    about 1.5 minutes; 3 for an answer that is not an ACK.
    """

    backoff: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=UNBOUNDED_ATTEMPTS))
    nak_max_attempts: int = 8
    malformed_max_attempts: int = 3

    def __post_init__(self) -> None:
        if self.nak_max_attempts < 1 or self.malformed_max_attempts < 1:
            raise ValueError("DeliveryPolicy budgets must allow at least one attempt")


DEFAULT_DELIVERY_POLICY: Final = DeliveryPolicy()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The row's next state; ``retry_in_s`` for pending rows, ``report`` when an operator must hear of it."""

    state: RowState
    retry_in_s: float | None = None
    ack_code: str | None = None
    error: str | None = None
    report: bool = False


def delay_s(attempt: int, policy: RetryPolicy, jitter: float = 0.0) -> float:
    """Capped exponential backoff after ``attempt`` attempts (1 after the first), shortened by the jitter sample."""
    raw = policy.initial_delay_s * policy.multiplier ** min(max(attempt - 1, 0), 64)
    return min(policy.max_delay_s, raw) * (1.0 - policy.jitter_fraction * min(max(jitter, 0.0), 1.0))


def delivered(ack_code: str) -> Outcome:
    return Outcome(state="delivered", ack_code=ack_code)


def after_error(error: BaseException, attempts: int, policy: DeliveryPolicy, jitter: float = 0.0) -> Outcome:
    """The outcome of a failed attempt; ``attempts`` counts attempts made, this one included."""
    text = str(error) or type(error).__name__
    if isinstance(error, NegativeAckError | RestHookRejectedError):
        code = error.code
        if error.retriable and attempts < policy.nak_max_attempts:
            return Outcome("pending", delay_s(attempts, policy.backoff, jitter), code, text, report=False)
        return Outcome("nacked", None, code, text, report=True)
    if isinstance(error, MalformedAckError):
        if attempts < policy.malformed_max_attempts:
            return Outcome("pending", delay_s(attempts, policy.backoff, jitter), None, text, report=False)
        return Outcome("failed", None, None, text, report=True)
    if isinstance(error, TransportError) and error.retriable:
        return Outcome("pending", delay_s(attempts, policy.backoff, jitter), None, text, report=False)
    return Outcome("failed", None, None, text, report=True)


def is_transport_down(error: BaseException) -> bool:
    """Whether the receiver itself is unreachable (so its other queued messages should wait as well)."""
    return (
        isinstance(error, TransportError)
        and error.retriable
        and not isinstance(error, NegativeAckError | RestHookRejectedError)
    )


def hold_off_s(consecutive_failures: int, policy: DeliveryPolicy, jitter: float = 0.0) -> float:
    """How long a (hospital, channel) waits after ``consecutive_failures`` transport errors in a row."""
    return delay_s(consecutive_failures, policy.backoff, jitter)
