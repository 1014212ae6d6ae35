"""What each hospital receives (planning.py): filters, channels, deterministic ids, event numbering, failures kept."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import hl7
from fhir.resources.R4B.bundle import Bundle

from analytics.events import AlertV1, FeaturesV1, SessionV1
from services.integrations.config import HospitalConfig
from services.integrations.fhir.subscription_state import SubscriptionState
from services.integrations.fhir.subscriptions import CARDIAC_REHAB_ALERT_TOPIC, CARDIAC_REHAB_SESSION_SUMMARY_TOPIC
from services.integrations.ids import control_id
from services.integrations.outbound import (
    HospitalTarget,
    Outgoing,
    PatientTargets,
    PendingEvent,
    SubscriptionTarget,
    Unbuildable,
)
from services.integrations.planning import (
    handshake,
    number_events,
    plan_alert,
    plan_escalation,
    plan_observation,
    plan_summary,
)
from services.integrations.resolve import DeviceFacts, PatientFacts, fhir_patient_id

CONFIG: dict[str, Any] = {
    "hospital_id": "genhosp",
    "sending_application": {"universal_id": "0123456789ABCDEF"},
    "sending_facility": "CARDIOREHAB",
    "receiving_application": "ENGINE",
    "receiving_facility": "GENHOSP",
    "mllp": {"host": "engine", "port": 6661},
    "fhir": {"rest_hook_url": "https://engine/hook", "bearer_token": None},
    "send_alerts_pcd04": True,
    "mrn_system": "urn:oid:1.2.3",
    "mrn_assigning_authority": "GENHOSP",
}


def _targets(
    *,
    config: dict[str, Any] | None = None,
    content: str = "id-only",
    topic: str = CARDIAC_REHAB_ALERT_TOPIC,
    patient_filter: frozenset[str] | None = None,
) -> PatientTargets:
    hospital = HospitalConfig.model_validate(config or CONFIG)
    sub = SubscriptionTarget(
        subscription_id="sub-1",
        hospital_id="genhosp",
        topic=topic,
        content=content,  # type: ignore[arg-type]
        status="active",
        patient_filter=patient_filter,
    )
    return PatientTargets(
        patient=PatientFacts(patient_id="p1", clinic_id="c1", mrn="MRN-7"),
        devices=(DeviceFacts(device_id="strap", patient_id="p1", kind="polar_h10", address="A0:9E:1A:12:34:56"),),
        hospitals=(HospitalTarget(config=hospital, subscriptions=(sub,)),),
    )


def _alert(tier: str = "urgent", event: str = "raised", revision: int = 0, rule: str = "hr_above_ceiling") -> AlertV1:
    return AlertV1(
        alert_id="p1:hr_above_ceiling:1",
        patient_id="p1",
        rule=rule,
        tier=tier,
        event=event,  # type: ignore[arg-type]
        revision=revision,
        t_ns=1_800_000_000 * 10**9 + revision,
        message="HR 152 above 140",
        value=152.0,
        threshold=140.0,
    )


def test_an_alert_step_gives_a_pcd04_and_a_numbered_notification() -> None:
    planned = plan_alert(_alert(), _targets(), raised_ns=None)
    pcd04, event = planned
    assert isinstance(pcd04, Outgoing) and isinstance(event, PendingEvent)
    assert pcd04.envelope.message_id == control_id("pcd04", "p1:hr_above_ceiling:1:0")
    assert pcd04.envelope.ordering_key == "mllp:genhosp:p1" and pcd04.envelope.kind == "pcd04"
    pid = hl7.parse(pcd04.payload.decode()).segment("PID")
    assert str(pid[3]) == "MRN-7^^^GENHOSP^MR"
    assert event.envelope.ordering_key == "fhir:sub-1" and event.focus_type == "DetectedIssue"
    assert event.resource is None  # id-only
    again = plan_alert(_alert(), _targets(), raised_ns=None)
    assert [p.envelope.message_id for p in again] == [p.envelope.message_id for p in planned]

    state, numbered = number_events(
        SubscriptionState(subscription_id="sub-1", topic=CARDIAC_REHAB_ALERT_TOPIC, events_since_start=41),
        [event, event],
    )
    assert state.events_since_start == 43 and [n.event_number for n in numbered] == [42, 43]
    bundle = Bundle.model_validate_json(numbered[0].payload)
    status = json.loads(numbered[0].payload)["entry"][0]["resource"]["parameter"]
    values = {p["name"]: p for p in status}
    assert values["events-since-subscription-start"]["valueString"] == "42"
    assert values["type"]["valueCode"] == "event-notification" and bundle.type == "history"


def test_tier_and_rule_filters_and_patient_filters() -> None:
    nurse_only = {**CONFIG, "alert_tiers": ["urgent"]}
    assert plan_alert(_alert(tier="nurse"), _targets(config=nurse_only), raised_ns=None) == []
    rules = {**CONFIG, "alert_rules": ["signal_lost"]}
    assert plan_alert(_alert(), _targets(config=rules), raised_ns=None) == []
    other = _targets(patient_filter=frozenset({fhir_patient_id("p2")}))
    assert [p.envelope.kind for p in plan_alert(_alert(), other, raised_ns=None)] == ["pcd04"]
    mine = _targets(patient_filter=frozenset({fhir_patient_id("p1")}))
    assert [p.envelope.kind for p in plan_alert(_alert(), mine, raised_ns=None)] == ["pcd04", "fhir-alert"]
    off = _targets()
    off = replace(
        off,
        hospitals=(
            replace(off.hospitals[0], subscriptions=(replace(off.hospitals[0].subscriptions[0], status="off"),)),
        ),
    )
    assert [p.envelope.kind for p in plan_alert(_alert(), off, raised_ns=None)] == ["pcd04"]


def test_escalation_ignores_the_tier_filter_and_keeps_its_own_ids() -> None:
    nurse_only = {**CONFIG, "alert_tiers": ["urgent"]}
    planned = plan_escalation(
        _alert(tier="nurse", event="updated", revision=3),
        2,
        _targets(config=nurse_only),
        unacknowledged_s=420,
        raised_ns=None,
    )
    assert [p.envelope.kind for p in planned] == ["pcd04-escalation", "fhir-alert-escalation"]
    assert planned[0].envelope.message_id == control_id("pcd04-escalation", "p1:hr_above_ceiling:1:L2")
    assert isinstance(planned[0], Outgoing) and b"ESCALATED to on-call physician" in planned[0].payload
    full = plan_escalation(
        _alert(event="updated"), 2, _targets(content="full-resource"), unacknowledged_s=1, raised_ns=None
    )
    event = full[1]
    assert isinstance(event, PendingEvent) and event.resource is not None
    issue = event.resource.model_dump(mode="json")
    assert issue["mitigation"][0]["action"]["coding"][0]["code"] == "escalated-level-2"


def test_a_message_that_cannot_be_built_is_kept_as_unbuildable() -> None:
    planned = plan_escalation(_alert(event="cleared"), 2, _targets(), unacknowledged_s=1, raised_ns=None)
    failed = planned[0]
    assert isinstance(failed, Unbuildable) and "cleared alert is not escalated" in failed.reason
    assert failed.envelope.ordering_key == "mllp:genhosp:p1"


def test_session_summaries_go_to_session_topic_subscribers_only() -> None:
    summary = SessionV1(
        session_id="s1",
        patient_id="p1",
        event="summary",
        t_ns=10**18,
        started_ns=10**18 - 10**12,
        ended_ns=10**18,
        duration_s=1000.0,
        peak_hr_bpm=130.0,
    )
    assert plan_summary(summary, _targets()) == []
    planned = plan_summary(summary, _targets(topic=CARDIAC_REHAB_SESSION_SUMMARY_TOPIC, content="full-resource"))
    assert len(planned) == 1
    event = planned[0]
    assert isinstance(event, PendingEvent) and event.focus_type == "Bundle" and event.resource is not None
    _, numbered = number_events(
        SubscriptionState(subscription_id="sub-1", topic=CARDIAC_REHAB_SESSION_SUMMARY_TOPIC), [event]
    )
    Bundle.model_validate_json(numbered[0].payload)
    no_summaries = {**CONFIG, "send_session_summaries": False}
    assert plan_summary(summary, _targets(config=no_summaries, topic=CARDIAC_REHAB_SESSION_SUMMARY_TOPIC)) == []


def test_pcd01_follows_the_cadence() -> None:
    config = {**CONFIG, "observations": {"send_pcd01": True, "cadence_s": 60}}
    targets = _targets(config=config)

    def second(t: int, hr: float | None = 100.0) -> FeaturesV1:
        return FeaturesV1(patient_id="p1", t_s=t, computed_time_ns=t * 10**9, hr_bpm=hr)

    first, sent = plan_observation(second(1000), targets, {})
    assert sent == {"genhosp": 1000} and first[0].envelope.ordering_key == "mllp-obs:genhosp:p1"
    assert plan_observation(second(1059), targets, sent) == ([], {})
    assert plan_observation(second(1060), targets, sent)[1] == {"genhosp": 1060}
    assert plan_observation(second(2000, hr=None), targets, sent) == ([], {})


def test_the_handshake_opens_the_subscription_queue() -> None:
    state = SubscriptionState(subscription_id="sub-1", topic=CARDIAC_REHAB_ALERT_TOPIC, status="requested")
    opening = handshake(state, now_ns=10**18, hospital_id="genhosp")
    assert opening.envelope.ordering_key == "fhir:sub-1" and opening.envelope.kind == "fhir-handshake"
    status = json.loads(opening.payload)["entry"][0]["resource"]["parameter"]
    assert {p["name"]: p for p in status}["type"]["valueCode"] == "handshake"


def test_a_notification_that_cannot_be_built_takes_no_event_number() -> None:
    good = plan_alert(_alert(), _targets(content="full-resource"), raised_ns=None)[1]
    assert isinstance(good, PendingEvent)
    bad = replace(good, focus_id="not-a-uuid")  # full-resource without a base URL needs UUID ids
    state, out = number_events(
        SubscriptionState(subscription_id="sub-1", topic=CARDIAC_REHAB_ALERT_TOPIC), [good, bad, good]
    )
    assert isinstance(out[1], Unbuildable) and "not a UUID" in out[1].reason
    assert [o.event_number for o in out if isinstance(o, Outgoing)] == [1, 2]
    assert state.events_since_start == 2
