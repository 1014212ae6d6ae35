"""The pure state of one topic-based subscription (Subscriptions R5 Backport IG on R4): event numbering,
status, and when a heartbeat is due. Immutable; every transition returns a new state, so the dispatcher can keep
it in a database row and replay it.

References
----------
HL7 Subscriptions R5 Backport IG STU 1.1, BackportSubscriptionStatusR4 (``events-since-subscription-start``:
"the total number of actual events ... generated since the Subscription was created (inclusive of this
notification) ... NOT incremented for handshake and heartbeat notifications"; ``event-number``: "the
sequential number of this event in this subscription context"); BackportHeartbeatPeriod ("a 'heartbeat'
notification is sent via this channel with an interval period equal to this element's value in seconds").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from services.integrations.timestamps import NS_PER_S

# R4 Subscription.status (http://hl7.org/fhir/subscription-status, required binding).
SubscriptionStatus = Literal["requested", "active", "error", "off"]
# R5 SubscriptionNotificationType (backport ValueSet subscription-notification-type).
NotificationType = Literal["handshake", "heartbeat", "event-notification", "query-status", "query-event"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionState:
    """One subscription's delivery state; ``events_since_start`` is the last event number handed out."""

    subscription_id: str
    topic: str
    status: SubscriptionStatus = "requested"
    events_since_start: int = 0
    heartbeat_period_s: int | None = None
    last_notification_ns: int | None = None
    consecutive_failures: int = 0

    def next_event(self) -> tuple[SubscriptionState, int]:
        """Number the next event (1, 2, ...); returns the new state and the event's number."""
        number = self.events_since_start + 1
        return replace(self, events_since_start=number), number

    def delivered(self, at_ns: int, notification: NotificationType) -> SubscriptionState:
        """A notification of any type reached the endpoint; a handshake activates a requested subscription."""
        status: SubscriptionStatus = self.status
        if (notification == "handshake" and self.status == "requested") or self.status == "error":
            status = "active"
        return replace(self, status=status, last_notification_ns=at_ns, consecutive_failures=0)

    def failed(self) -> SubscriptionState:
        """A delivery attempt failed; the subscription is in ``error`` until a delivery succeeds."""
        status: SubscriptionStatus = "off" if self.status == "off" else "error"
        return replace(self, status=status, consecutive_failures=self.consecutive_failures + 1)

    def turned_off(self) -> SubscriptionState:
        return replace(self, status="off")

    def heartbeat_due(self, now_ns: int) -> bool:
        """True when the subscription is active, asks for heartbeats, and nothing was sent for a period."""
        if self.status != "active" or self.heartbeat_period_s is None:
            return False
        if self.last_notification_ns is None:
            return True
        return now_ns - self.last_notification_ns >= self.heartbeat_period_s * NS_PER_S

    def next_heartbeat_ns(self) -> int | None:
        """When the next heartbeat falls due, or None if none will (inactive, no period, never delivered)."""
        if self.status != "active" or self.heartbeat_period_s is None or self.last_notification_ns is None:
            return None
        return self.last_notification_ns + self.heartbeat_period_s * NS_PER_S
