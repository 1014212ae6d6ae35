"""What the stream really produced: features and alerts as read from Kafka, with each record's Kafka timestamp."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from analytics.events import AlertV1, FeaturesV1
from ingest.kafka_config import KafkaSettings
from ingest.wire import decode
from tests.support.stack import unique


@dataclass
class Observed:
    features: dict[str, list[tuple[FeaturesV1, int]]] = field(default_factory=dict)  # patient -> (event, kafka ms)
    alerts: list[tuple[AlertV1, int]] = field(default_factory=list)

    def latest(self, patient_id: str, n: int = 1) -> list[FeaturesV1]:
        return [f for f, _ in self.features.get(patient_id, [])[-n:]]

    def raised(self, patient_id: str, rule: str) -> tuple[AlertV1, int] | None:
        return next(
            ((a, ts) for a, ts in self.alerts if a.patient_id == patient_id and a.rule == rule and a.event == "raised"),
            None,
        )


async def observe(kafka: KafkaSettings, into: Observed, stop: asyncio.Event) -> None:
    topics = {kafka.topic(FeaturesV1.TOPIC): FeaturesV1, kafka.topic(AlertV1.TOPIC): AlertV1}
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        group_id=unique("dashboard-observer-"),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            for tp, records in (await consumer.getmany(timeout_ms=100)).items():
                kind = topics[tp.topic]
                for r in records:
                    event = decode(kind, r.value or b"")
                    if isinstance(event, FeaturesV1):
                        into.features.setdefault(event.patient_id, []).append((event, r.timestamp))
                    elif isinstance(event, AlertV1):
                        into.alerts.append((event, r.timestamp))
    finally:
        await consumer.stop()
