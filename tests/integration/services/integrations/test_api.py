"""Issue 8 through the real API: hospital configuration (clinic administrators; credentials only as references),
the ``/fhir`` read API (every resource validated with fhir.resources, scoped like the REST API), subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.patient import Patient

from services.integrations.fhir.alerts import detected_issue_id
from services.integrations.ids import resource_id
from services.integrations.resolve import fhir_patient_id
from tests.integration.services import world
from tests.integration.services.api_server import ApiUnderTest, api_under_test
from tests.integration.services.integrations.rig import CLINIC, hospital_body
from tests.support.stack import StackEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

HOOK = "https://engine.genhosp.example/fhir/hook"


@pytest.fixture(scope="module")
def api(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnderTest]:
    work: Path = tmp_path_factory.mktemp("integration-api")
    with api_under_test(stack, work) as running:
        yield running


def call(api: ApiUnderTest, method: str, path: str, role: str, **kwargs: Any) -> httpx.Response:
    with api.client() as http:
        return http.request(method, path, headers=api.headers(role), **kwargs)


def test_hospital_configuration_keeps_references_never_secrets(api: ApiUnderTest) -> None:
    base = f"/api/v1/clinics/{CLINIC}/hospitals"
    body = hospital_body(
        "genhosp",
        fhir={"rest_hook_url": HOOK, "bearer_token_ref": "file:/run/secrets/genhosp-hook"},
        mllp={"host": "engine.genhosp.example", "port": 6661},
        send_alerts_pcd04=True,
    )
    created = call(api, "POST", base, "clinic_admin", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["config"]["fhir"]["bearer_token_ref"] == "file:/run/secrets/genhosp-hook"
    assert call(api, "POST", base, "clinic_admin", json=body).status_code == 409

    refusals = {
        "a plain secret": {**body, "fhir": {"rest_hook_url": HOOK, "bearer_token": "s3cr3t"}},
        "a secret as reference": {**body, "fhir": {"rest_hook_url": HOOK, "bearer_token_ref": "s3cr3t"}},
        "plain http": {**body, "hospital_id": "h2", "fhir": {"rest_hook_url": "http://x/h", "bearer_token_ref": None}},
        "PCD-04 without MLLP": {**body, "hospital_id": "h3", "mllp": None},
    }
    for what, bad in refusals.items():
        r = call(api, "POST", base, "clinic_admin", json=bad)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), what
        assert "s3cr3t" not in r.text, f"{what}: the refusal echoes the secret"

    changed = call(api, "PUT", f"{base}/genhosp", "clinic_admin", json={**body, "alert_tiers": ["urgent"]})
    assert changed.status_code == 200 and changed.json()["config"]["alert_tiers"] == ["urgent"]
    assert call(api, "PUT", f"{base}/genhosp", "clinic_admin", json={**body, "hospital_id": "x"}).status_code == 422
    assert call(api, "GET", f"{base}/genhosp", "nurse").status_code == 403
    assert call(api, "GET", "/api/v1/clinics/other-clinic/hospitals/genhosp", "clinic_admin").status_code == 404
    stored = world.execute(api.db_url, "SELECT settings::text, credential_ref FROM hospital_endpoints")
    assert all("s3cr3t" not in str(row) for row in stored)
    listed = call(api, "GET", base, "clinic_admin").json()
    assert [h["hospital_id"] for h in listed] == ["genhosp"]


def test_fhir_reads_validate_and_are_scoped(api: ApiUnderTest) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for second in range(10):
        world.execute(
            api.db_url,
            "INSERT INTO features (time, patient_id, session_id, computed_at, hr_bpm, band_low_bpm, band_high_bpm, "
            "ceiling_bpm, rmssd_ms, sdnn_ms) VALUES (%s, 'sim-001', 's', %s, %s, 100, 120, 130, 21.5, %s)",
            (now - timedelta(seconds=second), now, 110 + second, 40.0 if second % 2 else None),
        )
    alert_id = world.fresh_alert(api.db_url, "sim-001", tier="urgent", tag="fhir")
    session_id = world.fresh_session(api.db_url, "sim-001", tag="fhir")
    world.execute(
        api.db_url,
        "INSERT INTO session_events (session_id, event, patient_id, t, started_at, ended_at, duration_s, "
        "time_in_band_pct, peak_hr_bpm, mean_hr_bpm, flags) VALUES (%s, 'summary', 'sim-001', %s, %s, %s, 1800, 66, "
        "131, 110, '{demo}')",
        (session_id, now, now - timedelta(minutes=30), now),
    )
    patient = fhir_patient_id("sim-001")

    read = call(api, "GET", f"/fhir/Patient/{patient}", "integration")
    assert read.status_code == 200 and read.headers["content-type"].startswith("application/fhir+json")
    Patient.model_validate(read.json())

    window = {"date": [f"ge{(now - timedelta(seconds=4)).isoformat()}", f"le{now.isoformat()}"], "_count": 3}
    observations = call(api, "GET", f"/fhir/Patient/{patient}/Observation", "integration", params=window)
    bundle = Bundle.model_validate(observations.json())
    codes = [e.resource.code.coding[0].code for e in bundle.entry or []]
    assert codes == ["8867-4", "rmssd", "8867-4", "80404-7", "rmssd", "8867-4", "rmssd"], codes
    assert [link.relation for link in bundle.link or []] == ["self", "next"]
    only_hr = call(api, "GET", f"/fhir/Patient/{patient}/Observation", "nurse", params={"code": "8867-4"}).json()
    assert len(only_hr["entry"]) == 10
    bad_date = call(api, "GET", f"/fhir/Patient/{patient}/Observation", "nurse", params={"date": "2026-01-01"})
    assert bad_date.status_code == 422

    issue = call(api, "GET", f"/fhir/DetectedIssue/{detected_issue_id(alert_id)}", "integration")
    assert issue.status_code == 200, issue.text
    DetectedIssue.model_validate(issue.json())
    assert issue.json()["patient"]["reference"] == f"Patient/{patient}" and issue.json()["severity"] == "high"
    issues = Bundle.model_validate(call(api, "GET", f"/fhir/Patient/{patient}/DetectedIssue", "nurse").json())
    assert detected_issue_id(alert_id) in {e.resource.id for e in issues.entry or []}

    devices = Bundle.model_validate(call(api, "GET", f"/fhir/Patient/{patient}/Device", "nurse").json())
    assert [e.resource.id for e in devices.entry or []] == [resource_id("device", "sim-strap-001")]
    strap = call(api, "GET", f"/fhir/Device/{resource_id('device', 'sim-strap-001')}", "patient")
    Device.model_validate(strap.json())
    # FHIR Device follows the REST rule: the integration role does not read devices (docs/api.md)
    assert call(api, "GET", f"/fhir/Device/{resource_id('device', 'sim-strap-001')}", "integration").status_code == 403

    summary = call(
        api, "GET", f"/fhir/Bundle/{resource_id('bundle-session-summary', session_id + ':summary')}", "patient"
    )
    assert summary.status_code == 200, summary.text
    assert Bundle.model_validate(summary.json()).type == "collection"

    other = fhir_patient_id("sim-002")
    assert call(api, "GET", f"/fhir/Patient/{other}", "patient").status_code == 404
    assert call(api, "GET", f"/fhir/Patient/{fhir_patient_id('other-001')}", "integration").status_code == 404
    assert call(api, "GET", f"/fhir/Patient/{uuid.uuid4()}", "nurse").status_code == 404
    assert call(api, "GET", f"/fhir/Patient/{patient}", "device").status_code == 403
    with api.client() as http:
        assert http.get(f"/fhir/Patient/{patient}").status_code == 401
    topics = Bundle.model_validate(call(api, "GET", "/fhir/Basic", "patient").json())
    assert topics.total == 2


def test_subscriptions_only_to_configured_endpoints_and_without_credentials(api: ApiUnderTest) -> None:
    call(
        api,
        "POST",
        f"/api/v1/clinics/{CLINIC}/hospitals",
        "clinic_admin",
        json=hospital_body("subhosp", fhir={"rest_hook_url": "https://sub.example/hook", "bearer_token_ref": None}),
    )
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "reason": "alerts",
        "criteria": "http://cardiorehab.example/fhir/SubscriptionTopic/cardiac-rehab-alert",
        "channel": {"type": "rest-hook", "endpoint": "https://attacker.example/hook"},
    }
    elsewhere = call(api, "POST", "/fhir/Subscription", "clinic_admin", json=body)
    assert elsewhere.status_code == 409 and "not the rest-hook URL" in elsewhere.json()["detail"]
    body["channel"] = {"type": "rest-hook", "endpoint": "https://sub.example/hook", "header": ["Authorization: x"]}
    assert call(api, "POST", "/fhir/Subscription", "clinic_admin", json=body).status_code == 422
    body["channel"] = {"type": "rest-hook", "endpoint": "https://sub.example/hook"}
    assert call(api, "POST", "/fhir/Subscription", "integration", json=body).status_code == 403
    first = call(api, "POST", "/fhir/Subscription", "clinic_admin", json=body)
    second = call(api, "POST", "/fhir/Subscription", "clinic_admin", json=body)
    assert first.status_code == second.status_code == 201
    old = call(api, "GET", f"/fhir/Subscription/{first.json()['id']}", "integration").json()
    assert old["status"] == "off", "one live subscription per hospital and topic: the newer replaces the older"
    handshakes = world.execute(
        api.db_url,
        "SELECT count(*) FROM outbox WHERE kind = 'fhir-handshake' AND subscription_id = %s",
        (second.json()["id"],),
    )
    assert handshakes == [(1,)]
    off = call(api, "DELETE", f"/fhir/Subscription/{second.json()['id']}", "clinic_admin")
    assert off.status_code == 200 and off.json()["status"] == "off"
