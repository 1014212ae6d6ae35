"""Builds the faust app: topics, tables and agents, from settings (nothing happens at import)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from analytics.events import FeaturesV1, PrescriptionV1
from analytics.stream import processor
from analytics.stream.defaults import default_prescription
from analytics.stream.settings import WorkerSettings
from ingest.events import DeadLetterV1, SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.wire import SchemaError, decode, encode

log = logging.getLogger(__name__)


@dataclass
class StreamApp:
    """The faust app with handles on what tests and the worker need."""

    app: faust.App
    sensor_topic: Any
    features_topic: Any
    prescriptions_topic: Any
    deadletter_topic: Any
    states: Any
    prescriptions: Any


def _beat(path: Path) -> None:
    path.write_text(str(time.time()))


def _broker_urls(kafka: KafkaSettings) -> list[str]:
    return [f"kafka://{host.strip()}" for host in kafka.bootstrap.split(",") if host.strip()]


def create_app(settings: WorkerSettings, kafka: KafkaSettings) -> StreamApp:
    (settings.data_dir / settings.name).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=_broker_urls(kafka),
        store="rocksdb://",
        datadir=str(settings.data_dir / settings.name),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        web_enabled=settings.web_port is not None,
        web_port=settings.web_port or 6066,
        web_bind="127.0.0.1",
        autodiscover=False,
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 3,
    )

    def raw_topic(base: str, **kw: Any) -> Any:
        return app.topic(
            kafka.topic(base),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=kafka.partitions,
            **kw,
        )

    sensor_topic = raw_topic(SensorHrV1.TOPIC)
    features_topic = raw_topic(FeaturesV1.TOPIC)
    prescriptions_topic = raw_topic(PrescriptionV1.TOPIC)
    deadletter_topic = raw_topic(DeadLetterV1.TOPIC)

    # bytes keys and values make faust use its "raw" codec; our own msgspec codecs do the (de)serialising.
    states = app.Table("patient-state", key_type=bytes, value_type=bytes, partitions=kafka.partitions)
    prescriptions = app.Table("prescriptions", key_type=bytes, value_type=bytes, partitions=kafka.partitions)

    async def dead_letter(event: Any, reason: str) -> None:
        message = event.message
        letter = DeadLetterV1(
            stage="analytics",
            origin=f"kafka:{message.topic}/{message.partition}@{message.offset}",
            reason=reason,
            received_time_ns=time.time_ns(),
            key=message.key.decode(errors="replace") if message.key else None,
            payload_utf8=message.value.decode(errors="replace") if message.value else None,
        )
        await deadletter_topic.send(key=letter.partition_key(), value=encode(letter))

    @app.agent(prescriptions_topic, name="prescriptions")
    async def on_prescription(stream: Any) -> None:
        async for event in stream.events():
            try:
                prescription = decode(PrescriptionV1, event.value)
            except SchemaError as exc:
                await dead_letter(event, str(exc))
                continue
            key = prescription.partition_key()
            current = prescriptions.get(key)
            if current is not None and decode(PrescriptionV1, current).version > prescription.version:
                continue  # an older version replayed after a newer one
            prescriptions[key] = event.value

    @app.agent(sensor_topic, name="sensor-hr")
    async def on_reading(stream: Any) -> None:
        async for event in stream.events():
            try:
                reading = decode(SensorHrV1, event.value)
            except SchemaError as exc:
                await dead_letter(event, str(exc))
                continue
            key = reading.partition_key()
            raw_rx = prescriptions.get(key)
            rx = decode(PrescriptionV1, raw_rx) if raw_rx else default_prescription(reading.patient_id)
            state = processor.load_state(states.get(key))
            new_state, features = processor.apply_reading(state, reading, rx, now_ns=time.time_ns())
            if features is None:
                continue
            states[key] = processor.dump_state(new_state)
            await features_topic.send(key=key, value=encode(features))

    @app.timer(interval=5.0)
    async def heartbeat() -> None:
        await asyncio.to_thread(_beat, settings.data_dir / settings.name / "alive")

    return StreamApp(app, sensor_topic, features_topic, prescriptions_topic, deadletter_topic, states, prescriptions)
