"""When an unacknowledged alert escalates (escalation.py): clocks, snoozes, acknowledgement, strictest policy."""

from __future__ import annotations

from dataclasses import replace

from services.integrations.config import EscalationPolicy, EscalationTimings
from services.integrations.escalation import EscalationFacts, due_now, next_escalation, strictest

S = 1_000_000_000
T0 = 1_800_000_000 * S
POLICY = EscalationPolicy(
    urgent=EscalationTimings(to_charge_nurse_s=60, to_hospital_channel_s=120),
    nurse=EscalationTimings(to_charge_nurse_s=300, to_hospital_channel_s=600),
)
URGENT = EscalationFacts(
    alert_id="a",
    tier="urgent",
    active=True,
    acknowledged=False,
    escalation_level=0,
    escalated_ns=None,
    tier_since_ns=T0,
    snoozed_until_ns=None,
)


def test_urgent_goes_to_the_charge_nurse_then_the_hospital_channel() -> None:
    first = next_escalation(URGENT, POLICY, hospital_channel=True)
    assert first is not None and (first.level, first.due_ns) == (1, T0 + 60 * S)
    assert due_now(URGENT, POLICY, T0 + 59 * S, hospital_channel=True) is None
    assert due_now(URGENT, POLICY, T0 + 60 * S, hospital_channel=True) == first
    at_one = replace(URGENT, escalation_level=1, escalated_ns=T0 + 61 * S)
    second = next_escalation(at_one, POLICY, hospital_channel=True)
    assert second is not None and (second.level, second.due_ns) == (2, T0 + 181 * S)
    assert next_escalation(replace(at_one, escalation_level=2), POLICY, hospital_channel=True) is None


def test_without_a_hospital_channel_the_charge_nurse_is_the_last_level() -> None:
    at_one = replace(URGENT, escalation_level=1, escalated_ns=T0 + 60 * S)
    assert next_escalation(URGENT, POLICY, hospital_channel=False) is not None
    assert next_escalation(at_one, POLICY, hospital_channel=False) is None


def test_acknowledged_cleared_and_patient_cue_alerts_never_escalate() -> None:
    for facts in (
        replace(URGENT, acknowledged=True),
        replace(URGENT, active=False),
        replace(URGENT, tier="patient_cue"),
    ):
        assert due_now(facts, POLICY, T0 + 10_000 * S, hospital_channel=True) is None


def test_a_running_snooze_holds_escalation_and_its_end_restarts_the_clock() -> None:
    snoozed = replace(URGENT, snoozed_until_ns=T0 + 300 * S)
    assert due_now(snoozed, POLICY, T0 + 299 * S, hospital_channel=True) is None
    assert due_now(snoozed, POLICY, T0 + 359 * S, hospital_channel=True) is None
    step = due_now(snoozed, POLICY, T0 + 360 * S, hospital_channel=True)
    assert step is not None and step.level == 1


def test_nurse_timings_and_a_manual_level_one_start_the_hospital_clock() -> None:
    nurse = replace(URGENT, tier="nurse")
    assert due_now(nurse, POLICY, T0 + 299 * S, hospital_channel=True) is None
    manual = replace(nurse, escalation_level=1, escalated_ns=T0 + 5 * S)  # a nurse escalated it by hand early
    step = next_escalation(manual, POLICY, hospital_channel=True)
    assert step is not None and step.due_ns == T0 + 605 * S


def test_strictest_takes_the_shortest_timing_of_each_step() -> None:
    other = EscalationPolicy(
        urgent=EscalationTimings(to_charge_nurse_s=90, to_hospital_channel_s=30),
        nurse=EscalationTimings(to_charge_nurse_s=200, to_hospital_channel_s=900),
    )
    merged = strictest([POLICY, other])
    assert (merged.urgent.to_charge_nurse_s, merged.urgent.to_hospital_channel_s) == (60, 30)
    assert (merged.nurse.to_charge_nurse_s, merged.nurse.to_hospital_channel_s) == (200, 600)
    assert strictest([]) == EscalationPolicy()
