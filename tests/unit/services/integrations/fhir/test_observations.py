"""Heart-rate, HRV and RR Observations: codes, units, links, determinism, and fhir.resources validation."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.observation import Observation

from services.integrations import codes
from services.integrations.errors import BuildError
from services.integrations.fhir.common import device_resource_id, to_json_bytes
from services.integrations.fhir.observations import (
    heart_rate_observation,
    hrv_observations,
    rr_series_observation,
)

# R4 ObservationStatus (required binding); fhir.resources checks the code's syntax, not its value set.
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown"}  # fmt: skip


def _roundtrip(observation: Observation) -> dict:
    """Serialise, validate the wire JSON again with fhir.resources, and return it as a dict."""
    wire = to_json_bytes(observation)
    Observation.model_validate_json(wire)
    data = json.loads(wire)
    assert data["status"] in OBSERVATION_STATUS
    return data


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def test_heart_rate_follows_the_r4_vital_signs_heartrate_profile(features, patient, strap, gateway) -> None:
    data = _roundtrip(heart_rate_observation(features, patient=patient, strap=strap, gateway=gateway))

    assert data["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/heartrate"]
    assert data["category"][0]["coding"][0]["code"] == "vital-signs"
    assert data["category"][0]["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/observation-category"
    assert _codes(data["code"]) == {("http://loinc.org", "8867-4"), ("urn:iso:std:iso:11073:10101", "147842")}
    assert data["valueQuantity"] == {
        "value": 131.5, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min",
    }  # fmt: skip
    assert data["effectiveDateTime"] == "2024-05-01T10:00:00Z"
    assert data["subject"]["reference"] == "Patient/example-patient-1"
    assert data["subject"]["identifier"] == {"system": patient.mrn_system, "value": "MRN-4711"}
    assert data["device"] == {"reference": f"Device/{device_resource_id(strap)}"}
    assert data["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice",
            "valueReference": {"reference": f"Device/{device_resource_id(gateway)}"},
        }
    ]


def test_prescribed_band_is_a_treatment_reference_range_and_drives_the_interpretation(
    features, patient, strap, gateway
) -> None:
    data = _roundtrip(heart_rate_observation(features, patient=patient, strap=strap, gateway=gateway))
    (band,) = data["referenceRange"]
    assert (band["low"]["value"], band["high"]["value"]) == (100.0, 130.0)
    assert band["type"]["coding"][0]["code"] == "treatment"
    assert data["interpretation"][0]["coding"][0]["code"] == "H"  # 131.5 > 130

    def flag(hr: float) -> str:
        obs = heart_rate_observation(
            features.__class__(**{**_fields(features), "hr_bpm": hr}), patient=patient, strap=strap, gateway=gateway
        )
        return obs.interpretation[0].coding[0].code

    assert [flag(95), flag(115), flag(135), flag(141)] == ["L", "N", "H", "HH"]


def _fields(struct: object) -> dict:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}  # type: ignore[attr-defined]


def test_same_features_give_the_same_observation_and_another_second_a_new_one(
    features, patient, strap, gateway
) -> None:
    first = heart_rate_observation(features, patient=patient, strap=strap, gateway=gateway)
    again = heart_rate_observation(features, patient=patient, strap=strap, gateway=gateway)
    later = heart_rate_observation(
        features.__class__(**{**_fields(features), "t_s": features.t_s + 1}), patient=patient, strap=strap,
        gateway=gateway,
    )  # fmt: skip
    assert to_json_bytes(first) == to_json_bytes(again)
    assert first.id != later.id


def test_features_without_heart_rate_cannot_become_an_observation(features, patient, strap, gateway) -> None:
    lost = features.__class__(**{**_fields(features), "hr_bpm": None, "signal": "lost"})
    with pytest.raises(BuildError, match="no heart rate"):
        heart_rate_observation(lost, patient=patient, strap=strap, gateway=gateway)


def test_patient_without_hospital_fhir_id_is_referenced_by_mrn_only(
    features, anonymous_patient, strap, gateway
) -> None:
    data = _roundtrip(heart_rate_observation(features, patient=anonymous_patient, strap=strap, gateway=gateway))
    assert "reference" not in data["subject"]
    assert data["subject"]["identifier"]["value"] == "MRN-0002"


def test_hrv_sdnn_uses_loinc_and_rmssd_the_project_code_system(features, patient, strap, gateway) -> None:
    sdnn, rmssd = (_roundtrip(o) for o in hrv_observations(features, patient=patient, strap=strap, gateway=gateway))
    assert _codes(sdnn["code"]) == {("http://loinc.org", "80404-7")}
    assert sdnn["valueQuantity"]["value"] == 38.0
    assert sdnn["valueQuantity"]["code"] == "ms"
    assert _codes(rmssd["code"]) == {(codes.PROJECT_CODE_SYSTEM, "rmssd")}
    assert rmssd["valueQuantity"]["value"] == 21.4
    assert sdnn["id"] != rmssd["id"]
    only_sdnn = features.__class__(**{**_fields(features), "rmssd_ms": None})
    assert len(hrv_observations(only_sdnn, patient=patient, strap=strap, gateway=gateway)) == 1


def test_rr_series_keeps_every_interval_in_order_as_mdc_147240_components(reading, patient, strap, gateway) -> None:
    data = _roundtrip(rr_series_observation(reading, patient=patient, strap=strap, gateway=gateway))
    assert ("urn:iso:std:iso:11073:10101", "147240") in _codes(data["code"])
    values = [c["valueQuantity"]["value"] for c in data["component"]]
    assert values == [468.75, 471.68, 465.82]
    assert all(_codes(c["code"]) == {("urn:iso:std:iso:11073:10101", "147240")} for c in data["component"])
    assert all(c["valueQuantity"]["code"] == "ms" for c in data["component"])
    assert data["effectiveDateTime"] == "2024-05-01T10:00:00.250000Z"


def test_reading_without_rr_is_refused(reading, patient, strap, gateway) -> None:
    empty = reading.__class__(**{**_fields(reading), "rr_ms": ()})
    with pytest.raises(BuildError, match="no RR"):
        rr_series_observation(empty, patient=patient, strap=strap, gateway=gateway)
