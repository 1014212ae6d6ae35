"""DetectedIssue + Communication across an alert's lifecycle, and the priority mapping."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.detectedissue import DetectedIssue

from services.integrations import codes
from services.integrations.fhir.alerts import alert_resources
from services.integrations.fhir.common import to_json_bytes
from services.integrations.ids import resource_id

# Required bindings in R4 that fhir.resources does not enforce by value.
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown"}  # fmt: skip
DETECTED_ISSUE_SEVERITY = {"high", "moderate", "low"}
EVENT_STATUS = {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
                "entered-in-error", "unknown"}  # fmt: skip
REQUEST_PRIORITY = {"routine", "urgent", "asap", "stat"}


def _wire(alert, patient, raised_ns=None) -> tuple[dict, dict]:
    built = alert_resources(alert, patient=patient, raised_ns=raised_ns)
    issue_wire = to_json_bytes(built.detected_issue)
    comm_wire = to_json_bytes(built.communication)
    DetectedIssue.model_validate_json(issue_wire)
    Communication.model_validate_json(comm_wire)
    issue, comm = json.loads(issue_wire), json.loads(comm_wire)
    assert issue["status"] in OBSERVATION_STATUS
    assert issue["severity"] in DETECTED_ISSUE_SEVERITY
    assert comm["status"] in EVENT_STATUS
    assert comm["priority"] in REQUEST_PRIORITY
    return issue, comm


def test_raised_alert_is_an_open_preliminary_issue_with_a_delivery_record(make_alert, patient) -> None:
    issue, comm = _wire(make_alert("raised"), patient)
    assert issue["status"] == "preliminary"
    assert issue["identifiedPeriod"] == {"start": "2024-05-01T10:00:00.123000Z"}
    assert issue["severity"] == "high"
    assert issue["extension"][0]["valueCoding"] == {"system": codes.PROJECT_ALERT_PRIORITY_SYSTEM, "code": "high"}
    assert {c["code"] for c in issue["code"]["coding"]} == {"alert-rule-hr_above_ceiling", "196648"}
    assert issue["patient"]["reference"] == "Patient/example-patient-1"
    assert comm["about"] == [{"reference": f"DetectedIssue/{issue['id']}"}]
    assert comm["category"][0]["coding"][0]["code"] == "alert"
    assert comm["priority"] == "stat"
    assert comm["payload"][0]["contentString"].startswith("[raised] Heart rate 152")
    assert "threshold 140" in comm["payload"][0]["contentString"]


def test_lifecycle_updates_one_issue_and_adds_one_communication_per_step(make_alert, patient) -> None:
    raised = make_alert("raised")
    steps = [raised, make_alert("updated", revision=1, t_ns=raised.t_ns + 10**10),
             make_alert("cleared", revision=2, t_ns=raised.t_ns + 6 * 10**10)]  # fmt: skip
    results = [_wire(step, patient, raised_ns=raised.t_ns) for step in steps]
    assert len({issue["id"] for issue, _ in results}) == 1
    assert len({comm["id"] for _, comm in results}) == 3
    cleared_issue = results[-1][0]
    assert cleared_issue["status"] == "final"
    assert cleared_issue["identifiedPeriod"] == {
        "start": "2024-05-01T10:00:00.123000Z",
        "end": "2024-05-01T10:01:00.123000Z",
    }
    assert results[1][0]["status"] == "preliminary"
    assert results[1][0]["identifiedPeriod"] == {"start": "2024-05-01T10:00:00.123000Z"}
    assert cleared_issue["id"] == resource_id("detectedissue", raised.alert_id)


@pytest.mark.parametrize(
    ("tier", "severity", "priority", "comm_priority"),
    [("urgent", "high", "high", "stat"), ("nurse", "moderate", "medium", "urgent"),
     ("patient_cue", "low", "low", "routine")],
)  # fmt: skip
def test_tiers_map_to_devicealert_shaped_priorities(make_alert, patient, tier, severity, priority, comm_priority
                                                 ) -> None:  # fmt: skip
    issue, comm = _wire(make_alert(tier=tier), patient)
    assert issue["severity"] == severity
    assert issue["extension"][0]["valueCoding"]["code"] == priority
    assert comm["priority"] == comm_priority


def test_technical_alert_has_no_heart_rate_evidence(make_alert, patient) -> None:
    issue, _ = _wire(make_alert(rule="signal_lost", value=None, threshold=None), patient)
    assert "evidence" not in issue
    assert {c["code"] for c in issue["code"]["coding"]} == {"alert-rule-signal_lost", "196616"}
