"""Issue 6, sink: every topic lands in TimescaleDB, replaying the same Kafka range twice changes nothing, an older
alert revision never overwrites a newer state, session state does not depend on arrival order, poison messages go
to deadletter.v1. Real Kafka, real TimescaleDB, the real Sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from uuid import uuid4

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer

from ingest.events import DeadLetterV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from ingest.wire import Event, decode
from services.db import alerts as alerts_repo
from services.sink.runner import Sink
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES
from tests.integration.services import events_factory as ev
from tests.support.stack import unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

TABLES = ("sensor_hr", "sensor_ecg", "sensor_acc", "features", "alert_events", "alerts", "session_events", "sessions")


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (*TABLES, "dead_letters")}  # type: ignore[index]


async def drain(kafka: KafkaSettings, url: str, producer: EventProducer, expected: int, group: str) -> Sink:
    """Run a sink in its own consumer group until it has processed ``expected`` messages."""
    sink = Sink(SinkSettings(group_id=group, batch_wait_ms=50, retry_initial_s=0.2), kafka, url, producer)
    await sink.start()
    task = asyncio.create_task(sink.run())
    deadline = time.monotonic() + 60
    try:
        while sink.stats.messages < expected:
            assert time.monotonic() < deadline, f"sink processed {sink.stats.messages} of {expected} messages"
            assert not task.done(), task.exception()
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.stop()
    return sink


async def publish(producer: EventProducer, events: Sequence[Event]) -> None:
    await producer.send_many(events)


async def dead_letters(kafka: KafkaSettings, n: int) -> list[DeadLetterV1]:
    consumer = AIOKafkaConsumer(
        kafka.topic(DeadLetterV1.TOPIC), bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        found: list[DeadLetterV1] = []
        deadline = time.monotonic() + 20
        while len(found) < n and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(decode(DeadLetterV1, r.value or b"") for r in records)
        return found
    finally:
        await consumer.stop()


async def test_every_topic_lands_once_and_a_replay_changes_nothing(kafka: KafkaSettings, database_url: str) -> None:
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    p1, p2 = "p-one", "p-two"
    readings = [ev.hr(p, f"{p}-strap", seq) for p in (p1, p2) for seq in range(100)]
    events: list[Event] = [
        *readings,
        *readings[:10],  # a gateway re-sent ten readings after a reconnect: same keys
        *(ev.ecg(p1, f"{p1}-h10", seq) for seq in range(30)),
        *(ev.acc(p1, f"{p1}-h10", seq) for seq in range(10)),
        *(ev.features(p, s) for p in (p1, p2) for s in range(60)),
        # alert a1: revision 2 arrives after 3 (an older revision must not overwrite the newer state)
        ev.alert(p1, "a1", 0, event="raised"),
        ev.alert(p1, "a1", 1),
        ev.alert(p1, "a1", 3, tier="urgent", value=152.0),
        ev.alert(p1, "a1", 2, value=140.0),
        ev.alert(p2, "a2", 0, event="raised"),
        ev.alert(p2, "a2", 1, event="cleared"),
        # session s1: the summary arrives before the start and the end
        ev.session(p1, "s1", "summary"),
        ev.session(p1, "s1", "start"),
        ev.session(p1, "s1", "end"),
        ev.session(p2, "s2", "start"),
    ]
    async with EventProducer(kafka) as producer:
        await publish(producer, events)
        # poison: not JSON, and JSON of the wrong shape
        await producer._producer.send_and_wait(kafka.topic("features.v1"), b"{not json", key=p1.encode())
        await producer._producer.send_and_wait(kafka.topic("alerts.v1"), b'{"alert_id": 7}', key=p1.encode())
        total = len(events) + 2

        # Each run also reads back the two dead letters it wrote (the sink stores deadletter.v1 as well).
        first = await drain(kafka, database_url, producer, total + 2, unique("sink-a-"))
        after_first = counts(database_url)
        second = await drain(kafka, database_url, producer, total + 4, unique("sink-b-"))
        after_second = counts(database_url)

    assert after_first == after_second, "replaying the same range changed the database"
    # features are upserted (late data may recompute a second), everything else is insert-once
    assert {t: n for t, n in second.stats.per_table.items() if n and t != "features"} == {}, second.stats.per_table
    assert after_first["sensor_hr"] == 200
    assert after_first["sensor_ecg"] == 30
    assert after_first["sensor_acc"] == 10
    assert after_first["features"] == 120
    assert after_first["alert_events"] == 6
    assert after_first["alerts"] == 2
    assert after_first["session_events"] == 4
    assert after_first["sessions"] == 2
    assert first.stats.dead_lettered == 2 and second.stats.dead_lettered == 2
    assert after_first["dead_letters"] == 2

    with psycopg.connect(database_url) as conn:
        a1 = conn.execute("SELECT revision, tier, state, value, raised_at FROM alerts WHERE alert_id = 'a1'").fetchone()
        a2 = conn.execute("SELECT state, cleared_at IS NOT NULL FROM alerts WHERE alert_id = 'a2'").fetchone()
        s1 = conn.execute(
            "SELECT status, started_at, ended_at IS NOT NULL, peak_hr_bpm, flags FROM sessions WHERE session_id = 's1'"
        ).fetchone()
        s2 = conn.execute("SELECT status FROM sessions WHERE session_id = 's2'").fetchone()
        samples = conn.execute("SELECT array_length(samples_uv, 1) FROM sensor_ecg LIMIT 1").fetchone()
        acc_dims = conn.execute("SELECT array_dims(samples_mg) FROM sensor_acc LIMIT 1").fetchone()
    assert a1 is not None and a1[:4] == (3, "urgent", "active", 152.0), a1
    assert a1[4].timestamp() == pytest.approx(ev.T0_NS / 1e9), "raised_at is the first revision's time"
    assert a2 == ("cleared", True)
    assert s1 is not None and s1[0] == "summarised" and s1[2] and s1[3] == 131.0 and s1[4] == ["demo"], s1
    assert s1[1].timestamp() == pytest.approx(ev.T0_NS / 1e9)
    assert s2 == ("active",)
    assert samples == (73,) and acc_dims == ("[1:25][1:3]",)

    letters = await dead_letters(kafka, 4)
    reasons = {letter.origin.split("@")[0]: letter.reason for letter in letters}
    assert any("not valid JSON" in r for r in reasons.values()), reasons
    assert any("alerts.v1" in o for o in reasons), reasons


async def test_an_engine_rise_in_tier_withdraws_acknowledgement_and_snooze(
    kafka: KafkaSettings, database_url: str
) -> None:
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    async with EventProducer(kafka) as producer:
        await publish(producer, [ev.alert("p1", "b1", 0, event="raised", tier="nurse")])
        await drain(kafka, database_url, producer, 1, unique("sink-c-"))
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await conn.execute("INSERT INTO clinics (id, name) VALUES ('c1', 'C') ON CONFLICT DO NOTHING")
            await conn.execute("INSERT INTO patients (id, clinic_id, display_name) VALUES ('p1', 'c1', 'P')")
            row = await alerts_repo.alert_by_id(conn, "b1", for_update=True)
            assert row is not None
            await alerts_repo.acknowledge(conn, row, alerts_repo.Actor(uuid4(), "Nurse N", "nurse"), None)
            await conn.commit()
        # same tier: the acknowledgement stays; higher tier: it is withdrawn
        await publish(producer, [ev.alert("p1", "b1", 1, tier="nurse"), ev.alert("p1", "b1", 2, tier="urgent")])
        group = unique("sink-d-")
        await drain(kafka, database_url, producer, 3, group)
    with psycopg.connect(database_url) as conn:
        state = conn.execute(
            "SELECT revision, tier, acknowledged_at, action_seq FROM alerts WHERE alert_id = 'b1'"
        ).fetchone()
        kinds = [r[0] for r in conn.execute("SELECT kind FROM alert_events WHERE alert_id = 'b1' ORDER BY at, id")]
    assert state is not None and state[:3] == (2, "urgent", None) and state[3] == 2, state
    assert sorted(kinds) == ["acknowledged", "raised", "updated", "updated"], kinds
