"""Issue 6, REST API behaviour against a real API process, TimescaleDB and Kafka: the alert rules (shared
acknowledgement, snooze limits, escalation, history), prescriptions stored and published, device ingest, archiving,
downsampled history, pagination, staff management, validation and security headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer

from analytics.events import PrescriptionV1
from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.wire import decode
from tests.integration.services import world
from tests.integration.services.api_server import ApiUnderTest, api_under_test
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def api(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnderTest]:
    work: Path = tmp_path_factory.mktemp("behaviour")
    with api_under_test(stack, work) as running:
        yield running


@pytest.fixture
def http(api: ApiUnderTest) -> Iterator[httpx.Client]:
    with api.client() as client:
        yield client


def as_(api: ApiUnderTest, role: str) -> dict[str, str]:
    return api.headers(role)


def read_topic(kafka: KafkaSettings, base: str, timeout_s: float = 10.0) -> list[bytes]:
    async def consume() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            kafka.topic(base), bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        try:
            out: list[bytes] = []
            deadline = time.monotonic() + timeout_s
            idle = 0
            while time.monotonic() < deadline and idle < 3:
                batch = await consumer.getmany(timeout_ms=500)
                records = [r.value for rs in batch.values() for r in rs if r.value]
                out += records
                idle = 0 if records else idle + 1
            return out
        finally:
            await consumer.stop()

    return asyncio.run(consume())


def test_acknowledge_snooze_escalate_follow_the_shared_rules(api: ApiUnderTest, http: httpx.Client) -> None:
    urgent = world.fresh_alert(api.db_url, "sim-001", tier="urgent", tag="rules")
    url = f"/api/v1/alerts/{urgent}"
    nurse, charge = as_(api, "nurse"), as_(api, "charge_nurse")

    r = http.put(f"{url}/snooze", json={"minutes": 5, "reason": "calling"}, headers=nurse)
    assert r.status_code == 403 and "charge nurse" in r.json()["detail"]
    r = http.put(f"{url}/snooze", json={"minutes": 10, "reason": "calling"}, headers=charge)
    assert r.status_code == 422 and "at most 5 minutes" in r.json()["detail"]
    r = http.put(f"{url}/snooze", json={"minutes": 5}, headers=charge)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = http.put(f"{url}/snooze", json={"minutes": 5, "reason": "on the phone with the patient"}, headers=charge)
    assert r.status_code == 200 and r.json()["snoozed"] is True
    shared = http.get(url, headers=nurse).json()  # every nurse sees the one snooze, by whom, until when
    assert shared["snoozed_by_name"] == "Charge Nurse Chen Wei" and shared["snoozed_until"]
    listed = http.get("/api/v1/alerts", params={"state": "active"}, headers=nurse).json()
    assert urgent in {a["alert_id"] for a in listed}, "a snoozed urgent alert must stay listed"
    assert http.delete(f"{url}/snooze", headers=nurse).status_code == 200  # any nurse may cancel it
    assert http.delete(f"{url}/snooze", headers=nurse).status_code == 409

    r = http.post(f"{url}/acknowledge", json={"note": "seeing the patient"}, headers=nurse)
    assert r.status_code == 200 and r.json()["acknowledged_by_name"] == "Nurse Ada Okafor"
    r = http.post(f"{url}/acknowledge", json={}, headers=charge)
    assert r.status_code == 409 and "Nurse Ada Okafor" in r.json()["detail"]
    r = http.put(f"{url}/snooze", json={"minutes": 1, "reason": "x"}, headers=charge)
    assert r.status_code == 409

    assert http.post(f"{url}/escalate", json={"level": 1}, headers=nurse).json()["escalation_level"] == 1
    assert http.post(f"{url}/escalate", json={"level": 1}, headers=charge).status_code == 409
    assert http.post(f"{url}/escalate", json={"level": 2, "note": "call the doctor"}, headers=charge).status_code == 200

    detail = http.get(url, headers=nurse).json()
    steps = [(h["kind"], h["actor_name"]) for h in detail["history"]]
    assert steps == [
        ("raised", None),
        ("snoozed", "Charge Nurse Chen Wei"),
        ("snooze_cancelled", "Nurse Ada Okafor"),
        ("acknowledged", "Nurse Ada Okafor"),
        ("escalated", "Nurse Ada Okafor"),
        ("escalated", "Charge Nurse Chen Wei"),
    ]
    assert detail["action_seq"] == 5

    nurse_alert = world.fresh_alert(api.db_url, "sim-001", tier="nurse", tag="rules")
    r = http.put(f"/api/v1/alerts/{nurse_alert}/snooze", json={"minutes": 61}, headers=nurse)
    assert r.status_code == 422 and "at most 60 minutes" in r.json()["detail"]
    assert http.put(f"/api/v1/alerts/{nurse_alert}/snooze", json={"minutes": 60}, headers=nurse).status_code == 200


def test_a_prescription_is_versioned_stored_and_published(api: ApiUnderTest, http: httpx.Client) -> None:
    body = {
        "method": "karvonen",
        "resting_hr_bpm": 64,
        "peak_hr_bpm": 148,
        "peak_hr_source": "cpet",
        "intensity_low": 0.45,
        "intensity_high": 0.6,
        "ceiling_bpm": 122,
        "beta_blocker": True,
        "thresholds": {"ceiling_grace_s": 30, "signal_lost_s": 15},
    }
    r = http.post("/api/v1/patients/sim-003/prescriptions", json=body, headers=as_(api, "nurse"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["version"] == 2 and created["published_at"] and created["prescribed_by_name"] == "Nurse Ada Okafor"
    versions = http.get("/api/v1/patients/sim-003/prescriptions", headers=as_(api, "patient")).status_code
    assert versions == 404  # patient1 is sim-001
    listed = http.get("/api/v1/patients/sim-003/prescriptions", headers=as_(api, "integration")).json()
    assert [p["version"] for p in listed] == [2, 1]
    assert http.get("/api/v1/patients/sim-003/prescriptions/current", headers=as_(api, "nurse")).json()["version"] == 2

    published = [decode(PrescriptionV1, raw) for raw in read_topic(api.kafka, PrescriptionV1.TOPIC)]
    mine = [p for p in published if p.patient_id == "sim-003" and p.version == 2]
    assert len(mine) == 1
    message = mine[0]
    assert message.clinic_id == "demo-clinic" and message.beta_blocker and message.ceiling_bpm == 122
    assert message.thresholds.ceiling_grace_s == 30 and message.thresholds.signal_lost_s == 15
    assert message.prescribed_by == world.user_id(api.db_url, "nurse1")


def test_device_enrolment_token_and_ingest(api: ApiUnderTest, http: httpx.Client) -> None:
    nurse = as_(api, "nurse")
    device = http.post(
        "/api/v1/patients/sim-002/devices", json={"kind": "polar_h10", "address": "AA:BB:CC:DD:EE:FF"}, headers=nurse
    ).json()
    issued = http.post(f"/api/v1/devices/{device['id']}/tokens", json={"label": "phone", "ttl_days": 30}, headers=nurse)
    assert issued.status_code == 201
    token = issued.json()["token"]
    listed = http.get(f"/api/v1/devices/{device['id']}/tokens", headers=nurse).text
    assert token not in listed and issued.json()["id"] in listed, "the token is shown once, never listed"
    now = time.time_ns()
    readings = [
        {
            "patient_id": "sim-002",
            "device_id": device["id"],
            "seq": seq,
            "gateway_time_ns": now + seq,
            "hr_bpm": 95,
            "rr_ms": [630.0],
        }
        for seq in range(3)
    ]
    device_auth = {"Authorization": f"Bearer {token}"}
    r = http.post(f"/api/v1/devices/{device['id']}/readings", json=readings, headers=device_auth)
    assert r.status_code == 202 and r.json()["accepted"] == 3
    future = readings[0] | {"gateway_time_ns": now + 3600 * 10**9}
    r = http.post(f"/api/v1/devices/{device['id']}/readings", json=future, headers=device_auth)
    assert r.status_code == 422 and "future" in r.json()["detail"]
    sent = [decode(SensorHrV1, raw) for raw in read_topic(api.kafka, SensorHrV1.TOPIC)]
    assert sorted(e.seq for e in sent if e.device_id == device["id"]) == [0, 1, 2]

    revoked = http.delete(f"/api/v1/devices/{device['id']}/tokens/{issued.json()['id']}", headers=nurse)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    r = http.post(f"/api/v1/devices/{device['id']}/readings", json=readings[0], headers=device_auth)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_archiving_hides_the_patient_and_stops_their_logins_and_devices(api: ApiUnderTest, http: httpx.Client) -> None:
    nurse, admin = as_(api, "nurse"), as_(api, "clinic_admin")
    patient = http.post("/api/v1/patients", json={"display_name": "Archie Ved", "mrn": unique("mrn")}, headers=nurse)
    assert patient.status_code == 201
    pid = patient.json()["id"]
    username = unique("archie")
    login = http.post(
        "/api/v1/users",
        json={
            "username": username,
            "password": "archie-password-1",
            "role": "patient",
            "display_name": "Archie",
            "patient_id": pid,
        },
        headers=admin,
    )
    assert login.status_code == 201, login.text
    dev = http.post(f"/api/v1/patients/{pid}/devices", json={"kind": "hrs"}, headers=nurse).json()
    token = http.post(f"/api/v1/devices/{dev['id']}/tokens", json={}, headers=nurse).json()["token"]
    assert api.login(username, "archie-password-1")["patient_id"] == pid

    assert http.post(f"/api/v1/patients/{pid}/archive", headers=nurse).status_code == 403  # nurses cannot archive
    archived = http.post(f"/api/v1/patients/{pid}/archive", headers=as_(api, "charge_nurse"))
    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert http.get(f"/api/v1/patients/{pid}", headers=nurse).status_code == 404
    assert pid not in {p["id"] for p in http.get("/api/v1/patients", headers=nurse).json()}
    assert pid in {p["id"] for p in http.get("/api/v1/patients?archived=true", headers=nurse).json()}
    relogin = http.post("/api/v1/auth/token", data={"username": username, "password": "archie-password-1"})
    assert relogin.status_code == 403 and "disabled" in relogin.json()["detail"]
    reading = {"patient_id": pid, "device_id": dev["id"], "seq": 1, "gateway_time_ns": time.time_ns(), "hr_bpm": 80}
    auth = {"Authorization": f"Bearer {token}"}
    post = http.post(f"/api/v1/devices/{dev['id']}/readings", json=reading, headers=auth)
    assert post.status_code == 401


def test_history_is_downsampled_with_time_bucket_for_any_range(api: ApiUnderTest, http: httpx.Client) -> None:
    start = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with psycopg.connect(api.db_url) as conn, conn.cursor() as cur:
        with cur.copy("COPY features (time, patient_id, computed_at, hr_bpm, phase) FROM STDIN") as copy:
            for s in range(7200):
                copy.write_row((start + timedelta(seconds=s), "sim-001", start, 90 + s % 10, "exercise"))
        with cur.copy("COPY sensor_hr (time, patient_id, device_id, seq, hr_bpm, rr_ms) FROM STDIN") as copy:
            for s in range(600):
                copy.write_row((start + timedelta(seconds=s), "sim-001", "sim-strap-001", s, 100 + s % 5, [600.0]))
    nurse = as_(api, "nurse")
    window = {"start": start.isoformat(), "end": (start + timedelta(minutes=10)).isoformat()}
    raw = http.get("/api/v1/patients/sim-001/features", params=window, headers=nurse).json()
    assert raw["resolution_s"] == 1 and len(raw["points"]) == 600
    five = http.get("/api/v1/patients/sim-001/features", params=window | {"resolution_s": 5}, headers=nurse).json()
    assert len(five["points"]) == 120
    assert [p["hr_bpm"] for p in five["points"][:2]] == [92.0, 97.0]  # mean of 90..94, then 95..99
    whole = {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()}
    auto = http.get("/api/v1/patients/sim-001/features", params=whole, headers=nurse).json()
    assert auto["resolution_s"] == 10 and len(auto["points"]) == 720
    too_fine = http.get("/api/v1/patients/sim-001/features", params=whole | {"resolution_s": 5}, headers=nurse)
    assert too_fine.status_code == 422 and "use >= 9 s" in too_fine.json()["detail"]
    naive = http.get("/api/v1/patients/sim-001/features", params={"start": "2026-03-01T10:00:00"}, headers=nurse)
    assert naive.status_code == 422 and "timezone" in naive.json()["detail"].lower()
    hr = http.get("/api/v1/patients/sim-001/readings/hr", params=window | {"resolution_s": 60}, headers=nurse).json()
    assert len(hr["points"]) == 10 and hr["points"][0]["hr_bpm"] == 102.0 and hr["points"][0]["readings"] == 60
    assert len(hr["points"][0]["rr_ms"]) == 60


def test_lists_are_paginated_with_a_next_link_and_a_documented_maximum(api: ApiUnderTest, http: httpx.Client) -> None:
    nurse = as_(api, "nurse")
    for i in range(6):
        http.post("/api/v1/patients", json={"display_name": f"Page {i}"}, headers=nurse).raise_for_status()
    first = http.get("/api/v1/patients", params={"limit": 3}, headers=nurse)
    assert len(first.json()) == 3 and 'rel="next"' in first.headers["link"] and "offset=3" in first.headers["link"]
    second = http.get(first.headers["link"].split(";")[0].strip("<>"), headers=nurse)
    assert len(second.json()) == 3 and not {p["id"] for p in first.json()} & {p["id"] for p in second.json()}
    too_many = http.get("/api/v1/patients", params={"limit": 501}, headers=nurse)
    assert too_many.status_code == 422 and "500" in too_many.json()["detail"]


def test_staff_management_and_disabling_revokes_refresh_tokens(api: ApiUnderTest, http: httpx.Client) -> None:
    admin = as_(api, "clinic_admin")
    username = unique("nurse")
    created = http.post(
        "/api/v1/users",
        json={"username": username, "password": "a-long-enough-pw", "role": "nurse", "display_name": "Nurse New"},
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["clinic_id"] == "demo-clinic"
    duplicate = http.post(
        "/api/v1/users",
        json={"username": username, "password": "a-long-enough-pw", "role": "nurse", "display_name": "Again"},
        headers=admin,
    )
    assert duplicate.status_code == 409
    tokens = api.login(username, "a-long-enough-pw")
    disabled = http.patch(f"/api/v1/users/{created.json()['id']}", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"]
    refresh = http.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    me = world.user_id(api.db_url, "admin1")
    assert http.patch(f"/api/v1/users/{me}", json={"disabled": True}, headers=admin).status_code == 409


def test_errors_are_problems_and_headers_are_deliberate(api: ApiUnderTest, http: httpx.Client) -> None:
    big = http.post(
        "/api/v1/patients", content=b"x" * 2_000_000, headers=as_(api, "nurse") | {"content-type": "application/json"}
    )
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    wrong_method = http.delete("/api/v1/patients", headers=as_(api, "nurse"))
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, POST"
    unknown = http.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("no API endpoint")
    bad_body: Any = http.post(
        "/api/v1/patients", content=b"\xff\xfe", headers=as_(api, "nurse") | {"content-type": "application/json"}
    )
    assert bad_body.status_code in (400, 422) and bad_body.json()["status"] == bad_body.status_code
    for path in ("/api/v1/patients", "/", "/healthz"):
        headers = http.get(path, headers=as_(api, "nurse")).headers
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "access-control-allow-origin" not in headers  # no CORS unless origins are configured
    assert http.get("/api/v1/patients", headers=as_(api, "nurse")).headers["cache-control"] == "no-store"
