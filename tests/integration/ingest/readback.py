"""Read what reached Kafka back, and what the virtual strap sent, for exactly-once comparisons."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ingest.gatt import parse_heart_rate_measurement, parse_pmd_frame
from ingest.kafka_config import KafkaSettings
from ingest.wire import Event, decode
from tests.sim.virtual_strap import VirtualStrap


@dataclass(frozen=True)
class Delivered:
    """Every message of one topic, in partition/offset order, decoded."""

    events: list[Any]
    partitions: set[int]

    def keys(self) -> Counter[str]:
        return Counter(e.idempotency_key() for e in self.events)


async def read_back(kafka: KafkaSettings, event_type: type[Event]) -> Delivered:
    """Read a topic from the beginning to its current end (all partitions)."""
    topic = kafka.topic(event_type.TOPIC)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, int(p["partition"])) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[Any] = []
        used: set[int] = set()
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=2000)
                for record in batch.get(tp, []):
                    out.append(decode(event_type, record.value))
                    used.add(tp.partition)
        return Delivered(out, used)
    finally:
        await consumer.stop()


def sent_hr(strap: VirtualStrap) -> list[tuple[int, tuple[float, ...]]]:
    out = []
    for sent in strap.sent:
        if sent.kind == "hrm" and not sent.malformed:
            m = parse_heart_rate_measurement(sent.payload)
            out.append((m.hr_bpm, m.rr_ms))
    return out


def sent_frames(strap: VirtualStrap, kind: str) -> list[tuple[int, tuple[Any, ...]]]:
    out = []
    for sent in strap.sent:
        if sent.kind == kind and not sent.malformed:
            frame = parse_pmd_frame(sent.payload)
            out.append((frame.unix_timestamp_ns, frame.samples))
    return out


def assert_exactly_once(delivered: Delivered) -> None:
    duplicates = {key: n for key, n in delivered.keys().items() if n > 1}
    assert not duplicates, f"duplicated in Kafka: {duplicates}"
