"""Issue 8: alerts reach a hospital's MLLP listener as PCD-04, in order per patient, exactly once, through a
two-minute outage, and a negative acknowledgement is reported.

Real components only: Kafka and TimescaleDB of the local stack (private topics and database), the real API, sink
and two dispatcher replicas as ``cardiorehab`` processes, and the ``hl7`` package's asyncio MLLP server on
127.0.0.1 at a runtime port, stopped and restarted on the same port for the outage.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.events import AlertV1
from services.integrations.ids import control_id
from tests.integration.services.integrations.receivers import Arrival, MllpListener
from tests.integration.services.integrations.rig import Rig, hospital_body, rig
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

PATIENTS = ("sim-001", "sim-002", "sim-003")
OUTAGE_S = 120.0  # the requirement: the listener is down for two minutes


def steps(patient: str, tag: str, *, tier: str = "nurse", marker: str = "") -> list[AlertV1]:
    """One alert episode: raised, updated (to urgent), cleared, stamped now."""
    alert_id = f"{patient}:hr_above_ceiling:{tag}"
    now = time.time_ns()
    return [
        AlertV1(
            alert_id=alert_id,
            patient_id=patient,
            session_id=f"{patient}:s",
            rule="hr_above_ceiling",
            tier=("urgent" if revision else tier),  # type: ignore[arg-type]
            event=event,  # type: ignore[arg-type]
            revision=revision,
            t_ns=now + revision * 1_000_000,
            message=f"{marker if revision == 0 else ''}HR {131 + revision} above ceiling 125",
            value=131.0 + revision,
            threshold=125.0,
        )
        for revision, event in enumerate(("raised", "updated", "cleared"))
    ]


def msh10(step: AlertV1) -> str:
    return control_id("pcd04", step.idempotency_key())


def by_patient(arrivals: list[Arrival]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = defaultdict(list)
    for arrival in arrivals:
        result[arrival.pid3.split("^")[0]].append(arrival.control_id)
    return result


@pytest.fixture(scope="module")
def listener() -> Iterator[MllpListener]:
    running = MllpListener().start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def deployment(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory, listener: MllpListener) -> Iterator[Rig]:
    work: Path = tmp_path_factory.mktemp("mllp")
    with rig(stack, work) as running:
        running.configure_hospital(
            hospital_body(
                unique("genhosp-"),
                mllp={"host": "127.0.0.1", "port": listener.port, "ack_timeout_s": 5, "connect_timeout_s": 2},
                send_alerts_pcd04=True,
                # long timings: this module is about delivery, escalation has its own test
                escalation={
                    "urgent": {"to_charge_nurse_s": 3600, "to_hospital_channel_s": 3600},
                    "nurse": {"to_charge_nurse_s": 3600, "to_hospital_channel_s": 3600},
                },
            )
        )
        running.start_sink()
        running.start_dispatcher("d1")
        running.start_dispatcher("d2")
        yield running


def delivered_ids(listener: MllpListener) -> set[str]:
    return {a.control_id for a in listener.snapshot()}


def test_alerts_arrive_once_and_in_order_per_patient_with_two_dispatchers(
    deployment: Rig, listener: MllpListener
) -> None:
    episodes = {p: steps(p, "a1") + steps(p, "a2") for p in PATIENTS}
    deployment.produce([s for p in PATIENTS for s in episodes[p]])
    expected = {p: [msh10(s) for s in episodes[p]] for p in PATIENTS}
    wanted = {cid for ids in expected.values() for cid in ids}

    deployment.wait(lambda: wanted <= delivered_ids(listener), 90, "the 18 PCD-04 messages")
    arrivals = [a for a in listener.snapshot() if a.control_id in wanted]
    counts: dict[str, int] = defaultdict(int)
    for a in arrivals:
        counts[a.control_id] += 1
    assert all(n == 1 for n in counts.values()), {c: n for c, n in counts.items() if n != 1}
    assert by_patient(arrivals) == expected, "per-patient order differs from the engine's order"
    assert all("ORU^R40^ORU_R40" in a.text and a.ack == "AA" for a in arrivals)
    rows = deployment.sql(
        "SELECT state, count(*), count(DISTINCT delivered_by) FROM outbox WHERE message_id = ANY(%s) GROUP BY state",
        (sorted(wanted),),
    )
    assert rows and rows[0][:2] == ("delivered", 18), rows
    print(
        f"\nreplicas that delivered: {rows[0][2]}; MLLP connections opened by the dispatchers: {listener.connections}"
    )


def test_a_two_minute_outage_loses_nothing_and_duplicates_nothing(deployment: Rig, listener: MllpListener) -> None:
    before = listener.snapshot()
    listener.stop()
    down_at = time.monotonic()
    first = {p: steps(p, "outage-early") for p in PATIENTS}
    deployment.produce([s for p in PATIENTS for s in first[p]])
    # the sink stores them and the dispatchers try, fail and back off
    deployment.wait(
        lambda: (
            deployment.sql(
                "SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts > 0 AND last_error LIKE %s",
                ("%cannot connect%",),
            )[0][0]
            >= len(PATIENTS)
        ),
        60,
        "failed attempts against the stopped listener",
    )
    time.sleep(max(0.0, down_at + OUTAGE_S / 2 - time.monotonic()))
    late = {p: steps(p, "outage-late", tier="urgent") for p in PATIENTS}
    deployment.produce([s for p in PATIENTS for s in late[p]])
    time.sleep(max(0.0, down_at + OUTAGE_S - time.monotonic()))
    pending, max_attempts = deployment.sql("SELECT count(*), max(attempts) FROM outbox WHERE state = 'pending'")[0]
    assert len(listener.snapshot()) == len(before), "nothing can arrive while the listener is down"
    assert pending == 2 * 3 * len(PATIENTS), f"{pending} pending after the outage, expected 18"

    listener.start()  # the same port: the engine is back
    up_at = time.monotonic()
    expected = {p: [msh10(s) for s in first[p] + late[p]] for p in PATIENTS}
    wanted = {cid for ids in expected.values() for cid in ids}
    deployment.wait(lambda: wanted <= delivered_ids(listener), 60, "the messages queued during the outage")
    recovered_s = max(a.at for a in listener.snapshot() if a.control_id in wanted) - up_at

    all_arrivals = listener.snapshot()
    counts: dict[str, int] = defaultdict(int)
    for a in all_arrivals:
        counts[a.control_id] += 1
    duplicates = {c: n for c, n in counts.items() if n > 1}
    assert duplicates == {}, f"delivered more than once: {duplicates}"
    outage_arrivals = [a for a in all_arrivals if a.control_id in wanted]
    assert by_patient(outage_arrivals) == expected
    assert deployment.sql("SELECT count(*) FROM outbox WHERE state <> 'delivered'")[0][0] == 0
    print(
        f"\noutage {OUTAGE_S:.0f} s: {len(wanted)} messages queued, up to {max_attempts} attempts each while down; "
        f"all delivered {recovered_s:.1f} s after the listener returned, each once, in order per patient"
    )


def test_a_negative_ack_is_reported_and_does_not_hold_back_later_alerts(
    deployment: Rig, listener: MllpListener
) -> None:
    refused, accepted = steps("sim-002", "nak", marker="REJECT-ME ")[:2]
    deployment.produce([refused, accepted])
    deployment.wait(lambda: msh10(accepted) in delivered_ids(listener), 60, "the step after the refused one")
    arrivals = [a for a in listener.snapshot() if a.control_id in (msh10(refused), msh10(accepted))]
    assert [(a.control_id, a.ack) for a in arrivals] == [(msh10(refused), "AE"), (msh10(accepted), "AA")]

    with deployment.http() as http:
        detail = http.get(f"/api/v1/alerts/{refused.alert_id}/deliveries", headers=deployment.api.headers("nurse"))
        nacked = http.get("/api/v1/deliveries", params={"state": "nacked"}, headers=deployment.api.headers("nurse"))
    assert detail.status_code == 200, detail.text
    body = detail.json()
    states = [(m["message_id"], m["state"], m["ack_code"]) for m in body["messages"]]
    assert states == [(msh10(refused), "nacked", "AE"), (msh10(accepted), "delivered", "AA")], states
    assert body["summary"][0]["state"] == "nacked" and body["summary"][0]["nacked"] == 1
    assert "content refused by test engine" in body["messages"][0]["last_error"]
    assert [m["message_id"] for m in nacked.json()] == [msh10(refused)]

    audit = deployment.sql(
        "SELECT actor, detail ->> 'message_id', detail ->> 'ack_code' FROM audit_log "
        "WHERE action = 'integration_delivery_nacked'"
    )
    assert [(a[1], a[2]) for a in audit] == [(msh10(refused), "AE")] and audit[0][0].startswith("dispatcher:")
    logs = "".join(p.log_path.read_text() for p in deployment.dispatchers)
    assert f"DELIVERY NACKED: pcd04 message {msh10(refused)}" in logs
