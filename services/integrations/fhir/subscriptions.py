"""Topic-based subscriptions on R4 (HL7 Subscriptions R5 Backport IG STU 1.1): the topic, the Subscription, the
notification Bundle and the ``$status`` Bundle.

Topic canonicals: :data:`CARDIAC_REHAB_ALERT_TOPIC` fires when a cardiorehab DetectedIssue (alert record, see
alerts.py) is created or updated: raised, updated, escalated and cleared alerts.
:data:`CARDIAC_REHAB_SESSION_SUMMARY_TOPIC` fires when a session-summary Bundle (session.py) is created. Both filter
by ``patient``. A subscription names one topic in ``criteria``. R4 has no
SubscriptionTopic resource, so the topic is published as a ``Basic`` resource carrying the cross-version
SubscriptionTopic extensions, like the IG's ``Basic-r4-encounter-complete`` example.

Profiles and extensions (IG ``BackportSubscription.fsh``, ``BackportNotificationR4.fsh``):
``backport-subscription`` on Subscription; ``backport-heartbeat-period``, ``backport-timeout``,
``backport-max-count`` on ``channel``; ``backport-payload-content`` on ``channel.payload``;
``backport-filter-criteria`` on ``criteria``; ``backport-subscription-notification-r4`` on the history Bundle,
whose first entry is a ``backport-subscription-status-r4`` Parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from fhir.resources.R4B.basic import Basic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.subscription import Subscription

from services.integrations import codes
from services.integrations.errors import BuildError
from services.integrations.fhir.common import Json, validated
from services.integrations.fhir.subscription_state import NotificationType, SubscriptionState
from services.integrations.ids import resource_id
from services.integrations.timestamps import fhir_instant

BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
PROFILE_BACKPORT_SUBSCRIPTION: Final = f"{BACKPORT}/backport-subscription"
PROFILE_BACKPORT_NOTIFICATION_R4: Final = f"{BACKPORT}/backport-subscription-notification-r4"
PROFILE_BACKPORT_STATUS_R4: Final = f"{BACKPORT}/backport-subscription-status-r4"
EXT_HEARTBEAT_PERIOD: Final = f"{BACKPORT}/backport-heartbeat-period"
EXT_TIMEOUT: Final = f"{BACKPORT}/backport-timeout"
EXT_MAX_COUNT: Final = f"{BACKPORT}/backport-max-count"
EXT_PAYLOAD_CONTENT: Final = f"{BACKPORT}/backport-payload-content"
EXT_FILTER_CRITERIA: Final = f"{BACKPORT}/backport-filter-criteria"

# Project topic (project canonical base, see codes.py).
CARDIAC_REHAB_ALERT_TOPIC: Final = f"{codes.PROJECT_CANONICAL_BASE}/SubscriptionTopic/cardiac-rehab-alert"
CARDIAC_REHAB_SESSION_SUMMARY_TOPIC: Final = (
    f"{codes.PROJECT_CANONICAL_BASE}/SubscriptionTopic/cardiac-rehab-session-summary"
)
TOPIC_VERSION: Final = "1.0.0"

# Cross-version extensions for describing a SubscriptionTopic on an R4 Basic (IG example Basic-r4-encounter-
# complete: R5 "5.0" for the metadata, R4B "4.3" for the trigger/filter/shape backbones).
_XV5: Final = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic"
_XV43: Final = "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic"

PayloadContent = Literal["empty", "id-only", "full-resource"]


@dataclass(frozen=True, slots=True)
class TopicDefinition:
    """One topic this server offers: what it is about and which resource its notifications focus on."""

    basic_id: str
    url: str
    name: str
    title: str
    description: str
    resource: str  # the focus resource type
    trigger: str
    interactions: tuple[str, ...]
    filter_description: str


ALERT_TOPIC: Final = TopicDefinition(
    basic_id="cardiac-rehab-alert",
    url=CARDIAC_REHAB_ALERT_TOPIC,
    name="CardiacRehabAlert",
    title="Cardiac rehabilitation monitoring alert",
    description="A home cardiac-rehabilitation alert was raised, updated, escalated or cleared "
    "(DetectedIssue created or updated).",
    resource="DetectedIssue",
    trigger="Alert record created or updated.",
    interactions=("create", "update"),
    filter_description="Alerts of one patient.",
)
SESSION_SUMMARY_TOPIC: Final = TopicDefinition(
    basic_id="cardiac-rehab-session-summary",
    url=CARDIAC_REHAB_SESSION_SUMMARY_TOPIC,
    name="CardiacRehabSessionSummary",
    title="Cardiac rehabilitation session summary",
    description="A home cardiac-rehabilitation exercise session ended and its summary (a collection Bundle of "
    "Observations) is available.",
    resource="Bundle",
    trigger="Session summary Bundle created.",
    interactions=("create",),
    filter_description="Session summaries of one patient.",
)
TOPICS: Final[dict[str, TopicDefinition]] = {t.url: t for t in (ALERT_TOPIC, SESSION_SUMMARY_TOPIC)}


def topic_basic(topic: TopicDefinition) -> Basic:
    """A topic definition, for topic discovery on our ``/fhir`` endpoint (R4: a Basic resource)."""
    data: Json = {
        "resourceType": "Basic",
        "id": topic.basic_id,
        "extension": [
            {"url": f"{_XV5}.url", "valueUri": topic.url},
            {"url": f"{_XV5}.version", "valueString": TOPIC_VERSION},
            {"url": f"{_XV5}.name", "valueString": topic.name},
            {"url": f"{_XV5}.title", "valueString": topic.title},
            {"url": f"{_XV5}.description", "valueMarkdown": topic.description},
            {
                "url": f"{_XV43}.resourceTrigger",
                "extension": [
                    {"url": "description", "valueMarkdown": topic.trigger},
                    {"url": "resource", "valueUri": f"http://hl7.org/fhir/StructureDefinition/{topic.resource}"},
                    *({"url": "supportedInteraction", "valueCode": i} for i in topic.interactions),
                ],
            },
            {
                "url": f"{_XV43}.canFilterBy",
                "extension": [
                    {"url": "description", "valueMarkdown": topic.filter_description},
                    {"url": "resource", "valueUri": topic.resource},
                    {"url": "filterParameter", "valueString": "patient"},
                ],
            },
            {
                "url": f"{_XV43}.notificationShape",
                "extension": [
                    {"url": "resource", "valueUri": topic.resource},
                    {"url": "include", "valueString": f"{topic.resource}:patient"},
                ],
            },
        ],
        "modifierExtension": [{"url": f"{_XV5}.status", "valueCode": "active"}],
        "code": {"coding": [{"system": "http://hl7.org/fhir/fhir-types", "code": "SubscriptionTopic"}]},
    }
    return validated(Basic, data)


def cardiac_rehab_alert_topic() -> Basic:
    """The alert topic definition (a Basic resource on R4)."""
    return topic_basic(ALERT_TOPIC)


def backport_subscription(
    *,
    subscription_id: str,
    endpoint: str,
    content: PayloadContent,
    heartbeat_period_s: int | None = None,
    timeout_s: int | None = None,
    max_count: int | None = None,
    filter_criteria: Sequence[str] = (),
    headers: Sequence[str] = (),
    status: Literal["requested", "active", "error", "off"] = "requested",
    end_ns: int | None = None,
    reason: str = "Cardiac rehabilitation alerts for the hospital's monitored patients",
    topic: str = CARDIAC_REHAB_ALERT_TOPIC,
) -> Subscription:
    """A rest-hook ``backport-subscription`` on ``topic`` (default :data:`CARDIAC_REHAB_ALERT_TOPIC`).

    ``headers`` end up in the resource (``channel.header``) and so in every read of it: pass only non-secret
    headers; the delivery client adds credentials (``config.FhirEndpoint.bearer_token``) at send time.
    """
    if heartbeat_period_s is not None and heartbeat_period_s <= 0:
        raise BuildError("heartbeat_period_s must be positive")
    channel_ext: list[Json] = []
    if heartbeat_period_s is not None:
        channel_ext.append({"url": EXT_HEARTBEAT_PERIOD, "valueUnsignedInt": heartbeat_period_s})
    if timeout_s is not None:
        channel_ext.append({"url": EXT_TIMEOUT, "valueUnsignedInt": timeout_s})
    if max_count is not None:
        channel_ext.append({"url": EXT_MAX_COUNT, "valuePositiveInt": max_count})
    channel: Json = {
        "type": "rest-hook",
        "endpoint": endpoint,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": EXT_PAYLOAD_CONTENT, "valueCode": content}]},
    }
    if channel_ext:
        channel["extension"] = channel_ext
    if headers:
        channel["header"] = list(headers)
    data: Json = {
        "resourceType": "Subscription",
        "id": subscription_id,
        "meta": {"profile": [PROFILE_BACKPORT_SUBSCRIPTION]},
        "status": status,
        "reason": reason,
        "criteria": topic,
        "channel": channel,
    }
    if filter_criteria:
        data["_criteria"] = {
            "extension": [{"url": EXT_FILTER_CRITERIA, "valueString": criterion} for criterion in filter_criteria]
        }
    if end_ns is not None:
        data["end"] = fhir_instant(end_ns)
    return validated(Subscription, data)


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """One event in a notification: its number (from :meth:`SubscriptionState.next_event`) and focus."""

    event_number: int
    timestamp_ns: int
    focus_type: str  # e.g. "DetectedIssue"
    focus_id: str
    resource: Resource | None = None  # the focus itself, for full-resource content


def _status_parameters(
    state: SubscriptionState, notification: NotificationType, events: Sequence[NotificationEvent], tag: str
) -> Json:
    parameters: list[Json] = [
        {"name": "subscription", "valueReference": {"reference": f"Subscription/{state.subscription_id}"}},
        {"name": "topic", "valueCanonical": state.topic},
        {"name": "status", "valueCode": state.status},
        {"name": "type", "valueCode": notification},
        # valueString, not an integer: the IG uses string because R4 has no int64 (BackportNotificationR4.fsh).
        {"name": "events-since-subscription-start", "valueString": str(state.events_since_start)},
    ]
    for event in events:
        parameters.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event.event_number)},
                    {"name": "timestamp", "valueInstant": fhir_instant(event.timestamp_ns)},
                    {"name": "focus", "valueReference": {"reference": f"{event.focus_type}/{event.focus_id}"}},
                ],
            }
        )
    return {
        "resourceType": "Parameters",
        "id": resource_id("subscription-status", f"{state.subscription_id}:{notification}:{tag}"),
        "meta": {"profile": [PROFILE_BACKPORT_STATUS_R4]},
        "parameter": parameters,
    }


def _focus_url(event: NotificationEvent, fhir_base_url: str | None) -> str:
    if fhir_base_url is not None:
        return f"{fhir_base_url.rstrip('/')}/{event.focus_type}/{event.focus_id}"
    try:
        return uuid.UUID(event.focus_id).urn
    except ValueError as exc:
        raise BuildError(f"focus id {event.focus_id!r} is not a UUID; pass fhir_base_url") from exc


def notification_bundle(
    state: SubscriptionState,
    notification: Literal["handshake", "heartbeat", "event-notification"],
    *,
    now_ns: int,
    content: PayloadContent = "id-only",
    events: Sequence[NotificationEvent] = (),
    fhir_base_url: str | None = None,
) -> Bundle:
    """A ``backport-subscription-notification-r4`` history Bundle; the status Parameters is the first entry.

    ``full-resource`` content adds each event's resource as a further entry (the focus must be supplied), with
    ``fullUrl`` ``{fhir_base_url}/{type}/{id}``, or ``urn:uuid:{id}`` without a base (our ids are UUIDs);
    ``id-only`` and ``empty`` carry the focus only as the reference inside ``notification-event``
    (``empty`` not even that).
    """
    if notification != "event-notification" and events:
        raise BuildError(f"a {notification} notification carries no events")
    if notification == "event-notification" and not events:
        raise BuildError("an event-notification needs at least one event")
    shown = () if content == "empty" else events
    tag = ",".join(str(e.event_number) for e in events) if events else str(now_ns)
    status = _status_parameters(state, notification, shown, tag)
    # A history Bundle's entries carry request and response (R4 Bundle invariants bdl-3, bdl-4).
    entries: list[Json] = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"Subscription/{state.subscription_id}/$status"},
            "response": {"status": "200"},
        }
    ]
    if content == "full-resource":
        for event in events:
            if event.resource is None:
                raise BuildError(f"full-resource notification for event {event.event_number} lacks the resource")
            entries.append(
                {
                    "fullUrl": _focus_url(event, fhir_base_url),
                    "resource": event.resource.model_dump(mode="json"),
                    "request": {"method": "PUT", "url": f"{event.focus_type}/{event.focus_id}"},
                    "response": {"status": "200"},
                }
            )
    data: Json = {
        "resourceType": "Bundle",
        "id": resource_id("notification", f"{state.subscription_id}:{notification}:{tag}"),
        "meta": {"profile": [PROFILE_BACKPORT_NOTIFICATION_R4]},
        "type": "history",
        "timestamp": fhir_instant(now_ns),
        "entry": entries,
    }
    return validated(Bundle, data)


def status_bundle(states: Sequence[SubscriptionState], *, now_ns: int) -> Bundle:
    """The ``$status`` operation result: a searchset Bundle with one ``query-status`` Parameters per subscription."""
    entries = []
    for state in states:
        status = _status_parameters(state, "query-status", (), str(now_ns))
        entries.append({"fullUrl": f"urn:uuid:{status['id']}", "resource": status, "search": {"mode": "match"}})
    data: Json = {
        "resourceType": "Bundle",
        "id": resource_id("status", f"{','.join(s.subscription_id for s in states)}:{now_ns}"),
        "type": "searchset",
        "timestamp": fhir_instant(now_ns),
        "total": len(entries),
        "entry": entries,
    }
    return validated(Bundle, data)
