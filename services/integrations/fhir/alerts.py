"""An alert lifecycle step (``alerts.v1``) as FHIR R4 DetectedIssue (the alert record) + Communication (its
delivery), the R4 pattern CLINICAL.md section 3 names until R6 DeviceAlert.

- ``DetectedIssue.id`` is stable for the episode (from ``alert_id``), so raised -> updated -> cleared update
  one record (PUT). ``identifiedPeriod`` is open while the alert is active and closed when it clears.
  R4 DetectedIssue.status uses ObservationStatus: ``preliminary`` while active (the issue may still change),
  ``final`` once cleared (the episode is complete). R4 has no "resolved" state; the closed period says it.
- ``Communication.id`` is per lifecycle step (from ``alert_id:revision``): one delivery record per message.
- No ``author``: the alert is identified by our analytics, not by the strap, and the service has no Device
  resource of its own yet; naming the strap would misattribute it.
- Priority: see :mod:`services.integrations.alerting` (DeviceAlert-shaped code in a project extension,
  ``DetectedIssue.severity``, ``Communication.priority``).
- Escalation (the alert stayed unacknowledged and went to the charge nurse, then to the hospital channel) is an
  action taken about the issue, which R4 records as ``DetectedIssue.mitigation`` (action, date): one entry with the
  project code ``escalated-level-<n>`` and the time of the escalation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.detectedissue import DetectedIssue

from analytics.events import AlertV1
from services.integrations import alerting, codes
from services.integrations.context import PatientContext
from services.integrations.fhir.common import (
    Json,
    coding,
    concept,
    identifier,
    patient_reference,
    validated,
)
from services.integrations.ids import resource_id
from services.integrations.timestamps import fhir_instant


@dataclass(frozen=True, slots=True)
class AlertEscalation:
    """How far an alert was escalated (1 charge nurse, 2 hospital channel / on-call, 3 emergency) and when."""

    level: int
    at_ns: int


ESCALATION_LEVELS: Final[dict[int, str]] = {
    1: "charge nurse",
    2: "on-call physician (hospital channel)",
    3: "emergency services",
}


def escalation_code(level: int) -> codes.Code:
    return codes.Code(
        codes.PROJECT_CODE_SYSTEM, f"escalated-level-{level}", f"Escalated to {ESCALATION_LEVELS.get(level, level)}"
    )


@dataclass(frozen=True, slots=True)
class AlertResources:
    """The two resources one alert lifecycle step produces."""

    detected_issue: DetectedIssue
    communication: Communication


def detected_issue_id(alert_id: str) -> str:
    return resource_id("detectedissue", alert_id)


def _detected_issue(
    alert: AlertV1, patient: PatientContext, raised_ns: int | None, escalation: AlertEscalation | None
) -> Json:
    priority = alerting.priority_of(alert.tier)
    alert_coding = alerting.classify(alert)
    start_ns = alert.t_ns if alert.event == "raised" else raised_ns
    period: Json = {} if start_ns is None else {"start": fhir_instant(start_ns)}
    if alert.event == "cleared":
        period["end"] = fhir_instant(alert.t_ns)
    data: Json = {
        "resourceType": "DetectedIssue",
        "id": detected_issue_id(alert.alert_id),
        "extension": [
            {
                "url": codes.PROJECT_ALERT_PRIORITY_EXTENSION,
                "valueCoding": {"system": codes.PROJECT_ALERT_PRIORITY_SYSTEM, "code": priority.value},
            }
        ],
        "identifier": [identifier(codes.PROJECT_ALERT_ID_SYSTEM, alert.alert_id)],
        "status": "final" if alert.event == "cleared" else "preliminary",
        "code": concept(alerting.rule_code(alert.rule), alert_coding.event, text=alert.message),
        "severity": alerting.DETECTED_ISSUE_SEVERITY[priority],
        "patient": patient_reference(patient),
        "detail": alert.message,
    }
    if period:
        data["identifiedPeriod"] = period
    if alert_coding.source == "heart_rate":
        data["evidence"] = [{"code": [concept(codes.MDC_ECG_HEART_RATE)]}]
    if escalation is not None and escalation.level > 0:
        data["mitigation"] = [
            {"action": concept(escalation_code(escalation.level)), "date": fhir_instant(escalation.at_ns)}
        ]
    return data


def _communication(alert: AlertV1, patient: PatientContext) -> Json:
    priority = alerting.priority_of(alert.tier)
    step = f"{alert.alert_id}:{alert.revision}"
    text = f"[{alert.event}] {alert.message}"
    if alert.value is not None:
        limit = "" if alert.threshold is None else f", threshold {alert.threshold:g}"
        text += f" (value {alert.value:g}{limit})"
    return {
        "resourceType": "Communication",
        "id": resource_id("communication", step),
        "identifier": [identifier(codes.PROJECT_MESSAGE_ID_SYSTEM, f"alert:{step}")],
        "status": "completed",
        "category": [
            {"coding": [{"system": codes.COMMUNICATION_CATEGORY, "code": "alert", "display": "Alert"}]},
        ],
        "priority": alerting.COMMUNICATION_PRIORITY[priority],
        "subject": patient_reference(patient),
        "about": [{"reference": f"DetectedIssue/{detected_issue_id(alert.alert_id)}"}],
        "sent": fhir_instant(alert.t_ns),
        "payload": [{"contentString": text}],
        "reasonCode": [{"coding": [coding(alerting.rule_code(alert.rule))]}],
    }


def alert_resources(
    alert: AlertV1,
    *,
    patient: PatientContext,
    raised_ns: int | None = None,
    escalation: AlertEscalation | None = None,
) -> AlertResources:
    """DetectedIssue + Communication for one lifecycle step.

    ``raised_ns`` is when the episode was raised; pass it for ``updated``/``cleared`` steps so the updated
    DetectedIssue keeps its start (``AlertV1`` carries only the step's own time). ``escalation``, when the alert
    was escalated, becomes the DetectedIssue's ``mitigation``.
    """
    return AlertResources(
        detected_issue=validated(DetectedIssue, _detected_issue(alert, patient, raised_ns, escalation)),
        communication=validated(Communication, _communication(alert, patient)),
    )
