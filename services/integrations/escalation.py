"""When an unacknowledged alert escalates (pure): nurse -> charge nurse (level 1) -> hospital channel (level 2).

CLINICAL.md section 4 (item 4) asks for escalation of unacknowledged alerts; the timings are the hospital's
(:class:`~services.integrations.config.EscalationPolicy`, defaults documented there). The levels are those of the
API's manual escalation (docs/api.md): 1 charge nurse, 2 on-call physician, 3 emergency services. The scheduler
escalates automatically to 1 and then to 2, which goes to the hospital's channel (its interface engine or alarm
system reaches the on-call physician). Level 3 (emergency services) stays a human decision.

The clock of each step:

- **to level 1**: ``to_charge_nurse_s`` after the alert became unattended: when it reached its current tier
  (a rise from nurse to urgent restarts the clock with the urgent timings), or when a snooze ran out, whichever
  is later. A snoozed alert does not escalate while the snooze runs: the snooze is a clinician's visible, bounded
  decision (urgent alerts at most 5 minutes, by a charge nurse with a reason).
- **to level 2**: ``to_hospital_channel_s`` after the level-1 step (automatic or a clinician's), or after the
  alert became unattended if that is later.
- never: acknowledged, cleared, patient-cue alerts, alerts already at the target level, and level 2 when the
  patient's clinic has no hospital channel (then the charge nurse is the last level).

With several hospitals serving a clinic, the strictest (shortest) timing of each step applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from analytics.events import Tier
from services.integrations.config import EscalationPolicy, EscalationTimings
from services.integrations.timestamps import NS_PER_S

CHARGE_NURSE_LEVEL: Final = 1
HOSPITAL_CHANNEL_LEVEL: Final = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationFacts:
    """An alert as the scheduler sees it (times in Unix ns)."""

    alert_id: str
    tier: Tier
    active: bool
    acknowledged: bool
    escalation_level: int
    escalated_ns: int | None
    tier_since_ns: int  # when the alert reached its current tier
    snoozed_until_ns: int | None


@dataclass(frozen=True, slots=True)
class EscalationDue:
    level: int
    due_ns: int
    unattended_since_ns: int


def strictest(policies: Sequence[EscalationPolicy]) -> EscalationPolicy:
    """One policy from several hospitals': the shortest timing of each step; the defaults when there is none."""
    if not policies:
        return EscalationPolicy()

    def shortest(timings: Sequence[EscalationTimings]) -> EscalationTimings:
        return EscalationTimings(
            to_charge_nurse_s=min(t.to_charge_nurse_s for t in timings),
            to_hospital_channel_s=min(t.to_hospital_channel_s for t in timings),
        )

    return EscalationPolicy(urgent=shortest([p.urgent for p in policies]), nurse=shortest([p.nurse for p in policies]))


def next_escalation(
    facts: EscalationFacts, policy: EscalationPolicy, *, hospital_channel: bool
) -> EscalationDue | None:
    """The next automatic step and when it falls due, or None if the alert will not escalate automatically."""
    timings = policy.for_tier(facts.tier)
    if timings is None or not facts.active or facts.acknowledged:
        return None
    unattended = max(facts.tier_since_ns, facts.snoozed_until_ns or 0)
    if facts.escalation_level < CHARGE_NURSE_LEVEL:
        due = unattended + round(timings.to_charge_nurse_s * NS_PER_S)
        return EscalationDue(CHARGE_NURSE_LEVEL, due, unattended)
    if facts.escalation_level < HOSPITAL_CHANNEL_LEVEL and hospital_channel:
        since = max(unattended, facts.escalated_ns or unattended)
        due = since + round(timings.to_hospital_channel_s * NS_PER_S)
        return EscalationDue(HOSPITAL_CHANNEL_LEVEL, due, unattended)
    return None


def due_now(
    facts: EscalationFacts, policy: EscalationPolicy, now_ns: int, *, hospital_channel: bool
) -> EscalationDue | None:
    """:func:`next_escalation` if it is due at ``now_ns`` (and the alert is not snoozed at that moment)."""
    if facts.snoozed_until_ns is not None and facts.snoozed_until_ns > now_ns:
        return None
    step = next_escalation(facts, policy, hospital_channel=hospital_channel)
    return step if step is not None and step.due_ns <= now_ns else None
