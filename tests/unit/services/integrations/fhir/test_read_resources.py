"""Resources of the read API: minimal Patient, searchset Bundles, FHIR search parameters, topics (validated)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.basic import Basic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from analytics.events import FeaturesV1
from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.patient import patient_resource
from services.integrations.fhir.search import SearchError, date_bounds, observation_kinds, observations, searchset
from services.integrations.fhir.subscriptions import SESSION_SUMMARY_TOPIC, TOPICS, topic_basic
from services.integrations.resolve import PatientFacts, fhir_patient_id


def test_minimal_patient_with_and_without_an_mrn_system() -> None:
    facts = PatientFacts(
        patient_id="sim-001", clinic_id="c", display_name="Ada B.", sex="female", birth_year=1958, mrn="MRN-1"
    )
    with_mrn = json.loads(to_json_bytes(patient_resource(facts, mrn_system="urn:oid:1.2.3")))
    Patient.model_validate(with_mrn)
    assert with_mrn["id"] == fhir_patient_id("sim-001")
    assert [i["value"] for i in with_mrn["identifier"]] == ["sim-001", "MRN-1"]
    assert with_mrn["identifier"][1]["type"]["coding"][0]["code"] == "MR"
    assert (with_mrn["gender"], with_mrn["birthDate"], with_mrn["name"][0]["text"]) == ("female", "1958", "Ada B.")
    without = json.loads(to_json_bytes(patient_resource(facts)))
    assert [i["value"] for i in without["identifier"]] == ["sim-001"]


def test_date_bounds_make_a_half_open_range() -> None:
    t = datetime(2026, 3, 1, 10, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    assert date_bounds(["ge2026-03-01T10:00:00Z", "lt2026-03-01T11:00:00+00:00"]) == (t, t + timedelta(hours=1))
    assert date_bounds(["gt2026-03-01T10:00:00Z", "le2026-03-01T10:00:00Z"]) == (t + tick, t + tick)
    assert date_bounds([]) == (None, None)
    for bad in ("2026-03-01T10:00:00Z", "ge2026-03-01T10:00:00", "eq2026-03-01T10:00:00Z", "geyesterday"):
        with pytest.raises(SearchError, match="instant with offset"):
            date_bounds([bad])


def test_code_tokens_select_observation_kinds() -> None:
    assert observation_kinds([]) == {"hr", "sdnn", "rmssd"}
    assert observation_kinds(["http://loinc.org|8867-4"]) == {"hr"}
    assert observation_kinds(["80404-7,rmssd"]) == {"sdnn", "rmssd"}
    assert observation_kinds(["unknown"]) == frozenset()


def test_observations_and_searchset_validate(patient, strap, gateway) -> None:
    seconds = [
        FeaturesV1(
            patient_id="pat-001",
            t_s=1_714_557_600 + i,
            computed_time_ns=0,
            hr_bpm=100.0 + i,
            sdnn_ms=40.0 if i else None,
            rmssd_ms=20.0,
        )
        for i in range(3)
    ]
    found = observations(seconds, frozenset({"hr", "sdnn"}), patient=patient, strap=strap, gateway=gateway)
    assert [o.code.coding[0].code for o in found] == ["8867-4", "8867-4", "80404-7", "8867-4", "80404-7"]
    bundle = searchset(
        found,
        base_url="https://rehab.example/fhir/",
        self_url="https://x/q",
        now_ns=10**18,
        next_url="https://x/q?_offset=3",
    )
    wire = json.loads(to_json_bytes(bundle))
    Bundle.model_validate(wire)
    assert wire["entry"][0]["fullUrl"] == f"https://rehab.example/fhir/Observation/{found[0].id}"
    assert [link["relation"] for link in wire["link"]] == ["self", "next"]
    empty = json.loads(to_json_bytes(searchset([], base_url="b", self_url="s", now_ns=1)))
    assert "entry" not in empty and empty["type"] == "searchset"


def test_both_topics_validate_and_name_their_resource() -> None:
    assert len(TOPICS) == 2
    for topic in TOPICS.values():
        basic = json.loads(to_json_bytes(topic_basic(topic)))
        Basic.model_validate(basic)
        assert {"url": topic.url} in [{"url": e.get("valueUri")} for e in basic["extension"]]
    session = json.loads(to_json_bytes(topic_basic(SESSION_SUMMARY_TOPIC)))
    assert session["id"] == "cardiac-rehab-session-summary"
