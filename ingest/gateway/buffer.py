"""The store-and-forward buffer's asynchronous API: every reading is committed to SQLite before Kafka sees it.

Flow: the gateway hands events and dead-letter drafts to :meth:`ReadingBuffer.submit` from its BLE callbacks
(never blocking the loop); a flusher task commits them in batches on the buffer's own thread; the forwarder takes
the oldest rows with :meth:`~ReadingBuffer.peek`, publishes them, and deletes them with
:meth:`~ReadingBuffer.ack` only after the broker acknowledged them. Rows are forwarded in insertion order, which
for each device is ``seq`` order. The per-device ``seq`` counter lives in the same file and is advanced in the
same transaction as the rows, so numbering survives restarts. The file, its durability settings and the policy
when it is full are in :mod:`ingest.gateway.buffer_store`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from ingest.events import DeadLetterV1
from ingest.gateway.buffer_store import (
    BULK,
    EVENT_TYPES,
    KEEP,
    PRIORITY,
    STAGE,
    BufferedRow,
    BufferLimits,
    BufferStore,
    DeadLetterDraft,
    buffer_file_summary,
)
from ingest.gateway.clock import Clock, SystemClock
from ingest.wire import Event

__all__ = [
    "BULK",
    "EVENT_TYPES",
    "KEEP",
    "PRIORITY",
    "STAGE",
    "BufferLimits",
    "BufferStats",
    "BufferedRow",
    "DeadLetterDraft",
    "ReadingBuffer",
    "buffer_file_summary",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BufferStats:
    rows: int
    payload_bytes: int
    bulk_rows: int
    bulk_bytes: int
    pending_in_memory: int
    dropped: Mapping[str, int]
    write_failures: int


class ReadingBuffer:
    """SQLite store-and-forward buffer bound to one patient; all SQLite work runs on one dedicated thread."""

    def __init__(
        self,
        path: Path,
        *,
        patient_id: str,
        limits: BufferLimits,
        clock: Clock | None = None,
        flush_interval_s: float = 0.05,
        max_pending: int = 100_000,
    ) -> None:
        self._path = path
        self._patient_id = patient_id
        self._clock = clock or SystemClock()
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._executor: ThreadPoolExecutor | None = None
        # Used only on the buffer thread:
        self._store = BufferStore(path, patient_id=patient_id, limits=limits, clock=self._clock)
        # Used only on the event loop:
        self._pending: list[Event | DeadLetterDraft] = []
        self._memory_dropped: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._write_failures = 0
        self._write_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._executor is not None:
            raise RuntimeError("buffer already open")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-buffer")
        try:
            await self._run(self._store.open)
        except BaseException:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True)  # joining a thread blocks: not on the loop
            raise
        self._flusher = asyncio.create_task(self._flush_loop(), name="gateway-buffer-flusher")

    async def close(self) -> None:
        """Commit everything submitted so far, then close the file."""
        if self._executor is None:
            return
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush()
        finally:
            await self._run(self._store.close)
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def patient_id(self) -> str:
        return self._patient_id

    @property
    def buffer_id(self) -> str:
        """Random id of this buffer file, part of every dead letter's origin."""
        return self._store.buffer_id

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the loop) after every commit that stored rows; the forwarder wakes on it."""
        self._listeners.append(callback)

    # --- writing ---------------------------------------------------------------------------------------------

    def submit(self, item: Event | DeadLetterDraft) -> None:
        """Queue an event or dead letter for the next commit; never blocks (called from BLE callbacks)."""
        if self._executor is None:
            raise RuntimeError("buffer is not open")
        if isinstance(item, Event) and item.TOPIC not in PRIORITY:
            raise ValueError(f"the buffer does not carry {item.TOPIC}")
        if len(self._pending) >= self._max_pending:
            self._drop_from_memory()
        self._pending.append(item)
        self._wake.set()

    async def flush(self) -> None:
        """Commit everything submitted so far."""
        async with self._write_lock:
            await self._write_pending()

    async def next_seq(self, device_id: str) -> int:
        """The next ``seq`` for a device; a device seen for the first time starts at the host time in µs.

        Starting from the clock (not 0) keeps ``device_id:seq`` unique even if this file is lost and the
        gateway re-installed: readings already in Kafka then keep their keys and new ones never collide.
        """
        async with self._write_lock:
            await self._write_pending()
            first = self._clock.time_ns() // 1000
            return await self._run(self._store.next_seq, device_id, first)

    async def _write_pending(self) -> None:
        if not self._pending and not self._memory_dropped:
            return
        items, self._pending = self._pending, []
        memory_dropped, self._memory_dropped = self._memory_dropped, Counter()
        try:
            dropped = await self._run(
                functools.partial(self._store.append, backlog_limit=self._max_pending), items, memory_dropped
            )
        except BaseException:
            # Keep the readings (in order) for the next attempt; nothing is lost while the disk recovers.
            self._pending[:0] = items
            self._memory_dropped.update(memory_dropped)
            raise
        self._dropped.update(dropped)
        for callback in self._listeners:
            callback()

    async def _flush_loop(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Coalesce the notifications of one interval into one transaction (one fsync).
            await asyncio.sleep(self._flush_interval_s)
            try:
                async with self._write_lock:
                    await self._write_pending()
            except (sqlite3.Error, OSError) as exc:
                failures += 1
                self._write_failures += 1
                log.error("buffer write failed (%s); %d readings held in memory", exc, len(self._pending))
                await asyncio.sleep(min(5.0, 0.1 * 2 ** min(failures, 6)))
                self._wake.set()
            else:
                failures = 0

    def _drop_from_memory(self) -> None:
        """The disk is not keeping up: drop the oldest queued ECG/ACC reading, else the oldest of any kind."""
        index = next(
            (i for i, item in enumerate(self._pending) if isinstance(item, Event) and PRIORITY[item.TOPIC] == BULK),
            0,
        )
        item = self._pending.pop(index)
        topic = item.TOPIC if isinstance(item, Event) else DeadLetterV1.TOPIC
        self._memory_dropped[topic] += 1

    # --- reading (the forwarder) -----------------------------------------------------------------------------

    async def peek(self, limit: int) -> list[BufferedRow]:
        """The oldest ``limit`` committed rows, in order; they are leased (never evicted) until ack/release."""
        return await self._run(self._store.peek, limit)

    async def ack(self, row_ids: Sequence[int]) -> None:
        """Delete rows the broker acknowledged, and end the lease."""
        await self._run(self._store.ack, list(row_ids))

    async def release(self) -> None:
        """End the lease without deleting (the send failed; the rows will be sent again)."""
        await self._run(self._store.release)

    async def pending_groups(self) -> list[tuple[str, str | None]]:
        """The (topic, device) pairs that have rows waiting; dead letters have device None."""
        return await self._run(self._store.pending_groups)

    async def ack_through(self, topic: str, device_id: str | None, ordinal: int) -> int:
        """Delete the rows of one (topic, device) up to ``ordinal``: Kafka already has them. Returns the count."""
        return await self._run(self._store.ack_through, topic, device_id, ordinal)

    async def stats(self) -> BufferStats:
        totals = await self._run(self._store.totals)
        return BufferStats(
            rows=totals.rows,
            payload_bytes=totals.payload_bytes,
            bulk_rows=totals.bulk_rows,
            bulk_bytes=totals.bulk_bytes,
            pending_in_memory=len(self._pending),
            dropped=dict(self._dropped),
            write_failures=self._write_failures,
        )

    async def get_meta(self, key: str) -> str | None:
        return await self._run(self._store.get_meta, key)

    async def set_meta(self, items: Mapping[str, str]) -> None:
        await self._run(self._store.set_meta, dict(items))

    # --- the buffer thread -----------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._executor is None:
            raise RuntimeError("buffer is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
