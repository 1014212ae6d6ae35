"""A client's Subscription: accepted shapes, refusals with reasons, defaults from the hospital's configuration."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.subscription_request import SubscriptionRequest, SubscriptionRequestError, terms
from services.integrations.fhir.subscriptions import (
    CARDIAC_REHAB_ALERT_TOPIC,
    CARDIAC_REHAB_SESSION_SUMMARY_TOPIC,
    EXT_FILTER_CRITERIA,
    EXT_HEARTBEAT_PERIOD,
    EXT_PAYLOAD_CONTENT,
    backport_subscription,
)


def _request(**changes: Any) -> SubscriptionRequest:
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "alerts",
        "criteria": CARDIAC_REHAB_ALERT_TOPIC,
        "channel": {"type": "rest-hook", "endpoint": "https://engine/hook", "payload": "application/fhir+json"},
    }
    body.update(changes)
    return SubscriptionRequest.model_validate(body)


def _terms(request: SubscriptionRequest) -> Any:
    return terms(request, default_content="id-only", default_heartbeat_s=60, default_timeout_s=10)


def test_our_own_backport_subscription_is_accepted_as_a_request() -> None:
    ours = backport_subscription(
        subscription_id="x",
        endpoint="https://engine/hook",
        content="full-resource",
        heartbeat_period_s=5,
        filter_criteria=["DetectedIssue?patient=abc"],
        headers=["X-Ward: 7"],
    )
    asked = _terms(SubscriptionRequest.model_validate_json(to_json_bytes(ours)))
    assert (asked.content, asked.heartbeat_period_s, asked.timeout_s) == ("full-resource", 5, 10)
    assert asked.filter_criteria == ("DetectedIssue?patient=abc",) and asked.headers == ("X-Ward: 7",)


def test_defaults_come_from_the_hospital_configuration() -> None:
    asked = _terms(_request())
    assert (asked.topic, asked.content, asked.heartbeat_period_s, asked.endpoint) == (
        CARDIAC_REHAB_ALERT_TOPIC,
        "id-only",
        60,
        "https://engine/hook",
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"criteria": "Observation?code=8867-4"}, "not a topic of this server"),
        (
            {"channel": {"type": "rest-hook", "endpoint": "https://e/h", "header": ["Authorization: Bearer x"]}},
            "credentials may not be sent",
        ),
        ({"channel": {"type": "rest-hook", "endpoint": "https://e/h", "header": ["no colon"]}}, "is not 'Name: value'"),
        (
            {
                "channel": {
                    "type": "rest-hook",
                    "endpoint": "https://e/h",
                    "_payload": {"extension": [{"url": EXT_PAYLOAD_CONTENT, "valueCode": "everything"}]},
                }
            },
            "payload content 'everything'",
        ),
        (
            {
                "channel": {
                    "type": "rest-hook",
                    "endpoint": "https://e/h",
                    "extension": [{"url": EXT_HEARTBEAT_PERIOD, "valueUnsignedInt": 0}],
                }
            },
            "positive valueUnsignedInt",
        ),
        (
            {"_criteria": {"extension": [{"url": EXT_FILTER_CRITERIA, "valueString": "Observation?patient=1"}]}},
            "filters by patient only",
        ),
        (
            {
                "criteria": CARDIAC_REHAB_SESSION_SUMMARY_TOPIC,
                "_criteria": {"extension": [{"url": EXT_FILTER_CRITERIA, "valueString": "DetectedIssue?patient=1"}]},
            },
            "'Bundle\\?patient=<Patient id>'",
        ),
    ],
)
def test_refusals_say_what_to_change(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(SubscriptionRequestError, match=reason):
        _terms(_request(**changes))


def test_other_channels_and_unknown_fields_are_refused_by_shape() -> None:
    with pytest.raises(ValidationError):
        _request(channel={"type": "websocket", "endpoint": "wss://e"})
    with pytest.raises(ValidationError):
        _request(channel={"type": "rest-hook", "endpoint": "https://e", "payload": "application/xml"})
    with pytest.raises(ValidationError):
        _request(secret="x")
