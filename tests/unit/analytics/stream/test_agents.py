"""The faust agents, driven in memory with ``agent.test_context()`` (no broker): thin loops around the runtime.

Outgoing record batches and ``topic.send`` calls are recorded instead of sent; everything else is the real app.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from analytics.stream.app import StreamApp, create_app
from analytics.stream.bundle import bundled, encode_bundle
from analytics.stream.faust_context import event_context
from analytics.stream.runtime import in_session
from analytics.stream.settings import WorkerSettings
from analytics.stream.shards import LocalShard
from ingest.events import DeadLetterV1, SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.simulate import Numbering, Translator
from ingest.simulator import Fleet, load_scenario
from ingest.wire import decode, encode
from tests.unit.analytics.stream.conftest import prescription, readings


@dataclass
class Sent:
    by_topic: dict[str, list[bytes]] = field(default_factory=dict)

    def of(self, app: StreamApp, topic: Any, kind: type[Any]) -> list[Any]:
        return [decode(kind, v) for v in self.by_topic.get(topic.get_topic_name(), [])]


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = time.time_ns()

    def __call__(self) -> int:
        return self.now_ns


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def stream(tmp_path: Path, clock: FakeClock) -> tuple[StreamApp, Sent]:
    settings = WorkerSettings(
        data_dir=tmp_path, name="agent-test", store="memory://", persist_interval_s=0.01, runtime_processes=0
    )
    sent = Sent()

    async def partitions_of(topic: str) -> int:
        return 12

    async def send_batch(topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[Any]:
        sent.by_topic.setdefault(topic, []).extend(value for _, value in items)
        return []

    sa = create_app(
        settings,
        KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="unit-"),
        clock_ns=clock,
        sender=(partitions_of, send_batch),
    )
    sa.app.finalize()
    sa.app.flow_control.resume()
    for topic in (sa.deadletter_topic, sa.ticks_topic):

        async def record(*, key: bytes, value: bytes, topic: Any = topic, **_: Any) -> None:
            sent.by_topic.setdefault(topic.get_topic_name(), []).append(value)

        topic.send = record
    return sa, sent


def agent(sa: StreamApp, name: str) -> Any:
    return next(a for a in sa.app.agents.values() if a.name.endswith(name))


class SourceRecord(NamedTuple):
    """A sensor-topic record as the bundler reads it."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def bundle(values: list[tuple[bytes, bytes]], first_offset: int = 0) -> bytes:
    """(key, value) records of partition 0, as the bundler forwards them."""
    return encode_bundle(0, [bundled(SourceRecord(first_offset + i, 0, k, v)) for i, (k, v) in enumerate(values)])


async def put_readings(sensor: Any, rs: list[SensorHrV1], per_bundle: int = 1) -> None:
    for i in range(0, len(rs), per_bundle):
        chunk = rs[i : i + per_bundle]
        await sensor.put(key=None, value=bundle([(r.partition_key(), encode(r)) for r in chunk], i), partition=0)


