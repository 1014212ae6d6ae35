"""The sink's consume → write → commit loop.

A batch is decoded, invalid messages are dead-lettered, the rest are written in one database transaction, and
only then are the batch's offsets committed. If the database is unreachable the same batch is retried with
backoff (nothing is committed, so nothing is lost); a row the database refuses is isolated and dead-lettered so
one poison message never blocks the others.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ingest.events import DeadLetterV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.wire import Event, SchemaError, decode
from services import health
from services.sink.backoff import backoff_s
from services.sink.repository import copy_rows
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES, TableSpec

log = logging.getLogger(__name__)

TRANSIENT_DB_ERRORS = (psycopg.OperationalError, PoolTimeout, psycopg.errors.AdminShutdown)


@dataclass
class SinkStats:
    batches: int = 0
    rows_written: int = 0
    messages: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_commit_ns: int = 0
    per_table: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Decoded:
    spec: TableSpec
    event: Event
    record: ConsumerRecord[bytes, bytes]


def origin_of(record: ConsumerRecord[bytes, bytes]) -> str:
    return f"kafka:{record.topic}/{record.partition}@{record.offset}"


def dead_letter_for(record: ConsumerRecord[bytes, bytes], reason: str, now_ns: int) -> DeadLetterV1:
    value = record.value or b""
    try:
        text, b64 = value.decode(), None
    except UnicodeDecodeError:
        text, b64 = None, base64.b64encode(value).decode()
    return DeadLetterV1(
        stage="sink",
        origin=origin_of(record),
        reason=reason,
        received_time_ns=now_ns,
        key=record.key.decode(errors="replace") if record.key else None,
        payload_utf8=text,
        payload_b64=b64,
    )


class Sink:
    def __init__(
        self,
        settings: SinkSettings,
        kafka: KafkaSettings,
        pool: AsyncConnectionPool,
        producer: EventProducer,
        *,
        specs: Sequence[TableSpec] = ALL_TABLES,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._settings = settings
        self._kafka = kafka
        self._pool = pool
        self._producer = producer
        self._clock_ns = clock_ns
        self._by_topic = {kafka.topic(s.event_type.TOPIC): s for s in specs}
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self.stats = SinkStats()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *self._by_topic,
            bootstrap_servers=self._kafka.bootstrap,
            client_id=f"{self._kafka.client_id}-sink",
            group_id=self._settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
            isolation_level="read_committed",
        )
        await self._consumer.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def run(self) -> None:
        """Consume until :meth:`stop`."""
        assert self._consumer is not None, "start() the sink first"
        while not self._stopping.is_set():
            await asyncio.to_thread(health.beat, "sink")
            batches = await self._consumer.getmany(
                timeout_ms=self._settings.batch_wait_ms, max_records=self._settings.batch_max_records
            )
            records = [r for part in batches.values() for r in part]
            if records:
                await self.process(records)

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Decode, write, then commit one batch (retrying the write until it succeeds or we stop)."""
        now = self._clock_ns()
        good: list[Decoded] = []
        letters: list[DeadLetterV1] = []
        for record in records:
            spec = self._by_topic[record.topic]
            try:
                good.append(Decoded(spec, decode(spec.event_type, record.value or b""), record))
            except SchemaError as exc:
                letters.append(dead_letter_for(record, str(exc), now))
        refused = await self._write_with_retry(good)
        letters.extend(dead_letter_for(d.record, reason, now) for d, reason in refused)
        if letters:
            await self._producer.send_many(letters)
            self.stats.dead_lettered += len(letters)
        await self._commit(records)
        self.stats.batches += 1
        self.stats.messages += len(records)

    async def _commit(self, records: Iterable[ConsumerRecord[bytes, bytes]]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
        assert self._consumer is not None
        await self._consumer.commit(offsets)
        self.stats.last_commit_ns = self._clock_ns()

    async def _write_with_retry(self, items: Sequence[Decoded]) -> list[tuple[Decoded, str]]:
        attempt = 0
        while True:
            try:
                return await self._write(items)
            except TRANSIENT_DB_ERRORS as exc:
                if self._stopping.is_set():
                    raise
                delay = backoff_s(attempt, initial_s=self._settings.retry_initial_s, max_s=self._settings.retry_max_s)
                log.warning("database unavailable (%s); retrying batch of %d in %.1f s", exc, len(items), delay)
                self.stats.retries += 1
                attempt += 1
                await asyncio.sleep(delay)

    async def _write(self, items: Sequence[Decoded]) -> list[tuple[Decoded, str]]:
        """One transaction for the batch; if the database refuses a row, find it and refuse only that row."""
        try:
            await self._write_all(items)
            return []
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError) as exc:
            if len(items) == 1:
                return [(items[0], f"database refused the row: {exc}".strip())]
            log.warning("database refused a row in a batch of %d (%s); isolating it", len(items), exc)
        refused: list[tuple[Decoded, str]] = []
        for item in items:
            refused.extend(await self._write([item]))
        return refused

    async def _write_all(self, items: Sequence[Decoded]) -> None:
        by_spec: dict[str, tuple[TableSpec, dict[tuple[Any, ...], Sequence[Any]]]] = {}
        for item in items:
            spec, rows = by_spec.setdefault(item.spec.table, (item.spec, {}))
            row = spec.to_row(item.event)
            key = tuple(row[spec.columns.index(c)] for c in spec.conflict)
            rows[key] = row  # a replayed message within one batch collapses onto its key; the last one wins
        async with self._pool.connection() as conn, conn.transaction():
            for spec, rows in by_spec.values():
                written = await copy_rows(conn, spec, list(rows.values()))
                self.stats.per_table[spec.table] = self.stats.per_table.get(spec.table, 0) + written
                self.stats.rows_written += written
