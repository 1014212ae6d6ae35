"""Issue 6: the authorisation matrix, generated from the OpenAPI document of a real API process.

Every operation in ``/api/v1/openapi.json`` is called by every role (patient, nurse, charge_nurse, clinic_admin,
integration, device, anonymous) on a resource of the caller's own patient, of another patient of the same clinic and
of another clinic, and must answer exactly the status this file expects. The expectations are written out here,
independently of ``services/auth/permissions.py``. Every 2xx body is also searched for identifiers the caller must
never see, every 4xx must be a problem body, and every successful call to a non-public endpoint must have written
an audit record naming the caller (device posts of readings excepted, see docs/api.md). An operation that appears in
the document without being classified here fails :func:`test_every_endpoint_is_classified`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from services.db.seed import DEMO_PASSWORD
from services.integrations.fhir.alerts import detected_issue_id
from services.integrations.ids import resource_id
from services.integrations.resolve import fhir_patient_id
from tests.integration.services import world
from tests.integration.services.api_server import (
    OTHER_CLINIC_PATIENT,
    OWN_PATIENT,
    ROLE_LOGINS,
    SAME_CLINIC_PATIENT,
    ApiUnderTest,
    api_under_test,
)
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

Scope = Literal["own", "same_clinic", "other_clinic"]
SCOPES: tuple[Scope, ...] = ("own", "same_clinic", "other_clinic")
ROLES = ("patient", "nurse", "charge_nurse", "clinic_admin", "integration", "device", "anonymous")
Kind = Literal["public", "any_user", "collection", "clinic", "patient", "device"]

# The policy, written out independently of the code.
READERS = frozenset({"patient", "nurse", "charge_nurse", "clinic_admin", "integration"})
CLINICAL = frozenset({"nurse", "charge_nurse", "clinic_admin"})
NURSING = frozenset({"nurse", "charge_nurse"})
ADMIN = frozenset({"clinic_admin"})
PATIENT_ONLY = frozenset({"patient"})
ARCHIVERS = frozenset({"charge_nurse", "clinic_admin"})
DEVICE_READERS = CLINICAL | {"patient"}

PATIENT_OF: dict[Scope, str] = {
    "own": OWN_PATIENT,
    "same_clinic": SAME_CLINIC_PATIENT,
    "other_clinic": OTHER_CLINIC_PATIENT,
}
CLINIC_OF: dict[Scope, str] = {"own": "demo-clinic", "same_clinic": "demo-clinic", "other_clinic": "other-clinic"}
TAG_OF: dict[Scope, str] = {"own": "p1", "same_clinic": "p2", "other_clinic": "other"}
DEVICE_OF: dict[Scope, str] = {
    "own": "sim-strap-001",
    "same_clinic": "sim-strap-002",
    "other_clinic": "other-strap-001",
}
# Never in a 2xx body for anyone in the demo clinic; and for the patient role, nothing of other patients either.
OTHER_CLINIC_MARKERS = re.compile(r"other-001|other-clinic|other-strap|alert-other|session-other|other-fresh|Eli Novak")
OTHER_PATIENT_MARKERS = re.compile(r"sim-00[23]|-p2-|sim-strap-00[23]|Nurse Ben|patient2")


@dataclass(frozen=True)
class Endpoint:
    kind: Kind
    ok: int
    roles: frozenset[str] = frozenset()
    params: Callable[[ApiUnderTest, Scope], dict[str, str]] | None = None
    body: Callable[[ApiUnderTest, Scope], Any] | None = None
    form: Callable[[ApiUnderTest, Scope], dict[str, str]] | None = None


def patient(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"patient_id": PATIENT_OF[scope]}


def fresh_patient(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    tag = "other" if scope == "other_clinic" else "sim"
    return {"patient_id": world.fresh_patient(api.db_url, CLINIC_OF[scope], tag)}


def device(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"device_id": DEVICE_OF[scope]}


def fresh_device(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"device_id": world.fresh_device(api.db_url, PATIENT_OF[scope])}


def fresh_device_token(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    dev = world.fresh_device(api.db_url, PATIENT_OF[scope])
    return {"device_id": dev, "token_id": world.fresh_token(api.db_url, dev, PATIENT_OF[scope])}


def fresh_alert(snoozed: bool = False) -> Callable[[ApiUnderTest, Scope], dict[str, str]]:
    def make(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
        return {"alert_id": world.fresh_alert(api.db_url, PATIENT_OF[scope], snoozed=snoozed, tag=TAG_OF[scope])}

    return make


def fresh_session(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"session_id": world.fresh_session(api.db_url, PATIENT_OF[scope], tag=TAG_OF[scope])}


def staff_user(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"user_id": world.user_id(api.db_url, "nurse3" if scope == "other_clinic" else "nurse2")}


def clinic(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"clinic_id": CLINIC_OF[scope]}


def version_1(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"patient_id": PATIENT_OF[scope], "version": "1"}


def reading(api: ApiUnderTest, scope: Scope) -> dict[str, Any]:
    return {
        "patient_id": PATIENT_OF[scope],
        "device_id": DEVICE_OF[scope],
        "seq": 1,
        "gateway_time_ns": 10**18,
        "hr_bpm": 90,
    }


PRESCRIPTION = {
    "method": "karvonen",
    "resting_hr_bpm": 62,
    "peak_hr_bpm": 150,
    "peak_hr_source": "cpet",
    "intensity_low": 0.4,
    "intensity_high": 0.6,
    "ceiling_bpm": 125,
}


def refresh_token(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"refresh_token": api.login("nurse2")["refresh_token"]}


def new_user(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"username": unique("u"), "password": "a-long-enough-password", "role": "nurse", "display_name": "New"}


# Hospital integration (issue 8): hospitals, subscriptions and summaries written straight into the test database.
MATRIX_HOSPITAL_SETTINGS = (
    '{"sending_application": {"universal_id": "0123456789ABCDEF"}, "sending_facility": "CR", '
    '"receiving_application": "ENGINE", "receiving_facility": "GENHOSP"}'
)
MATRIX_HOOK = "https://matrix-engine.example/hook"


def _hospital(api: ApiUnderTest, hospital_id: str, clinic_id: str) -> str:
    world.execute(
        api.db_url,
        "INSERT INTO hospitals (id, settings) VALUES (%s, %s::jsonb) ON CONFLICT (id) DO NOTHING",
        (hospital_id, MATRIX_HOSPITAL_SETTINGS),
    )
    world.execute(
        api.db_url,
        "INSERT INTO hospital_endpoints (hospital_id, channel, settings) VALUES (%s, 'fhir-rest-hook', %s::jsonb) "
        "ON CONFLICT DO NOTHING",
        (hospital_id, f'{{"rest_hook_url": "{MATRIX_HOOK}"}}'),
    )
    world.execute(
        api.db_url, "INSERT INTO hospital_clinics VALUES (%s, %s) ON CONFLICT DO NOTHING", (hospital_id, clinic_id)
    )
    return hospital_id


def hospital(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"clinic_id": CLINIC_OF[scope], "hospital_id": _hospital(api, "matrix-hosp", "demo-clinic")}


def fresh_hospital(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"clinic_id": CLINIC_OF[scope], "hospital_id": _hospital(api, unique("h-"), CLINIC_OF[scope])}


def hospital_config(hospital_id: str) -> dict[str, Any]:
    return {
        "hospital_id": hospital_id,
        "sending_application": {"universal_id": "0123456789ABCDEF"},
        "sending_facility": "CR",
        "receiving_application": "ENGINE",
        "receiving_facility": "GENHOSP",
        "fhir": {"rest_hook_url": MATRIX_HOOK, "bearer_token_ref": "env:MATRIX_HOOK_TOKEN"},
    }


def fhir_patient(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"patient_fhir_id": fhir_patient_id(PATIENT_OF[scope])}


def fhir_device(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"device_fhir_id": resource_id("device", DEVICE_OF[scope])}


def fresh_detected_issue(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    return {"issue_id": detected_issue_id(world.fresh_alert(api.db_url, PATIENT_OF[scope], tag=TAG_OF[scope]))}


def fresh_summary(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    session_id = world.fresh_session(api.db_url, PATIENT_OF[scope], tag=TAG_OF[scope])
    world.execute(
        api.db_url,
        "INSERT INTO session_events (session_id, event, patient_id, t, started_at, duration_s) "
        "VALUES (%s, 'summary', %s, now(), now() - interval '30 minutes', 1800)",
        (session_id, PATIENT_OF[scope]),
    )
    return {"bundle_id": resource_id("bundle-session-summary", f"{session_id}:summary")}


def fresh_subscription(api: ApiUnderTest, scope: Scope) -> dict[str, str]:
    owner = "demo-clinic" if scope != "other_clinic" else "other-clinic"
    hospital_id = _hospital(api, f"matrix-h-{TAG_OF[scope]}", owner)
    subscription_id = str(uuid.uuid4())
    world.execute(
        api.db_url,
        "INSERT INTO fhir_subscriptions (id, hospital_id, topic, status, endpoint, content, reason) "
        "VALUES (%s, %s, 'http://cardiorehab.example/fhir/SubscriptionTopic/cardiac-rehab-alert', 'off', %s, "
        "'id-only', 'matrix')",
        (subscription_id, hospital_id, MATRIX_HOOK),
    )
    return {"subscription_id": subscription_id}


def subscription_request(api: ApiUnderTest, scope: Scope) -> dict[str, Any]:
    _hospital(api, "matrix-hosp", "demo-clinic")
    return {
        "resourceType": "Subscription",
        "reason": "matrix",
        "criteria": "http://cardiorehab.example/fhir/SubscriptionTopic/cardiac-rehab-alert",
        "channel": {"type": "rest-hook", "endpoint": MATRIX_HOOK, "payload": "application/fhir+json"},
    }


ENDPOINTS: dict[str, Endpoint] = {
    "GET /healthz": Endpoint("public", 200),
    "POST /api/v1/auth/token": Endpoint(
        "public", 200, form=lambda api, s: {"username": "nurse2", "password": DEMO_PASSWORD}
    ),
    "POST /api/v1/auth/refresh": Endpoint("public", 200, body=refresh_token),
    "GET /api/v1/auth/me": Endpoint("any_user", 200),
    "GET /api/v1/clinics": Endpoint("collection", 200, ADMIN),
    "GET /api/v1/clinics/{clinic_id}": Endpoint("clinic", 200, ADMIN, clinic),
    "PATCH /api/v1/clinics/{clinic_id}": Endpoint("clinic", 200, ADMIN, clinic, lambda a, s: {"name": "Renamed"}),
    "GET /api/v1/users": Endpoint("collection", 200, ADMIN),
    "POST /api/v1/users": Endpoint("collection", 201, ADMIN, body=new_user),
    "GET /api/v1/users/{user_id}": Endpoint("clinic", 200, ADMIN, staff_user),
    "PATCH /api/v1/users/{user_id}": Endpoint("clinic", 200, ADMIN, staff_user, lambda a, s: {"display_name": "N2"}),
    "GET /api/v1/patients": Endpoint("collection", 200, READERS),
    "POST /api/v1/patients": Endpoint("collection", 201, CLINICAL, body=lambda a, s: {"display_name": "New patient"}),
    "GET /api/v1/patients/{patient_id}": Endpoint("patient", 200, READERS, patient),
    "PATCH /api/v1/patients/{patient_id}": Endpoint(
        "patient", 200, CLINICAL, patient, lambda a, s: {"display_name": "Renamed"}
    ),
    "POST /api/v1/patients/{patient_id}/archive": Endpoint("patient", 200, ARCHIVERS, fresh_patient),
    "GET /api/v1/patients/{patient_id}/features": Endpoint("patient", 200, READERS, patient),
    "GET /api/v1/patients/{patient_id}/readings/hr": Endpoint("patient", 200, READERS, patient),
    "GET /api/v1/patients/{patient_id}/ecg": Endpoint("patient", 200, READERS, patient),
    "GET /api/v1/patients/{patient_id}/devices": Endpoint("patient", 200, DEVICE_READERS, patient),
    "POST /api/v1/patients/{patient_id}/devices": Endpoint(
        "patient", 201, CLINICAL, patient, lambda a, s: {"kind": "hrs"}
    ),
    "GET /api/v1/devices/{device_id}": Endpoint("patient", 200, DEVICE_READERS, device),
    "POST /api/v1/devices/{device_id}/retire": Endpoint("patient", 200, CLINICAL, fresh_device),
    "POST /api/v1/devices/{device_id}/tokens": Endpoint("patient", 201, CLINICAL, device, lambda a, s: {}),
    "GET /api/v1/devices/{device_id}/tokens": Endpoint("patient", 200, CLINICAL, device),
    "DELETE /api/v1/devices/{device_id}/tokens/{token_id}": Endpoint("patient", 200, CLINICAL, fresh_device_token),
    "POST /api/v1/devices/{device_id}/readings": Endpoint("device", 202, params=device, body=reading),
    "GET /api/v1/patients/{patient_id}/prescriptions": Endpoint("patient", 200, READERS, patient),
    "POST /api/v1/patients/{patient_id}/prescriptions": Endpoint(
        "patient", 201, NURSING, patient, lambda a, s: PRESCRIPTION
    ),
    "GET /api/v1/patients/{patient_id}/prescriptions/current": Endpoint("patient", 200, READERS, patient),
    "GET /api/v1/patients/{patient_id}/prescriptions/{version}": Endpoint("patient", 200, READERS, version_1),
    "GET /api/v1/patients/{patient_id}/sessions": Endpoint("patient", 200, READERS, patient),
    "GET /api/v1/sessions/{session_id}": Endpoint("patient", 200, READERS, fresh_session),
    "GET /api/v1/sessions/{session_id}/report.pdf": Endpoint("patient", 200, READERS, fresh_session),
    "GET /api/v1/alerts": Endpoint("collection", 200, READERS),
    "GET /api/v1/alerts/{alert_id}": Endpoint("patient", 200, READERS, fresh_alert()),
    "POST /api/v1/alerts/{alert_id}/acknowledge": Endpoint("patient", 200, NURSING, fresh_alert(), lambda a, s: {}),
    "PUT /api/v1/alerts/{alert_id}/snooze": Endpoint(
        "patient", 200, NURSING, fresh_alert(), lambda a, s: {"minutes": 5}
    ),
    "DELETE /api/v1/alerts/{alert_id}/snooze": Endpoint("patient", 200, NURSING, fresh_alert(snoozed=True)),
    "POST /api/v1/alerts/{alert_id}/escalate": Endpoint(
        "patient", 200, NURSING, fresh_alert(), lambda a, s: {"level": 1}
    ),
    "GET /api/v1/patients/{patient_id}/rpe": Endpoint("patient", 200, READERS, patient),
    "POST /api/v1/patients/{patient_id}/rpe": Endpoint("patient", 201, PATIENT_ONLY, patient, lambda a, s: {"rpe": 13}),
    "GET /api/v1/patients/{patient_id}/symptoms": Endpoint("patient", 200, READERS, patient),
    "POST /api/v1/patients/{patient_id}/symptoms": Endpoint(
        "patient", 201, PATIENT_ONLY, patient, lambda a, s: {"symptoms": ["fatigue"], "severity": 2}
    ),
    "GET /api/v1/clinics/{clinic_id}/hospitals": Endpoint("clinic", 200, ADMIN, clinic),
    "POST /api/v1/clinics/{clinic_id}/hospitals": Endpoint(
        "clinic", 201, ADMIN, clinic, lambda a, s: hospital_config(unique("h-"))
    ),
    "GET /api/v1/clinics/{clinic_id}/hospitals/{hospital_id}": Endpoint("clinic", 200, ADMIN, hospital),
    "PUT /api/v1/clinics/{clinic_id}/hospitals/{hospital_id}": Endpoint(
        "clinic", 200, ADMIN, hospital, lambda a, s: hospital_config("matrix-hosp")
    ),
    "DELETE /api/v1/clinics/{clinic_id}/hospitals/{hospital_id}": Endpoint("clinic", 200, ADMIN, fresh_hospital),
    "GET /api/v1/alerts/{alert_id}/deliveries": Endpoint("patient", 200, CLINICAL, fresh_alert()),
    "GET /api/v1/deliveries": Endpoint("collection", 200, CLINICAL),
    "GET /fhir/Patient/{patient_fhir_id}": Endpoint("patient", 200, READERS, fhir_patient),
    "GET /fhir/Patient/{patient_fhir_id}/Observation": Endpoint("patient", 200, READERS, fhir_patient),
    "GET /fhir/Patient/{patient_fhir_id}/DetectedIssue": Endpoint("patient", 200, READERS, fhir_patient),
    "GET /fhir/Patient/{patient_fhir_id}/Device": Endpoint("patient", 200, DEVICE_READERS, fhir_patient),
    "GET /fhir/DetectedIssue/{issue_id}": Endpoint("patient", 200, READERS, fresh_detected_issue),
    "GET /fhir/Device/{device_fhir_id}": Endpoint("patient", 200, DEVICE_READERS, fhir_device),
    "GET /fhir/Bundle/{bundle_id}": Endpoint("patient", 200, READERS, fresh_summary),
    "GET /fhir/Basic": Endpoint("any_user", 200),
    "GET /fhir/Basic/{basic_id}": Endpoint("any_user", 200, params=lambda a, s: {"basic_id": "cardiac-rehab-alert"}),
    "POST /fhir/Subscription": Endpoint("collection", 201, ADMIN, body=subscription_request),
    "GET /fhir/Subscription/{subscription_id}": Endpoint("clinic", 200, CLINICAL | {"integration"}, fresh_subscription),
    "GET /fhir/Subscription/{subscription_id}/$status": Endpoint(
        "clinic", 200, CLINICAL | {"integration"}, fresh_subscription
    ),
    "DELETE /fhir/Subscription/{subscription_id}": Endpoint("clinic", 200, ADMIN, fresh_subscription),
}


def expected_status(ep: Endpoint, role: str, scope: Scope) -> int:
    if ep.kind == "public":
        return ep.ok
    if role == "anonymous":
        return 401
    if ep.kind == "device":
        return ep.ok if role == "device" and scope == "own" else 403
    if role == "device":
        return 403  # device tokens post readings and nothing else
    if ep.kind == "any_user":
        return ep.ok
    if role not in ep.roles:
        return 403  # role checks come first, so a forbidden role learns nothing about ids
    if ep.kind == "collection":
        return ep.ok
    if ep.kind == "clinic":
        return 404 if scope == "other_clinic" else ep.ok
    if role == "patient":
        return ep.ok if scope == "own" else 404
    return 404 if scope == "other_clinic" else ep.ok


@pytest.fixture(scope="module")
def api(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnderTest]:
    work: Path = tmp_path_factory.mktemp("matrix")
    with api_under_test(stack, work) as running:
        # something to leak in every list: alerts, sessions and entries of each scope
        for scope in SCOPES:
            world.fresh_alert(running.db_url, PATIENT_OF[scope], tag=TAG_OF[scope])
            world.fresh_session(running.db_url, PATIENT_OF[scope], tag=TAG_OF[scope])
        yield running


def call(api: ApiUnderTest, http: httpx.Client, key: str, role: str, scope: Scope) -> httpx.Response:
    ep = ENDPOINTS[key]
    method, template = key.split(" ", 1)
    path = template.format(**ep.params(api, scope)) if ep.params else template
    headers = api.headers(role) if role != "anonymous" else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if ep.body is not None:
        kwargs["json"] = ep.body(api, scope)
    if ep.form is not None:
        kwargs["data"] = ep.form(api, scope)
    return http.request(method, path, **kwargs)


def problems_in(response: httpx.Response) -> str | None:
    """Why a response breaks the error or leak rules, or None."""
    if response.status_code >= 400:
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            return f"{response.status_code} without a problem body"
        body = response.json()
        if body.get("status") != response.status_code or not body.get("detail"):
            return f"problem body without status/detail: {body}"
    return None


def leaks(response: httpx.Response, role: str) -> str | None:
    if not 200 <= response.status_code < 300:
        return None
    text = response.text
    found = OTHER_CLINIC_MARKERS.search(text)
    if found is None and role == "patient":
        found = OTHER_PATIENT_MARKERS.search(text)
    return f"leaked {found.group(0)!r}" if found else None


def last_audit_id(api: ApiUnderTest) -> int:
    return int(world.execute(api.db_url, "SELECT COALESCE(max(id), 0) FROM audit_log")[0][0])


def unaudited(api: ApiUnderTest, ep: Endpoint, role: str, response: httpx.Response, before: int) -> str | None:
    """A successful call to a non-public endpoint must leave an audit record by the caller."""
    if not 200 <= response.status_code < 300 or ep.kind in ("public", "any_user", "device"):
        return None
    actor = world.user_id(api.db_url, ROLE_LOGINS[role])
    rows = world.execute(api.db_url, "SELECT count(*) FROM audit_log WHERE id > %s AND actor = %s", (before, actor))
    return None if rows[0][0] >= 1 else "no audit record"


@pytest.mark.parametrize("key", sorted(ENDPOINTS))
def test_every_role_and_scope_gets_exactly_the_expected_status(api: ApiUnderTest, key: str) -> None:
    ep = ENDPOINTS[key]
    scopes: tuple[Scope, ...] = SCOPES if ep.kind in ("clinic", "patient", "device") else ("own",)
    failures = []
    with api.client() as http:
        for role in ROLES:
            for scope in scopes:
                before = last_audit_id(api)
                response = call(api, http, key, role, scope)
                want = expected_status(ep, role, scope)
                issue = problems_in(response) or leaks(response, role) or unaudited(api, ep, role, response, before)
                if response.status_code != want or issue:
                    failures.append(
                        f"{role:<13} {scope:<13} expected {want}, got {response.status_code}"
                        f"{' (' + issue + ')' if issue else ''}: {response.text[:160]}"
                    )
    assert not failures, f"{key}:\n" + "\n".join(failures)


def test_every_endpoint_is_classified(api: ApiUnderTest) -> None:
    with api.client() as http:
        spec = http.get("/api/v1/openapi.json").json()
    documented = {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}
    unclassified = documented - set(ENDPOINTS)
    stale = set(ENDPOINTS) - documented
    assert not unclassified, f"classify these new endpoints in ENDPOINTS (roles, scope, status): {sorted(unclassified)}"
    assert not stale, f"these classified endpoints are gone from the OpenAPI document: {sorted(stale)}"


def test_the_device_token_names_one_device_and_its_patient(api: ApiUnderTest) -> None:
    """The precise 403s that enforce 'devices can only write their own patient's stream'."""
    with api.client() as http:
        headers = api.headers("device")
        own = reading(api, "own")
        wrong_patient = http.post(
            "/api/v1/devices/sim-strap-001/readings", json=[own, own | {"patient_id": "sim-002"}], headers=headers
        )
        wrong_device = http.post(
            "/api/v1/devices/sim-strap-001/readings", json=own | {"device_id": "sim-strap-002"}, headers=headers
        )
        other_path = http.post("/api/v1/devices/sim-strap-002/readings", json=own, headers=headers)
        user_token = http.post("/api/v1/devices/sim-strap-001/readings", json=own, headers=api.headers("nurse"))
        device_elsewhere = http.get("/api/v1/patients/sim-001", headers=headers)
    assert wrong_patient.status_code == 403 and "reading 1: patient_id 'sim-002'" in wrong_patient.json()["detail"]
    assert wrong_device.status_code == 403 and "device_id 'sim-strap-002'" in wrong_device.json()["detail"]
    assert other_path.status_code == 403 and "belongs to device 'sim-strap-001'" in other_path.json()["detail"]
    assert user_token.status_code == 403 and "device token" in user_token.json()["detail"]
    assert device_elsewhere.status_code == 403 and "only post readings" in device_elsewhere.json()["detail"]
