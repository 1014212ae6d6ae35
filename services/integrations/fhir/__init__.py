"""FHIR R4 builders (validated with fhir.resources R4B models, wire-identical to R4 for these resources)."""

from services.integrations.fhir.alerts import AlertResources, alert_resources, detected_issue_id
from services.integrations.fhir.common import outbound, to_json_bytes
from services.integrations.fhir.devices import phd_device, phg_device
from services.integrations.fhir.observations import heart_rate_observation, hrv_observations, rr_series_observation
from services.integrations.fhir.session import session_summary_bundle
from services.integrations.fhir.subscription_state import NotificationType, SubscriptionState, SubscriptionStatus
from services.integrations.fhir.subscriptions import (
    CARDIAC_REHAB_ALERT_TOPIC,
    NotificationEvent,
    PayloadContent,
    backport_subscription,
    cardiac_rehab_alert_topic,
    notification_bundle,
    status_bundle,
)

__all__ = [
    "CARDIAC_REHAB_ALERT_TOPIC",
    "AlertResources",
    "NotificationEvent",
    "NotificationType",
    "PayloadContent",
    "SubscriptionState",
    "SubscriptionStatus",
    "alert_resources",
    "backport_subscription",
    "cardiac_rehab_alert_topic",
    "detected_issue_id",
    "heart_rate_observation",
    "hrv_observations",
    "notification_bundle",
    "outbound",
    "phd_device",
    "phg_device",
    "rr_series_observation",
    "session_summary_bundle",
    "status_bundle",
    "to_json_bytes",
]
