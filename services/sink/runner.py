"""The sink's consume → write → commit loop.

A batch is decoded, invalid messages are dead-lettered, the rest are written in one database transaction, and
only then are the batch's offsets committed. If the database is unreachable the same batch is retried with
backoff (nothing is committed, so nothing is lost); a row the database refuses is isolated and dead-lettered so
one poison message never blocks the others.

Hospital messages (services/integrations) are queued by ``after_write`` (by default the outbox enqueuer) inside
the same transaction, after the batch's rows and derived state: an alert step is stored if and only if its
hospital messages are queued.

The sink writes through one connection of its own (it is a single sequential writer). After a failure it drops the
connection and reconnects on the next attempt, so it is back within ``retry_max_s`` of the database returning
(a pool would wait out its own, longer, reconnection backoff).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from psycopg import AsyncConnection

from ingest.events import DeadLetterV1, kafka_origin
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.wire import Event, SchemaError, decode
from services import health
from services.integrations.dispatch.enqueue import OutboxEnqueuer
from services.sink.backoff import backoff_s
from services.sink.columnar import Encoded
from services.sink.repository import CopyData, copy_directly, copy_rows
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES, TableSpec

log = logging.getLogger(__name__)

# After a batch of a table collided with stored rows (a replay), merge this many batches before trying plain COPY
# again, so that a replay does not pay for a failed COPY on every batch.
MERGE_AFTER_CONFLICT_BATCHES = 20
# Decoding hands the event loop back to the writer after this many messages (about a millisecond of work): every
# database reply the writer awaits (a batch takes six) waits for the reader to yield.
DECODE_CHUNK = 100
TRANSIENT_DB_ERRORS = (psycopg.OperationalError, psycopg.errors.AdminShutdown, TimeoutError, OSError)
# Runs in the batch's transaction after its rows are written: (connection, the batch's events).
AfterWrite = Callable[[AsyncConnection, Sequence[Event]], Awaitable[object]]


@dataclass
class SinkStats:
    batches: int = 0
    rows_written: int = 0
    messages: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_commit_ns: int = 0
    per_table: dict[str, int] = field(default_factory=dict)


class Decoded(NamedTuple):
    spec: TableSpec
    event: Event
    record: ConsumerRecord[bytes, bytes]
    row: Sequence[Any] | None  # the text COPY row; None for a columnar table (encoded per batch)


class TableRows(NamedTuple):
    """A batch's messages for one table, one per key; ``encoded`` is a columnar table's payload for exactly these
    (built while the previous batch is written), or None to build when written."""

    spec: TableSpec
    items: list[Decoded]
    encoded: Encoded | None = None

    def data(self) -> CopyData:
        spec = self.spec
        if spec.columnar is None:
            return [item.row for item in self.items]  # type: ignore[misc]  # rows are set for row-by-row tables
        if self.encoded is not None:
            return self.encoded
        encoded = spec.columnar.encode([item.event for item in self.items])
        if encoded.refused:  # decoding already left these out: the same events cannot be refused now
            raise RuntimeError(f"{spec.table}: rows refused when written: {encoded.refused}")
        return encoded


# The rows of a batch, per table: one per key (a message replayed within the batch collapses onto its key).
Tables = list[TableRows]


@dataclass
class Batch:
    offsets: dict[TopicPartition, int]  # per partition, the offset after the batch's last message (to commit)
    messages: int
    received_ns: int
    tables: Tables = field(default_factory=list)
    letters: list[DeadLetterV1] = field(default_factory=list)


def group_by_table(items: Iterable[Decoded]) -> Tables:
    """Rows per table in arrival order; of several rows with one key, the last one wins."""
    tables: dict[str, tuple[TableSpec, dict[tuple[Any, ...], Decoded]]] = {}
    for item in items:
        spec, rows = tables.setdefault(item.spec.table, (item.spec, {}))
        rows[_key(spec, item)] = item
    return [TableRows(spec, list(rows.values())) for spec, rows in tables.values()]


def _key(spec: TableSpec, item: Decoded) -> tuple[Any, ...]:
    return spec.event_key(item.event) if item.row is None else spec.conflict_key(item.row)


def cannot_store(spec: TableSpec, reason: object) -> str:
    return f"cannot store this {spec.table} message: {reason}"


def dead_letter_for(record: ConsumerRecord[bytes, bytes], reason: str, now_ns: int) -> DeadLetterV1:
    value = record.value or b""
    try:
        text, b64 = value.decode(), None
    except UnicodeDecodeError:
        text, b64 = None, base64.b64encode(value).decode()
    return DeadLetterV1(
        stage="sink",
        origin=kafka_origin(record.topic, record.partition, record.offset),
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
        dsn: str,
        producer: EventProducer,
        *,
        specs: Sequence[TableSpec] = ALL_TABLES,
        clock_ns: Callable[[], int] = time.time_ns,
        statement_timeout_ms: int = 30_000,
        after_write: AfterWrite | None = None,
    ) -> None:
        self._settings = settings
        self._kafka = kafka
        self._dsn = dsn
        self._statement_timeout_ms = statement_timeout_ms
        self._conn: AsyncConnection | None = None
        self._merge_batches_left: dict[str, int] = {}
        self._producer = producer
        self._clock_ns = clock_ns
        self._by_topic = {kafka.topic(s.event_type.TOPIC): s for s in specs}
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._after_write: AfterWrite = after_write or OutboxEnqueuer()
        self._committing: asyncio.Task[None] | None = None
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
            # Large fetches: the sink catches up on a backlog (after an outage) at the broker's pace, not at
            # one round trip per megabyte.
            max_partition_fetch_bytes=self._settings.fetch_partition_bytes,
            fetch_max_bytes=max(self._settings.fetch_partition_bytes * 4, 52_428_800),
        )
        await self._consumer.start()

    async def stop(self) -> None:
        self._stopping.set()
        try:
            await self._settle_commit()
        except Exception:
            log.warning("committing the last stored batch's offsets failed; it will be re-read", exc_info=True)
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self._drop_connection()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            await self._drop_connection()
            self._conn = await AsyncConnection.connect(
                self._dsn,
                autocommit=False,
                connect_timeout=10,
                application_name="cardiorehab-sink",
                options=f"-c statement_timeout={self._statement_timeout_ms} -c timezone=UTC",
            )
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except psycopg.Error:
                log.debug("closing a broken connection failed", exc_info=True)

    async def run(self) -> None:
        """Consume until :meth:`stop`: read and decode the next batch while the previous one is being written."""
        assert self._consumer is not None, "start() the sink first"
        ready: asyncio.Queue[Batch] = asyncio.Queue(maxsize=1)
        reader = asyncio.create_task(self._read(ready), name="sink-reader")
        try:
            while not self._stopping.is_set():
                getter = asyncio.ensure_future(ready.get())
                await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    reader.result()  # the reader ended: raise its error
                    return
                await self._store(getter.result())
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await self._settle_commit()

    async def _read(self, ready: asyncio.Queue[Batch]) -> None:
        while not self._stopping.is_set():
            await asyncio.to_thread(health.beat, "sink")
            fetched = await self._fill_batch()
            if fetched:
                await ready.put(await self._decode(fetched))

    async def _fill_batch(self) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """Up to ``batch_max_records`` in all, waiting at most ``batch_wait_ms`` for the batch to fill."""
        assert self._consumer is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.batch_wait_ms / 1000
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        count = 0
        while count < self._settings.batch_max_records:
            remaining_ms = max(0, int((deadline - loop.time()) * 1000))
            batches = await self._consumer.getmany(
                timeout_ms=remaining_ms, max_records=self._settings.batch_max_records - count
            )
            for tp, records in batches.items():
                fetched.setdefault(tp, []).extend(records)
                count += len(records)
            if remaining_ms == 0 or (count and not batches):
                break
        return fetched

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Decode, write, then commit one batch (retrying the write until it succeeds or we stop)."""
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for r in records:
            fetched.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        await self._store(await self._decode(fetched))
        await self._settle_commit()

    async def _decode(self, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> Batch:
        """Messages to rows, per table and key; invalid ones to dead letters.

        Runs while the previous batch is being written, so it hands the event loop back every ``DECODE_CHUNK``
        messages: the writer then never waits long for a database reply it already has.
        """
        now = self._clock_ns()
        batch = Batch(offsets={}, messages=0, received_ns=now)
        tables: dict[str, tuple[TableSpec, dict[tuple[Any, ...], Decoded]]] = {}
        budget = DECODE_CHUNK
        for tp, records in fetched.items():
            if not records:
                continue
            spec = self._by_topic[tp.topic]
            batch.offsets[tp] = max(batch.offsets.get(tp, 0), max(r.offset for r in records) + 1)
            batch.messages += len(records)
            rows = tables.setdefault(spec.table, (spec, {}))[1]
            event_type, to_row, row_key = spec.event_type, spec.to_row, spec.conflict_key
            event_key = spec.event_key if spec.columnar is not None else None
            for record in records:
                try:
                    event = decode(event_type, record.value or b"")
                    row: Sequence[Any] | None
                    if event_key is not None:
                        row, key = None, event_key(event)
                    else:
                        row = to_row(event)
                        key = row_key(row)
                except SchemaError as exc:
                    batch.letters.append(dead_letter_for(record, str(exc), now))
                except (ValueError, OverflowError) as exc:
                    batch.letters.append(dead_letter_for(record, cannot_store(spec, exc), now))
                else:
                    rows[key] = Decoded(spec, event, record, row)
                budget -= 1
                if budget == 0:
                    budget = DECODE_CHUNK
                    await asyncio.sleep(0)
        for spec, rows in tables.values():
            items = list(rows.values())
            if spec.columnar is None:
                batch.tables.append(TableRows(spec, items))
                continue
            encoded: Encoded | None = None
            for step in spec.columnar.encoding([item.event for item in items]):
                if step is None:
                    await asyncio.sleep(0)
                encoded = step
            assert encoded is not None
            if encoded.refused:
                refused = encoded.refused
                batch.letters += [
                    dead_letter_for(items[i].record, cannot_store(spec, r), now) for i, r in refused.items()
                ]
                items = [item for i, item in enumerate(items) if i not in refused]
            batch.tables.append(TableRows(spec, items, encoded))
        batch.tables = [t for t in batch.tables if t.items]
        return batch

    async def _store(self, batch: Batch) -> None:
        refused = await self._write_with_retry(batch.tables)
        letters = batch.letters + [dead_letter_for(d.record, reason, batch.received_ns) for d, reason in refused]
        if letters:
            await self._producer.send_many(letters)
            self.stats.dead_lettered += len(letters)
        # The batch is stored: commit its offsets in the background while the next batch is written. Commits stay
        # in batch order (one at a time, the previous one settled first) and each follows its database commit.
        await self._settle_commit()
        self._committing = asyncio.create_task(self._commit(batch), name="sink-commit")

    async def _settle_commit(self) -> None:
        """Wait for the offsets of the last stored batch to be committed (raises what the commit raised)."""
        task, self._committing = self._committing, None
        if task is not None:
            await task

    async def _commit(self, batch: Batch) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(batch.offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took these partitions away after the rows were stored; whoever reads them next re-reads
            # this batch, and every write is idempotent, so nothing is lost or doubled.
            log.warning("offsets not committed after a rebalance (%s); the batch will be re-read", exc)
        else:
            self.stats.last_commit_ns = self._clock_ns()
        self.stats.batches += 1
        self.stats.messages += batch.messages

    def _try_direct(self, spec: TableSpec) -> bool:
        """Plain COPY unless the table is derived or a recent batch of it hit existing rows (a replay is running)."""
        if not spec.direct_copy:
            return False
        left = self._merge_batches_left.get(spec.table, 0)
        if left > 0:
            self._merge_batches_left[spec.table] = left - 1
            return False
        return True

    async def _write_with_retry(self, tables: Tables) -> list[tuple[Decoded, str]]:
        attempt = 0
        while True:
            try:
                return await self._write(tables)
            except TRANSIENT_DB_ERRORS as exc:
                await self._drop_connection()
                if self._stopping.is_set():
                    raise
                delay = backoff_s(attempt, initial_s=self._settings.retry_initial_s, max_s=self._settings.retry_max_s)
                rows = sum(len(t.items) for t in tables)
                log.warning("database unavailable (%s); retrying batch of %d in %.1f s", exc, rows, delay)
                self.stats.retries += 1
                attempt += 1
                await asyncio.sleep(delay)

    async def _write(self, tables: Tables, *, top: bool = True) -> list[tuple[Decoded, str]]:
        """One transaction for the batch; if the database refuses a row, find it by halving the batch (each part in
        its own transaction) and refuse only that row."""
        try:
            await self._write_all(tables)
            return []
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError) as exc:
            items = [item for t in tables for item in t.items]
            if len(items) == 1:
                return [(items[0], f"database refused the row: {exc}".strip())]
            if top:
                log.warning("database refused a row in a batch of %d (%s); isolating it", len(items), exc)
        half = len(items) // 2
        first = await self._write(group_by_table(items[:half]), top=False)
        return first + await self._write(group_by_table(items[half:]), top=False)

    async def _write_all(self, tables: Tables) -> None:
        conn = await self._connection()
        async with conn.transaction():
            for table in tables:
                spec, data = table.spec, table.data()
                direct = self._try_direct(spec)
                if direct and await copy_directly(conn, spec, data):
                    written = len(table.items)
                else:
                    if direct:  # rows already there: a replay; merge for a while
                        self._merge_batches_left[spec.table] = MERGE_AFTER_CONFLICT_BATCHES
                    written = await copy_rows(conn, spec, data)
                self.stats.per_table[spec.table] = self.stats.per_table.get(spec.table, 0) + written
                self.stats.rows_written += written
            await self._after_write(conn, [item.event for t in tables for item in t.items])
