"""Backport topic, Subscription, notification and $status Bundles, validated with fhir.resources."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.basic import Basic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.subscription import Subscription

from services.integrations.errors import BuildError
from services.integrations.fhir.alerts import alert_resources
from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.subscription_state import SubscriptionState
from services.integrations.fhir.subscriptions import (
    CARDIAC_REHAB_ALERT_TOPIC,
    EXT_HEARTBEAT_PERIOD,
    EXT_PAYLOAD_CONTENT,
    NotificationEvent,
    backport_subscription,
    cardiac_rehab_alert_topic,
    notification_bundle,
    status_bundle,
)

NOW = 1_714_557_660 * 10**9


def _wire(model_type, resource) -> dict:
    wire = to_json_bytes(resource)
    model_type.model_validate_json(wire)
    return json.loads(wire)


def _params(parameters: dict) -> dict[str, object]:
    result: dict[str, object] = {}
    for p in parameters["parameter"]:
        value = next((v for k, v in p.items() if k.startswith("value")), None)
        result.setdefault(p["name"], []).append(value if value is not None else p.get("part"))  # type: ignore[union-attr]
    return result


@pytest.fixture
def state() -> SubscriptionState:
    return SubscriptionState(subscription_id="sub-genhosp", topic=CARDIAC_REHAB_ALERT_TOPIC, heartbeat_period_s=60)


def test_topic_is_published_as_basic_with_the_canonical_url() -> None:
    data = _wire(Basic, cardiac_rehab_alert_topic())
    urls = {e["url"]: e for e in data["extension"]}
    assert urls["http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"]["valueUri"] == (
        "http://cardiorehab.example/fhir/SubscriptionTopic/cardiac-rehab-alert"
    )
    trigger = urls["http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"]
    assert {"url": "resource", "valueUri": "http://hl7.org/fhir/StructureDefinition/DetectedIssue"} in (
        trigger["extension"]
    )
    assert data["code"]["coding"][0]["code"] == "SubscriptionTopic"


def test_subscription_has_backport_profile_rest_hook_heartbeat_and_content() -> None:
    sub = backport_subscription(
        subscription_id="sub-genhosp", endpoint="https://engine.genhosp.example/fhir-hook", content="full-resource",
        heartbeat_period_s=60, timeout_s=10, filter_criteria=["DetectedIssue?patient=Patient/example-patient-1"],
        headers=["X-Tenant: genhosp"],
    )  # fmt: skip
    data = _wire(Subscription, sub)
    assert data["meta"]["profile"] == [
        "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription"
    ]
    assert data["criteria"] == CARDIAC_REHAB_ALERT_TOPIC
    assert data["_criteria"]["extension"][0]["valueString"] == "DetectedIssue?patient=Patient/example-patient-1"
    channel = data["channel"]
    assert channel["type"] == "rest-hook"
    assert channel["endpoint"] == "https://engine.genhosp.example/fhir-hook"
    assert {"url": EXT_HEARTBEAT_PERIOD, "valueUnsignedInt": 60} in channel["extension"]
    assert channel["_payload"]["extension"] == [{"url": EXT_PAYLOAD_CONTENT, "valueCode": "full-resource"}]
    assert channel["header"] == ["X-Tenant: genhosp"]
    assert data["status"] == "requested"


def test_handshake_then_event_notifications_number_events_from_one(state, make_alert, patient) -> None:
    handshake = _wire(Bundle, notification_bundle(state, "handshake", now_ns=NOW))
    assert handshake["type"] == "history"
    first = handshake["entry"][0]
    assert first["resource"]["resourceType"] == "Parameters"
    Parameters.model_validate(first["resource"])
    p = _params(first["resource"])
    assert p["type"] == ["handshake"]
    assert p["status"] == ["requested"]
    assert p["events-since-subscription-start"] == ["0"]
    assert first["request"]["url"] == "Subscription/sub-genhosp/$status"

    state = state.delivered(NOW, "handshake")
    issue = alert_resources(make_alert(), patient=patient).detected_issue
    numbers = []
    for _ in range(2):
        state, number = state.next_event()
        numbers.append(number)
        event = NotificationEvent(number, NOW, "DetectedIssue", issue.id, issue)
        bundle = _wire(Bundle, notification_bundle(state, "event-notification", now_ns=NOW, content="full-resource",
                                                   events=[event]))  # fmt: skip
        p = _params(bundle["entry"][0]["resource"])
        assert p["status"] == ["active"]
        assert p["type"] == ["event-notification"]
        assert p["events-since-subscription-start"] == [str(number)]
        parts = {part["name"]: part for part in p["notification-event"][0]}  # type: ignore[index,union-attr]
        assert parts["event-number"]["valueString"] == str(number)
        assert parts["focus"]["valueReference"]["reference"] == f"DetectedIssue/{issue.id}"
        assert bundle["entry"][1]["resource"]["resourceType"] == "DetectedIssue"
        assert bundle["entry"][1]["fullUrl"] == f"urn:uuid:{issue.id}"
    assert numbers == [1, 2]


def test_id_only_carries_the_focus_reference_but_no_resource(state, make_alert, patient) -> None:
    issue = alert_resources(make_alert(), patient=patient).detected_issue
    state, number = state.delivered(NOW, "handshake").next_event()
    event = NotificationEvent(number, NOW, "DetectedIssue", issue.id)
    bundle = _wire(Bundle, notification_bundle(state, "event-notification", now_ns=NOW, events=[event]))
    assert len(bundle["entry"]) == 1
    assert "notification-event" in _params(bundle["entry"][0]["resource"])


def test_heartbeat_has_no_events_and_does_not_count(state) -> None:
    state = state.delivered(NOW, "handshake")
    bundle = _wire(Bundle, notification_bundle(state, "heartbeat", now_ns=NOW + 60 * 10**9))
    p = _params(bundle["entry"][0]["resource"])
    assert p["type"] == ["heartbeat"]
    assert "notification-event" not in p
    assert p["events-since-subscription-start"] == ["0"]


def test_inconsistent_notifications_are_refused(state, make_alert, patient) -> None:
    event = NotificationEvent(1, NOW, "DetectedIssue", "00000000-0000-5000-8000-000000000000")
    with pytest.raises(BuildError):
        notification_bundle(state, "heartbeat", now_ns=NOW, events=[event])
    with pytest.raises(BuildError):
        notification_bundle(state, "event-notification", now_ns=NOW)
    with pytest.raises(BuildError, match="lacks the resource"):
        notification_bundle(state, "event-notification", now_ns=NOW, content="full-resource", events=[event])


def test_status_operation_returns_a_searchset_of_query_status_parameters(state) -> None:
    active, _ = state.delivered(NOW, "handshake").next_event()
    bundle = _wire(Bundle, status_bundle([active, state.failed()], now_ns=NOW))
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 2
    statuses = [_params(e["resource"]) for e in bundle["entry"]]
    assert [s["type"] for s in statuses] == [["query-status"], ["query-status"]]
    assert [s["status"] for s in statuses] == [["active"], ["error"]]
    assert statuses[0]["events-since-subscription-start"] == ["1"]
