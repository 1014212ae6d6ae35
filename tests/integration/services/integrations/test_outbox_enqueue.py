"""Issue 8: the sink queues hospital messages in the transaction that stores the alert step, and a replay of the same
Kafka range (a new consumer group reading everything again) queues nothing twice and burns no event number.
Real Kafka, real TimescaleDB, the real Sink in process."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from ingest.wire import Event
from services.db import hospitals as hospitals_repo
from services.db import subscriptions as subscriptions_repo
from services.integrations.fhir.subscriptions import CARDIAC_REHAB_ALERT_TOPIC, CARDIAC_REHAB_SESSION_SUMMARY_TOPIC
from services.integrations.ids import control_id
from services.integrations.stored import StoredHospitalConfig
from services.sink.runner import Sink
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES
from tests.support.stack import unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

T0 = 1_790_000_000 * 10**9


async def drain(kafka: KafkaSettings, url: str, producer: EventProducer, expected: int) -> Sink:
    sink = Sink(SinkSettings(group_id=unique("sink-"), batch_wait_ms=50), kafka, url, producer)
    await sink.start()
    task = asyncio.create_task(sink.run())
    deadline = time.monotonic() + 60
    try:
        while sink.stats.messages < expected:
            assert time.monotonic() < deadline, f"sink processed {sink.stats.messages} of {expected}"
            assert not task.done(), task.exception()
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.stop()
    return sink


async def setup_hospital(url: str) -> tuple[str, str]:
    config = StoredHospitalConfig.model_validate(
        {
            "hospital_id": "genhosp",
            "sending_application": {"universal_id": "0123456789ABCDEF"},
            "sending_facility": "CR",
            "receiving_application": "ENGINE",
            "receiving_facility": "GENHOSP",
            "mllp": {"host": "127.0.0.1", "port": 1},
            "fhir": {"rest_hook_url": "https://engine.example/hook", "bearer_token_ref": None},
            "send_alerts_pcd04": True,
        }
    )
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("INSERT INTO clinics (id, name) VALUES ('c1', 'C1')")
        await conn.execute("INSERT INTO patients (id, clinic_id, display_name) VALUES ('p1', 'c1', 'P1')")
        await conn.execute("INSERT INTO patients (id, clinic_id, display_name) VALUES ('p9', 'c1', 'P9')")
        fhir = config.fhir_part()
        assert fhir is not None and config.mllp_part() is not None
        await hospitals_repo.save_hospital(
            conn,
            hospital_id="genhosp",
            settings=config.settings_part(),
            endpoints=[
                hospitals_repo.EndpointRow("fhir-rest-hook", *fhir),
                hospitals_repo.EndpointRow("mllp", config.mllp_part() or {}, None),
            ],
            clinic_id="c1",
            actor=None,
        )
        ids = []
        for topic in (CARDIAC_REHAB_ALERT_TOPIC, CARDIAC_REHAB_SESSION_SUMMARY_TOPIC):
            sid = unique("sub-")
            await subscriptions_repo.create_subscription(
                conn,
                subscription_id=sid,
                hospital_id="genhosp",
                topic=topic,
                endpoint="https://engine.example/hook",
                content="id-only",
                heartbeat_period_s=None,
                timeout_s=None,
                filter_criteria=[],
                headers=[],
                reason="test",
                end_at=None,
                created_by=None,
            )
            ids.append(sid)
        await conn.commit()
    return ids[0], ids[1]


def alert(revision: int, event: str, patient: str = "p1") -> AlertV1:
    return AlertV1(
        alert_id=f"{patient}:hr:1",
        patient_id=patient,
        rule="hr_above_ceiling",
        tier="urgent",
        event=event,  # type: ignore[arg-type]
        revision=revision,
        t_ns=T0 + revision * 10**9,
        message="HR above ceiling",
        value=150.0,
        threshold=140.0,
    )


def outbox(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT kind, message_id, ordering_key, event_number, md5(payload) FROM outbox ORDER BY id"
        ).fetchall()


async def test_enqueued_in_the_sink_transaction_and_a_replay_adds_nothing(
    kafka: KafkaSettings, database_url: str
) -> None:
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    alert_sub, session_sub = await setup_hospital(database_url)
    summary = SessionV1(
        session_id="p1:s",
        patient_id="p1",
        event="summary",
        t_ns=T0 + 10**12,
        started_ns=T0,
        ended_ns=T0 + 10**12,
        duration_s=1000.0,
        peak_hr_bpm=140.0,
    )
    steps = [alert(0, "raised"), alert(1, "updated"), alert(2, "cleared")]
    reading = SensorHrV1(patient_id="p1", device_id="d", seq=1, gateway_time_ns=T0, hr_bpm=90)
    events: list[Event] = [*steps, steps[1], summary, reading, alert(0, "raised", patient="p9")]
    async with EventProducer(kafka) as producer:
        await producer.send_many(events)
        first = await drain(kafka, database_url, producer, len(events))
        after_first = outbox(database_url)
        await drain(kafka, database_url, producer, len(events))
        after_replay = outbox(database_url)

    assert first.stats.dead_lettered == 0
    kinds = [row[0] for row in after_first]
    assert kinds.count("pcd04") == 4 and kinds.count("fhir-alert") == 4 and kinds.count("fhir-session-summary") == 1
    assert after_replay == after_first, "the replay changed the outbox"
    pcd04 = [row for row in after_first if row[0] == "pcd04" and row[2] == "mllp:genhosp:p1"]
    assert [row[1] for row in pcd04] == [control_id("pcd04", s.idempotency_key()) for s in steps]
    numbers = [row[3] for row in after_first if row[2] == f"fhir:{alert_sub}"]
    assert numbers == [1, 2, 3, 4], numbers
    assert [row[3] for row in after_first if row[2] == f"fhir:{session_sub}"] == [1]
    with psycopg.connect(database_url) as conn:
        counters = dict(conn.execute("SELECT id, events_since_start FROM fhir_subscriptions").fetchall())
    assert counters == {alert_sub: 4, session_sub: 1}, "a replay must not burn event numbers"


async def test_pcd01_is_queued_at_the_hospitals_cadence_once(kafka: KafkaSettings, database_url: str) -> None:
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    config = StoredHospitalConfig.model_validate(
        {
            "hospital_id": "obshosp",
            "sending_application": {"universal_id": "0123456789ABCDEF"},
            "sending_facility": "CR",
            "receiving_application": "FLOWSHEET",
            "receiving_facility": "GENHOSP",
            "mllp": {"host": "127.0.0.1", "port": 1},
            "observations": {"send_pcd01": True, "cadence_s": 60},
        }
    )
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute("INSERT INTO clinics (id, name) VALUES ('c1', 'C1')")
        await conn.execute("INSERT INTO patients (id, clinic_id, display_name) VALUES ('p1', 'c1', 'P1')")
        await hospitals_repo.save_hospital(
            conn,
            hospital_id="obshosp",
            settings=config.settings_part(),
            endpoints=[hospitals_repo.EndpointRow("mllp", config.mllp_part() or {}, None)],
            clinic_id="c1",
            actor=None,
        )
        await conn.commit()
    t0 = T0 // 10**9
    seconds = [
        FeaturesV1(patient_id="p1", t_s=t0 + s, computed_time_ns=(t0 + s) * 10**9, hr_bpm=None if s == 120 else 100.0)
        for s in range(185)
    ]
    async with EventProducer(kafka) as producer:
        await producer.send_many(seconds)
        await drain(kafka, database_url, producer, len(seconds))
        first = outbox(database_url)
        await drain(kafka, database_url, producer, len(seconds))
        replay = outbox(database_url)
    assert [row[0] for row in first] == ["pcd01"] * 4 and replay == first
    assert [row[1] for row in first] == [control_id("pcd01", f"p1:{t0 + s}") for s in (0, 60, 121, 181)]
    assert {row[2] for row in first} == {"mllp-obs:obshosp:p1"}
