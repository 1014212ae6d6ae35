"""Runs one faust worker process (`cardiorehab worker`)."""

from __future__ import annotations

import asyncio
from typing import NoReturn

import faust

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from analytics.stream.app import create_app
from analytics.stream.bundler import bundle_topic_name
from analytics.stream.settings import WorkerSettings
from ingest.collector import collect_less_often
from ingest.events import DeadLetterV1, SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.topics_admin import RETAINED, ensure_named_topics, ensure_topics


async def _ensure_topics(settings: WorkerSettings, kafka: KafkaSettings) -> None:
    await ensure_topics(kafka, [SensorHrV1, FeaturesV1, AlertV1, SessionV1, PrescriptionV1, DeadLetterV1])
    # The bundles of the sensor topic: partitioned like it, kept as long (a worker group that was down catches up).
    await ensure_named_topics(kafka, {bundle_topic_name(settings.app_id): RETAINED})


def run_worker(settings: WorkerSettings, kafka: KafkaSettings) -> NoReturn:
    collect_less_often(settings.gc_gen0_threshold)
    asyncio.run(_ensure_topics(settings, kafka))
    if settings.event_loop == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")  # measured: about a fifth less CPU per reading than the default loop
    stream = create_app(settings, kafka)
    worker = faust.Worker(stream.app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()  # runs until SIGTERM/SIGINT, then exits the process
