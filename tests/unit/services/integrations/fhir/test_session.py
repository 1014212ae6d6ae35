"""Session summary Bundle: one panel plus one Observation per figure, units, codes, validation."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from services.integrations import codes
from services.integrations.errors import BuildError
from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.session import session_summary_bundle


def _wire(bundle: Bundle) -> dict:
    wire = to_json_bytes(bundle)
    parsed = Bundle.model_validate_json(wire)
    for entry in parsed.entry:
        Observation.model_validate(entry.resource.model_dump(mode="json"))
    return json.loads(wire)


def _by_code(data: dict) -> dict[str, dict]:
    result = {}
    for entry in data["entry"]:
        for coding in entry["resource"]["code"]["coding"]:
            result[coding["code"]] = entry
    return result


def test_summary_is_a_collection_of_a_panel_and_one_observation_per_figure(summary, patient, strap, gateway) -> None:
    data = _wire(session_summary_bundle(summary, patient=patient, strap=strap, gateway=gateway))
    assert data["type"] == "collection"
    panel = data["entry"][0]["resource"]
    assert panel["code"]["coding"][0]["code"] == "session-summary"
    members = {m["reference"] for m in panel["hasMember"]}
    assert members == {e["fullUrl"] for e in data["entry"][1:]}
    assert len(members) == 8  # duration, time in band, peak, mean, 2 TRIMPs, HRR1, HRR2
    assert panel["note"] == [{"text": "flags: beta_blocker"}]

    by_code = _by_code(data)
    duration = by_code["55411-3"]["resource"]
    assert duration["valueQuantity"]["value"] == 40.0
    assert duration["valueQuantity"]["code"] == "min"
    assert by_code["time-in-band-pct"]["resource"]["valueQuantity"]["code"] == "%"
    assert by_code["peak-hr"]["resource"]["valueQuantity"] == {
        "value": 142.0, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min",
    }  # fmt: skip
    assert by_code["trimp-banister"]["resource"]["valueQuantity"]["code"] == "{TRIMP}"
    assert by_code["hrr1"]["resource"]["valueQuantity"]["value"] == 17.0
    for entry in data["entry"]:
        resource = entry["resource"]
        assert resource["status"] == "final"
        assert resource["category"][0]["coding"][0]["code"] == "activity"
        assert resource["effectivePeriod"] == {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T10:40:00Z"}
    project_only = {"time-in-band-pct", "peak-hr", "mean-hr", "trimp-banister", "trimp-edwards", "hrr1", "hrr2"}
    for code in project_only:
        assert by_code[code]["resource"]["code"]["coding"][0]["system"] == codes.PROJECT_CODE_SYSTEM


def test_missing_figures_are_left_out_not_zeroed(summary, patient, strap, gateway) -> None:
    sparse = summary.__class__(
        session_id="sess-43", patient_id="pat-001", event="summary", t_ns=summary.t_ns, started_ns=summary.started_ns,
        duration_s=600.0,
    )  # fmt: skip
    data = _wire(session_summary_bundle(sparse, patient=patient, strap=strap, gateway=gateway))
    assert len(data["entry"]) == 2
    assert "end" not in data["entry"][0]["resource"]["effectivePeriod"]


def test_only_summary_events_become_a_summary(summary, patient, strap, gateway) -> None:
    start = summary.__class__(session_id="s", patient_id="pat-001", event="start", t_ns=1, started_ns=1)
    with pytest.raises(BuildError, match="not a summary"):
        session_summary_bundle(start, patient=patient, strap=strap, gateway=gateway)


def test_summary_bundle_is_deterministic(summary, patient, strap, gateway) -> None:
    one = session_summary_bundle(summary, patient=patient, strap=strap, gateway=gateway)
    two = session_summary_bundle(summary, patient=patient, strap=strap, gateway=gateway)
    assert to_json_bytes(one) == to_json_bytes(two)
