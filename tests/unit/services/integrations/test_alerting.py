"""Alert classification and the tier -> priority tables."""

from __future__ import annotations

import pytest

from services.integrations import alerting
from services.integrations.alerting import AlertPriority


@pytest.mark.parametrize(
    ("tier", "priority", "acm"),
    [
        ("urgent", AlertPriority.HIGH, "PH"),
        ("nurse", AlertPriority.MEDIUM, "PM"),
        ("patient_cue", AlertPriority.LOW, "PL"),
    ],
)
def test_tier_priorities(tier: str, priority: AlertPriority, acm: str) -> None:
    assert alerting.priority_of(tier) is priority  # type: ignore[arg-type]
    assert alerting.ACM_PRIORITY[priority] == acm


def test_every_priority_maps_to_every_vocabulary() -> None:
    for table in (alerting.ACM_PRIORITY, alerting.DETECTED_ISSUE_SEVERITY, alerting.COMMUNICATION_PRIORITY):
        assert set(table) == set(AlertPriority)
    assert alerting.ACM_PRIORITY[AlertPriority.INFO] == "PN"


def test_direction_of_the_threshold_picks_hi_or_lo(make_alert) -> None:
    high = alerting.classify(make_alert(value=150.0, threshold=140.0))
    low = alerting.classify(make_alert(value=45.0, threshold=50.0))
    assert (high.event.code, high.abnormality, high.kind, high.source) == ("196648", "H", "physiological", "heart_rate")
    assert (low.event.code, low.abnormality) == ("196670", "L")


def test_technical_rules_and_valueless_alerts(make_alert) -> None:
    technical = alerting.classify(make_alert(rule="stale_signal", value=None, threshold=None))
    assert (technical.kind, technical.event.code, technical.abnormality, technical.source) == (
        "technical", "196616", None, "device",
    )  # fmt: skip
    rhythm = alerting.classify(make_alert(rule="rhythm_irregular", value=None, threshold=None))
    assert (rhythm.kind, rhythm.abnormality, rhythm.source) == ("physiological", "A", "device")


def test_rule_codes_are_project_local_and_whitespace_free() -> None:
    code = alerting.rule_code("hr above ceiling")
    assert code.code == "alert-rule-hr-above-ceiling"
    assert code.system.startswith("http://cardiorehab.example/fhir/CodeSystem/")
