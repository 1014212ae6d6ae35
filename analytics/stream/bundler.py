"""The worker's first stage: forwards ``sensor.hr.v1`` to the internal bundle topic, one bundle per partition.

A plain aiokafka consumer (its own consumer group, ``<app id>-bundler``) reads the sensor topic; every
``bundle_linger_ms`` (25 ms) it writes each partition's new records as one bundle (:mod:`analytics.stream.bundle`)
to the *same* partition of the bundle topic, which the faust agent consumes. So a patient stays on one partition,
in order, and the agent's table stays co-partitioned with its input. At 5,000 readings a second over 12 partitions
a bundle holds about ten readings, which divides faust's per-event cost by ten for 25 ms of added latency at most.
It also decodes every reading, once, so the agent's thread (the worker's bottleneck) need not
(:mod:`analytics.stream.bundle`).

Nothing is lost: the source offsets are committed only after the broker acknowledged the bundles that carry them
(:class:`~analytics.stream.commits.Committer`). After a crash or a rebalance, records bundled but not committed
are bundled again by the next owner; the agent recognises them by their sequence numbers and emits nothing twice.
Stateless, so every worker runs one (as a child process, :mod:`analytics.stream.bundler_process`, or in its
own loop) and it scales with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from analytics.stream.bundle import bundles
from analytics.stream.commits import CommitOnRevoke, Committer
from analytics.stream.settings import WorkerSettings
from ingest.kafka_config import KafkaSettings

log = logging.getLogger(__name__)
BUNDLE_MAX_BYTES = 512 * 1024  # well under the broker's 1 MiB message limit


def bundle_topic_name(app_id: str) -> str:
    return f"{app_id}-sensor-bundles"


def bundler_group_id(app_id: str) -> str:
    return f"{app_id}-bundler"


class Bundler:
    def __init__(self, settings: WorkerSettings, kafka: KafkaSettings, *, source: str, dest: str) -> None:
        self.settings = settings
        self.kafka = kafka
        self.source = source
        self.dest = dest
        self.group = bundler_group_id(settings.app_id)
        self.bundles = 0
        self.records = 0

    async def run(self) -> None:
        """Runs until cancelled; then commits what the broker has acknowledged and leaves the group."""
        s = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap,
            group_id=self.group,
            client_id=f"{self.group}-{s.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.bundle_max_records * 4,  # the loop asks for as many
            session_timeout_ms=int(s.session_timeout_s * 1000),
            heartbeat_interval_ms=int(s.session_timeout_s * 1000 / 3),
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=self.kafka.bootstrap,
            client_id=f"{self.group}-{s.name}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=0,  # a bundle is already a batch; waiting longer only adds latency
            max_request_size=2 * BUNDLE_MAX_BYTES,
        )
        await producer.start()
        try:
            await consumer.start()
            committer = Committer(consumer)
            listener = CommitOnRevoke()
            listener.committer = committer
            consumer.subscribe([self.source], listener=listener)
            try:
                await self._loop(consumer, producer, committer)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(committer.finish())
                await consumer.stop()
        finally:
            await producer.stop()
            log.info("bundler: %d records in %d bundles", self.records, self.bundles)

    async def _loop(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, committer: Committer) -> None:
        linger = self.settings.bundle_linger_ms / 1000.0
        interval = self.settings.commit_interval_s
        poll_max = self.settings.bundle_max_records * 4
        pending: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        window_end: float | None = None
        last_commit = time.monotonic()
        while True:
            wait = linger if window_end is None else max(0.0, window_end - time.monotonic())
            batches = await consumer.getmany(timeout_ms=int(wait * 1000), max_records=poll_max)
            for tp, records in batches.items():
                if records:
                    pending.setdefault(tp, []).extend(records)
            now = time.monotonic()
            if pending and window_end is None:
                window_end = now + linger
            if window_end is not None and now >= window_end:
                await self._send(producer, committer, pending)
                pending, window_end = {}, None
            if now - last_commit >= interval:
                committer.start()
                last_commit = now

    async def _send(
        self,
        producer: AIOKafkaProducer,
        committer: Committer,
        pending: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        for tp, records in pending.items():
            for data, last_offset in bundles(tp.partition, records, self.settings.bundle_max_records, BUNDLE_MAX_BYTES):
                future = await producer.send(self.dest, data, partition=tp.partition)
                committer.track(tp, last_offset, future)
                self.bundles += 1
            self.records += len(records)
