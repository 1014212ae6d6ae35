"""Issue 8: FHIR rest-hook subscriptions (Subscriptions R5 Backport IG on R4) against a real HTTPS receiver.

A clinic administrator subscribes a configured hospital's endpoint through the API; the dispatcher process sends the
handshake, heartbeats at the subscription's period, and event notifications numbered 1, 2, 3, ... in order, with
the bearer token it resolved from an ``env:`` reference. The receiver is an aiohttp app on 127.0.0.1 at a runtime
port with a self-signed certificate the dispatcher trusts through ``CARDIO_DISPATCHER_CA_FILE``.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.subscription import Subscription

from analytics.events import AlertV1, SessionV1
from services.integrations.fhir.alerts import detected_issue_id
from services.integrations.fhir.subscriptions import (
    CARDIAC_REHAB_ALERT_TOPIC,
    CARDIAC_REHAB_SESSION_SUMMARY_TOPIC,
    EXT_HEARTBEAT_PERIOD,
    EXT_PAYLOAD_CONTENT,
)
from tests.integration.services.integrations.receivers import Notification, RestHookReceiver, self_signed
from tests.integration.services.integrations.rig import Rig, hospital_body, rig
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

HEARTBEAT_S = 2
PATIENTS = ("sim-001", "sim-002", "sim-003")


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestHookReceiver]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    running = RestHookReceiver(cert=cert, key=key, token=secrets.token_urlsafe(24)).start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def deployment(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory, receiver: RestHookReceiver) -> Iterator[Rig]:
    work: Path = tmp_path_factory.mktemp("resthook")
    with rig(
        stack, work, CARDIO_DISPATCHER_CA_FILE=str(receiver.cert), CARDIO_TEST_HOOK_TOKEN=receiver.token
    ) as running:
        running.configure_hospital(
            hospital_body(
                unique("fhirhosp-"),
                fhir={
                    "rest_hook_url": receiver.url,
                    "bearer_token_ref": "env:CARDIO_TEST_HOOK_TOKEN",
                    "heartbeat_period_s": 60,
                },
            )
        )
        running.start_sink()
        running.start_dispatcher("d1")
        yield running


def subscribe(deployment: Rig, receiver: RestHookReceiver, topic: str, content: str) -> dict[str, Any]:
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "test hospital",
        "criteria": topic,
        "channel": {
            "type": "rest-hook",
            "endpoint": receiver.url,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": EXT_PAYLOAD_CONTENT, "valueCode": content}]},
            "extension": [{"url": EXT_HEARTBEAT_PERIOD, "valueUnsignedInt": HEARTBEAT_S}],
        },
    }
    with deployment.http() as http:
        r = http.post("/fhir/Subscription", json=body, headers=deployment.api.headers("clinic_admin"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    created: dict[str, Any] = r.json()
    Subscription.model_validate(created)
    assert created["status"] == "requested" and r.headers["location"].endswith(f"/Subscription/{created['id']}")
    return created


def of(receiver: RestHookReceiver, subscription_id: str, kind: str | None = None) -> list[Notification]:
    return [
        n
        for n in receiver.snapshot()
        if n.subscription == f"Subscription/{subscription_id}" and (kind is None or n.kind == kind)
    ]


def alert_steps(patient: str) -> list[AlertV1]:
    now = time.time_ns()
    return [
        AlertV1(
            alert_id=f"{patient}:signal_lost:{now}",
            patient_id=patient,
            rule="signal_lost",
            tier="urgent",
            event=event,
            revision=revision,
            t_ns=now + revision * 1_000_000,  # type: ignore[arg-type]
            message="No valid heart rate for 8 s",
        )
        for revision, event in enumerate(("raised", "updated", "cleared"))
    ]


def test_handshake_heartbeats_and_numbered_alert_notifications(deployment: Rig, receiver: RestHookReceiver) -> None:
    created = subscribe(deployment, receiver, CARDIAC_REHAB_ALERT_TOPIC, "id-only")
    sid = created["id"]
    deployment.wait(lambda: of(receiver, sid, "handshake"), 60, "the handshake")
    deployment.wait(lambda: len(of(receiver, sid, "heartbeat")) >= 3, 30, "three heartbeats")
    beats = [n.at for n in of(receiver, sid, "heartbeat")]
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    assert all(HEARTBEAT_S * 0.9 <= gap <= HEARTBEAT_S + 2.0 for gap in gaps), gaps

    steps = [s for p in PATIENTS for s in alert_steps(p)]
    deployment.produce(steps)
    deployment.wait(lambda: len(of(receiver, sid, "event-notification")) >= len(steps), 60, "9 event notifications")
    events = of(receiver, sid, "event-notification")
    numbers = [n for e in events for n in e.event_numbers]
    assert numbers == list(range(1, len(steps) + 1)), f"event numbers in arrival order: {numbers}"
    assert all(e.events_since_start == e.event_numbers[-1] for e in events)
    for e in events:
        Bundle.model_validate(e.bundle)
    expected_focus = {f"DetectedIssue/{detected_issue_id(s.alert_id)}" for s in steps}
    assert {f for e in events for f in e.focus} == expected_focus
    stamps: dict[str, list[str]] = {}
    for e in events:  # each alert's three steps (1 ms apart) arrive in the engine's order
        stamps.setdefault(e.focus[0], []).append(e.bundle["timestamp"])
    assert all(len(t) == 3 and t == sorted(t) and len(set(t)) == 3 for t in stamps.values()), stamps
    kinds = [n.kind for n in of(receiver, sid)]
    assert kinds[0] == "handshake" and receiver.refused == []

    with deployment.http() as http:
        status = http.get(f"/fhir/Subscription/{sid}/$status", headers=deployment.api.headers("integration"))
        issue = http.get(f"/fhir/{events[-1].focus[0]}", headers=deployment.api.headers("integration"))
        subscription = http.get(f"/fhir/Subscription/{sid}", headers=deployment.api.headers("integration"))
    assert status.status_code == 200, status.text
    Bundle.model_validate(status.json())
    parameters = {p["name"]: p for p in status.json()["entry"][0]["resource"]["parameter"]}
    assert parameters["status"]["valueCode"] == "active"
    assert parameters["events-since-subscription-start"]["valueString"] == str(len(steps))
    assert issue.status_code == 200, issue.text
    DetectedIssue.model_validate(issue.json())
    assert issue.json()["status"] == "final" and "end" in issue.json()["identifiedPeriod"]
    assert subscription.json()["status"] == "active"

    later = len(of(receiver, sid, "heartbeat"))
    deployment.wait(lambda: len(of(receiver, sid, "heartbeat")) > later, 10, "heartbeats after the events")
    assert of(receiver, sid, "heartbeat")[-1].events_since_start == len(steps)
    print(
        f"\nrest-hook: handshake, {len(of(receiver, sid, 'heartbeat'))} heartbeats (gaps {gaps}), "
        f"{len(events)} notifications numbered {numbers[0]}..{numbers[-1]}"
    )


def test_session_summaries_notify_subscribers_of_the_session_topic(deployment: Rig, receiver: RestHookReceiver) -> None:
    created = subscribe(deployment, receiver, CARDIAC_REHAB_SESSION_SUMMARY_TOPIC, "full-resource")
    sid = created["id"]
    deployment.wait(lambda: of(receiver, sid, "handshake"), 60, "the handshake")
    now = time.time_ns()
    summary = SessionV1(
        session_id=f"sim-002:{now}",
        patient_id="sim-002",
        event="summary",
        t_ns=now,
        started_ns=now - 1800 * 10**9,
        ended_ns=now - 60 * 10**9,
        duration_s=1740.0,
        time_in_band_pct=71.0,
        peak_hr_bpm=131.0,
        mean_hr_bpm=112.0,
    )
    deployment.produce([summary])
    event = deployment.wait(lambda: of(receiver, sid, "event-notification"), 60, "the summary notification")[0]
    assert event.event_numbers == (1,)
    entries = event.bundle["entry"]
    assert entries[1]["resource"]["resourceType"] == "Bundle" and entries[1]["resource"]["type"] == "collection"
    with deployment.http() as http:
        bundle = http.get(f"/fhir/{event.focus[0]}", headers=deployment.api.headers("integration"))
    assert bundle.status_code == 200, bundle.text
    Bundle.model_validate(bundle.json())
    assert bundle.json()["id"] == entries[1]["resource"]["id"]
