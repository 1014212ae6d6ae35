"""Issue 8: an unacknowledged urgent alert escalates nurse -> charge nurse -> hospital channel at the hospital's
(shortened) timings; an acknowledged one does not. Two dispatcher replicas run the leader-elected scheduler; the
escalations are recorded like a clinician's, published to ``alertstate.v1``, and the hospital-channel level reaches
the hospital's real MLLP listener as a PCD-04 escalation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer

from analytics.events import AlertV1
from ingest.wire import decode
from services.db.escalation import SYSTEM_ACTOR
from services.integrations.ids import control_id
from services.live.events import AlertStateV1
from tests.integration.services.integrations.receivers import MllpListener
from tests.integration.services.integrations.rig import Rig, hospital_body, rig
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

TO_CHARGE_NURSE_S = 6.0
TO_HOSPITAL_S = 6.0
SLACK_S = 3.0  # scheduler tick (0.5 s), the sink's write, a busy two-core machine


@pytest.fixture(scope="module")
def listener() -> Iterator[MllpListener]:
    running = MllpListener().start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def deployment(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory, listener: MllpListener) -> Iterator[Rig]:
    work: Path = tmp_path_factory.mktemp("escalation")
    with rig(stack, work) as running:
        running.configure_hospital(
            hospital_body(
                unique("esc-"),
                mllp={"host": "127.0.0.1", "port": listener.port},
                send_alerts_pcd04=True,
                alert_tiers=["urgent"],
                escalation={
                    "urgent": {"to_charge_nurse_s": TO_CHARGE_NURSE_S, "to_hospital_channel_s": TO_HOSPITAL_S},
                    "nurse": {"to_charge_nurse_s": 3600, "to_hospital_channel_s": 3600},
                },
            )
        )
        running.start_sink()
        running.start_dispatcher("d1")
        running.start_dispatcher("d2")
        # warm up: an urgent alert raised and cleared at once (never escalates) travels the whole way, so the
        # test's own alerts meet a running sink and running dispatchers and the timings measure only escalation
        warm = raised("sim-003")
        running.produce([warm, msgspec.structs.replace(warm, event="cleared", revision=1, t_ns=warm.t_ns + 1)])
        running.wait(lambda: len(listener.snapshot()) >= 2, 120, "the warm-up alert at the listener")
        yield running


def raised(patient: str) -> AlertV1:
    now = time.time_ns()
    return AlertV1(
        alert_id=f"{patient}:above_absolute_limit:{now}",
        patient_id=patient,
        session_id=f"{patient}:s",
        rule="above_absolute_limit",
        tier="urgent",
        event="raised",
        revision=0,
        t_ns=now,
        message="HR 152 above the absolute limit 140",
        value=152.0,
        threshold=140.0,
    )


async def alert_states(deployment: Rig, alert_ids: set[str]) -> list[AlertStateV1]:
    kafka = deployment.api.kafka
    consumer = AIOKafkaConsumer(
        kafka.topic(AlertStateV1.TOPIC), bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[AlertStateV1] = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(decode(AlertStateV1, r.value or b"") for r in records)
            if found and not await consumer.getmany(timeout_ms=500):
                break
    finally:
        await consumer.stop()
    return [s for s in found if s.alert_id in alert_ids]


def test_unacknowledged_urgent_alert_escalates_and_an_acknowledged_one_does_not(
    deployment: Rig, listener: MllpListener
) -> None:
    ignored, handled = raised("sim-001"), raised("sim-002")
    deployment.produce([ignored, handled])
    deployment.wait(
        lambda: deployment.sql("SELECT 1 FROM alerts WHERE alert_id = %s", (handled.alert_id,)),
        TO_CHARGE_NURSE_S,
        "the alert stored",
        every_s=0.05,
    )
    with deployment.http() as http:
        ack = http.post(
            f"/api/v1/alerts/{handled.alert_id}/acknowledge", json={}, headers=deployment.api.headers("nurse")
        )
    assert ack.status_code == 200, ack.text
    acked_after_s = (time.time_ns() - handled.t_ns) / 1e9
    assert acked_after_s < TO_CHARGE_NURSE_S, "the acknowledgement came too late to test anything"

    def level(alert_id: str) -> int:
        return int(deployment.sql("SELECT escalation_level FROM alerts WHERE alert_id = %s", (alert_id,))[0][0])

    deployment.wait(lambda: level(ignored.alert_id) == 2, TO_CHARGE_NURSE_S + TO_HOSPITAL_S + 30, "level 2")
    time.sleep(TO_CHARGE_NURSE_S + SLACK_S)  # long enough for the acknowledged alert to have escalated, had it
    assert level(handled.alert_id) == 0 and level(ignored.alert_id) == 2

    steps = deployment.sql(
        "SELECT escalation_level, extract(epoch FROM at)::float8, actor, actor_name, actor_role FROM alert_events "
        "WHERE alert_id = %s AND kind = 'escalated' ORDER BY id",
        (ignored.alert_id,),
    )
    assert [(s[0], s[2], s[3], s[4]) for s in steps] == [
        (1, SYSTEM_ACTOR.id, "automatic escalation", "system"),
        (2, SYSTEM_ACTOR.id, "automatic escalation", "system"),
    ], steps
    to_charge_s = steps[0][1] - ignored.t_ns / 1e9
    to_hospital_s = steps[1][1] - steps[0][1]
    assert TO_CHARGE_NURSE_S <= to_charge_s <= TO_CHARGE_NURSE_S + SLACK_S, to_charge_s
    assert TO_HOSPITAL_S <= to_hospital_s <= TO_HOSPITAL_S + SLACK_S, to_hospital_s
    assert (
        deployment.sql(
            "SELECT count(*) FROM alert_events WHERE alert_id = %s AND kind = 'escalated'", (handled.alert_id,)
        )[0][0]
        == 0
    )
    audits = deployment.sql(
        "SELECT detail ->> 'level' FROM audit_log WHERE action = 'alert_escalated' AND detail ->> 'alert' = %s",
        (ignored.alert_id,),
    )
    assert sorted(a[0] for a in audits) == ["1", "2"], "two replicas, yet each level recorded once"

    escalation_id = control_id("pcd04-escalation", f"{ignored.alert_id}:L2")
    deployment.wait(lambda: escalation_id in {a.control_id for a in listener.snapshot()}, 30, "the hospital message")
    arrivals = listener.snapshot()
    hospital = [a for a in arrivals if a.control_id == escalation_id]
    assert len(hospital) == 1 and "ESCALATED to on-call physician (level 2)" in hospital[0].text
    assert not any(handled.alert_id in a.text or "ESCALATED" in a.text for a in arrivals if a is not hospital[0])
    raises = {control_id("pcd04", ignored.idempotency_key()), control_id("pcd04", handled.idempotency_key())}
    assert raises <= {a.control_id for a in arrivals}

    states = asyncio.run(alert_states(deployment, {ignored.alert_id, handled.alert_id}))
    escalated = [(s.alert_id, s.escalation_level, s.actor_name) for s in states if s.action == "escalated"]
    assert escalated == [
        (ignored.alert_id, 1, "automatic escalation"),
        (ignored.alert_id, 2, "automatic escalation"),
    ], escalated
    assert [s.action for s in states if s.alert_id == handled.alert_id] == ["acknowledged"]

    with deployment.http() as http:
        deliveries = http.get(
            f"/api/v1/alerts/{ignored.alert_id}/deliveries", headers=deployment.api.headers("charge_nurse")
        ).json()
    kinds = [(m["kind"], m["state"], m["escalation_level"]) for m in deliveries["messages"]]
    assert kinds == [("pcd04", "delivered", None), ("pcd04-escalation", "delivered", 2)], kinds
    print(
        f"\nescalation: charge nurse after {to_charge_s:.1f} s (configured {TO_CHARGE_NURSE_S:.0f}), hospital "
        f"channel {to_hospital_s:.1f} s later (configured {TO_HOSPITAL_S:.0f}); acknowledged at "
        f"{acked_after_s:.1f} s: never escalated"
    )