async def test_a_reading_becomes_a_session_and_a_feature_second(stream: tuple[StreamApp, Sent]) -> None:
    sa, sent = stream
    rs = readings("rehab_session", 5)
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await put_readings(sensor, rs[:2])  # one reading a bundle
        await put_readings(sensor, rs[2:], per_bundle=3)  # several
    features = sent.of(sa, sa.features_topic, FeaturesV1)
    assert [f.t_s for f in features] == [r.gateway_time_ns // 1_000_000_000 for r in rs]
    assert [s.event for s in sent.of(sa, sa.sessions_topic, SessionV1)] == ["start"]


async def test_a_malformed_reading_is_dead_lettered_and_the_stream_goes_on(stream: tuple[StreamApp, Sent]) -> None:
    sa, sent = stream
    good = readings("rehab_session", 3)
    bad = b'{"schema_version": 1, "patient_id": 5}'
    records = [(good[0].partition_key(), encode(good[0])), (b"sim-001", bad)]
    records += [(r.partition_key(), encode(r)) for r in good[1:]]
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await sensor.put(key=None, value=bundle(records, first_offset=40), partition=0)
    letters = sent.of(sa, sa.deadletter_topic, DeadLetterV1)
    assert len(letters) == 1 and "patient_id" in letters[0].reason and letters[0].stage == "analytics"
    assert letters[0].origin == "kafka:unit-sensor.hr.v1/0@41" and letters[0].payload_utf8 == bad.decode()
    assert len(sent.of(sa, sa.features_topic, FeaturesV1)) == len(good)


async def test_a_malformed_bundle_is_dead_lettered_whole(stream: tuple[StreamApp, Sent]) -> None:
    sa, sent = stream
    good = readings("rehab_session", 2)
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await sensor.put(key=None, value=bundle([(b"sim-001", b"{}")])[:-3], partition=0)
        await put_readings(sensor, good)
    letters = sent.of(sa, sa.deadletter_topic, DeadLetterV1)
    assert len(letters) == 1 and letters[0].reason.startswith("not a sensor bundle: ")
    assert "bytes that do not decode as one" in letters[0].reason
    assert len(sent.of(sa, sa.features_topic, FeaturesV1)) == len(good)


async def test_the_prescription_agent_keeps_the_newest_version(stream: tuple[StreamApp, Sent]) -> None:
    sa, _ = stream
    async with agent(sa, "prescriptions").test_context() as rx_agent:
        await rx_agent.put(key=b"sim-001", value=encode(prescription(version=5, ceiling_bpm=125.0)))
        await rx_agent.put(key=b"sim-001", value=encode(prescription(version=4, ceiling_bpm=150.0)))
    stored = decode(PrescriptionV1, sa.prescriptions[b"sim-001"])
    assert (stored.version, stored.ceiling_bpm) == (5, 125.0)


async def test_replayed_readings_emit_nothing_twice(stream: tuple[StreamApp, Sent]) -> None:
    sa, sent = stream
    rs = readings("rehab_session", 4)
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await put_readings(sensor, rs, per_bundle=3)
        await put_readings(sensor, rs, per_bundle=2)  # bundled again by a new owner after a rebalance
    assert len(sent.of(sa, sa.features_topic, FeaturesV1)) == len(rs)
    assert sent.of(sa, sa.alerts_topic, AlertV1) == []


async def test_a_tick_for_a_quiet_patient_raises_signal_lost(stream: tuple[StreamApp, Sent], clock: FakeClock) -> None:
    sa, sent = stream
    start = clock.now_ns
    fleet = Fleet(1, 3, load_scenario("rehab_session"), start_time_ns=start)
    translator = Translator(["sim-001"], ["strap-1"], Numbering(base=0))
    rs = [
        e for e in map(translator.translate, fleet.advance_to(start + 6 * 1_000_000_000)) if isinstance(e, SensorHrV1)
    ]
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await put_readings(sensor, rs)
    clock.now_ns = start + 20 * 1_000_000_000  # the strap went quiet 14 s ago
    async with agent(sa, "patient-ticks").test_context() as ticks:
        await ticks.put(key=b"sim-001", value=b"")
    lost = [a for a in sent.of(sa, sa.alerts_topic, AlertV1) if a.rule == "signal_lost"]
    assert [a.event for a in lost] == ["raised"]
    quiet = sent.of(sa, sa.features_topic, FeaturesV1)[-1]
    assert quiet.hr_bpm is None and quiet.cue == "check_strap" and quiet.data_age_s >= 8


async def test_a_new_prescription_reaches_a_patient_already_held(stream: tuple[StreamApp, Sent]) -> None:
    sa, sent = stream
    rs = readings("rehab_session", 6)
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await put_readings(sensor, rs[:3])
    async with agent(sa, "prescriptions").test_context() as rx_agent:
        await rx_agent.put(key=b"sim-001", value=encode(prescription(version=7)))
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await put_readings(sensor, rs[3:])
    versions = [f.prescription_version for f in sent.of(sa, sa.features_topic, FeaturesV1)]
    assert versions[:3] == [1, 1, 1] and set(versions[3:]) == {7}


@dataclass
class _Message:
    partition: int


@dataclass(eq=False)
class _Event:
    message: _Message


async def test_a_stored_state_is_found_whatever_event_is_current(tmp_path: Path) -> None:
    """faust's RocksDB store looks for a key only in the current event's partition; a shard's stored state is read
    while another partition's bundle may be current (the last of a batch), and must still be found."""
    settings = WorkerSettings(
        data_dir=tmp_path, name="rocks", store="rocksdb://", persist_interval_s=0.01, runtime_processes=0
    )

    async def partitions_of(topic: str) -> int:
        return 12

    async def send_batch(topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[Any]:
        return []

    sa = create_app(
        settings, KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="unit-"), sender=(partitions_of, send_batch)
    )
    sa.app.finalize()
    sa.app.flow_control.resume()
    rs = readings("rehab_session", 4)
    async with agent(sa, "sensor-hr").test_context() as sensor:
        await sensor.put(key=None, value=bundle([(r.partition_key(), encode(r)) for r in rs]), partition=3)
    shard = sa.shards.shards[0]
    assert isinstance(shard, LocalShard)
    with event_context(_Event(_Message(1))):
        (found,) = shard.load([b"sim-001"])
    assert found.state is not None and in_session(found.state)
