"""One internal alert model mapped to every outbound priority and alert-kind vocabulary (CLINICAL.md section 3).

Tier to priority (our tiers come from CLINICAL.md 2.3; who must act decides the priority):

========== ================ ============ ======================= ========================
tier       priority (R6     ACM OBX-8 /  DetectedIssue.severity  Communication.priority
           DeviceAlert      facet 6      (R4, required binding)  (R4 request-priority)
           shaped)
========== ================ ============ ======================= ========================
urgent     high             PH           high                    stat
nurse      medium           PM           moderate                urgent
patient_cue low             PL           low                     routine
(none)     info             PN           low                     routine
========== ================ ============ ======================= ========================

``info`` exists for completeness of the DeviceAlert-shaped scale; no tier maps to it today.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from analytics.events import AlertV1, Tier
from services.integrations import codes
from services.integrations.codes import Code


class AlertPriority(StrEnum):
    """Priorities shaped after R6 DeviceAlert.priority (codes.PROJECT_ALERT_PRIORITY_SYSTEM)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


TIER_PRIORITY: Final[dict[Tier, AlertPriority]] = {
    "urgent": AlertPriority.HIGH,
    "nurse": AlertPriority.MEDIUM,
    "patient_cue": AlertPriority.LOW,
}

# IHE PCD ACM alert priority (OBX-8 of the alert-type facet and facet 6): PH high, PM medium, PL low,
# PN no priority (information signal). CLINICAL.md section 3; ACM supplement section on OBX-8.
ACM_PRIORITY: Final[dict[AlertPriority, str]] = {
    AlertPriority.HIGH: "PH",
    AlertPriority.MEDIUM: "PM",
    AlertPriority.LOW: "PL",
    AlertPriority.INFO: "PN",
}

# R4 DetectedIssue.severity, required binding http://hl7.org/fhir/detectedissue-severity (high|moderate|low).
DETECTED_ISSUE_SEVERITY: Final[dict[AlertPriority, str]] = {
    AlertPriority.HIGH: "high",
    AlertPriority.MEDIUM: "moderate",
    AlertPriority.LOW: "low",
    AlertPriority.INFO: "low",
}

# R4 Communication.priority, required binding http://hl7.org/fhir/request-priority (routine|urgent|asap|stat).
COMMUNICATION_PRIORITY: Final[dict[AlertPriority, str]] = {
    AlertPriority.HIGH: "stat",
    AlertPriority.MEDIUM: "urgent",
    AlertPriority.LOW: "routine",
    AlertPriority.INFO: "routine",
}

AlertKind = Literal["physiological", "technical"]
# IHE PCD ACM alert type (OBX-8 of the alert-type facet and facet 7): SP physiological, ST technical.
ACM_ALERT_TYPE: Final[dict[AlertKind, str]] = {"physiological": "SP", "technical": "ST"}

# Rules that report loss of monitoring rather than physiology (CLINICAL.md 2.3: "technical inability to
# monitor"; section 5: stale data and lead-off are technical alarms). Names must match the analytics rule
# registry; a rule missing here is reported as physiological, which keeps it flowing but mislabels it.
DEFAULT_TECHNICAL_RULES: Final = frozenset({"stale_signal", "signal_lost", "no_contact", "lead_off"})


@dataclass(frozen=True, slots=True)
class AlertCoding:
    """How one alert is identified on the wire: MDC event, ACM kind, abnormality, and what it is about."""

    kind: AlertKind
    event: Code
    # OBX-8 abnormality flag (HL7 table 0078): H above, L below, A abnormal without direction; None: technical.
    abnormality: Literal["H", "L", "A"] | None
    # heart_rate: the alert is about the heart-rate metric; device: about the strap / monitoring itself.
    source: Literal["heart_rate", "device"]


def priority_of(tier: Tier) -> AlertPriority:
    return TIER_PRIORITY[tier]


def classify(alert: AlertV1, technical_rules: frozenset[str] = DEFAULT_TECHNICAL_RULES) -> AlertCoding:
    """Map an alert to its coding; numeric rules are heart-rate rules (CLINICAL.md 2.3 thresholds are all HR)."""
    if alert.rule in technical_rules:
        return AlertCoding(kind="technical", event=codes.MDC_EVT_ALARM, abnormality=None, source="device")
    if alert.value is not None and alert.threshold is not None and alert.value != alert.threshold:
        above = alert.value > alert.threshold
        return AlertCoding(
            kind="physiological",
            event=codes.MDC_EVT_HI if above else codes.MDC_EVT_LO,
            abnormality="H" if above else "L",
            source="heart_rate",
        )
    source: Literal["heart_rate", "device"] = "heart_rate" if alert.value is not None else "device"
    return AlertCoding(kind="physiological", event=codes.MDC_EVT_ALARM, abnormality="A", source=source)


def rule_code(rule: str) -> Code:
    """The alert rule as a project-local code (rules have no standard code)."""
    token = "-".join(rule.split())
    return Code(codes.PROJECT_CODE_SYSTEM, f"alert-rule-{token}", f"Alert rule {rule}")
