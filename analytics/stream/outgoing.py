"""The agent's output records, sent as one Kafka record batch per topic partition.

One feature per reading makes the producer the agent's second-largest cost: ``AIOKafkaProducer.send`` spends about
20 µs of Python per message (partitioner, future, accumulator). Records appended to a batch (``create_batch``, in
C) and handed over with ``send_batch`` cost a fraction of that. The batches go through faust's own aiokafka
producer, which faust flushes before it commits offsets, so the at-least-once guarantee is unchanged; a batch the
broker refused is raised by :meth:`Outgoing.check` before anything it covers is acknowledged.

Keys are partitioned like the producer's default partitioner (murmur2 of the key over the topic's partitions), so
a patient's outputs land where a plain ``send`` would put them, unless the record names its partition (a table's
changelog record goes to the partition of the event that wrote it). :meth:`Outgoing.watch` tells a topic's owner the
offsets its batches were written at (a table store records how far its changelog is in the local store).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiokafka.partitioner import murmur2

SendBatch = Callable[[str, int, list[tuple[bytes, bytes]]], Awaitable[list["asyncio.Future[Any]"]]]
Written = Callable[[int, int], None]  # (partition, base offset of a batch the broker acknowledged)


class Outgoing:
    def __init__(self, partitions_of: Callable[[str], Awaitable[int]], send_batch: SendBatch) -> None:
        self._partitions_of = partitions_of
        self._send_batch = send_batch
        self._counts: dict[str, int] = {}
        self._partition: dict[tuple[int, bytes], int] = {}
        self._pending: list[tuple[str, bytes, bytes, int | None]] = []
        self._in_flight: list[asyncio.Future[Any]] = []
        self._watchers: dict[str, Written] = {}
        self._turn = asyncio.Lock()  # flushes hand over one after another, in the order they were called

    def add(self, topic: str, key: bytes, value: bytes, partition: int | None = None) -> None:
        """Queue a record for the next :meth:`flush`; without ``partition``, the key's default partition."""
        self._pending.append((topic, key, value, partition))

    def watch(self, topic: str, written: Written) -> None:
        """Call ``written(partition, base_offset)`` for every batch of ``topic`` the broker acknowledges."""
        self._watchers[topic] = written

    async def flush(self) -> None:
        """Send everything added since the last flush, in order per topic partition.

        A watched topic's records (a table's changelog) are handed over only after every other record queued before
        them, by this flush or an earlier one, whichever agent queued it: a state in the changelog must never be
        ahead of the outputs of the readings it includes, or a crash between the two loses those outputs."""
        async with self._turn:
            if not self._pending:
                return
            pending, self._pending = self._pending, []
            records: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
            for topic, key, value, partition in pending:
                if partition is None:
                    n = self._counts.get(topic)
                    if n is None:
                        n = self._counts[topic] = await self._partitions_of(topic)
                    partition = self._partition.get((n, key))
                    if partition is None:
                        partition = self._partition[(n, key)] = (murmur2(key) & 0x7FFFFFFF) % n
                records.setdefault((topic, partition), []).append((key, value))
            outputs = {tp: items for tp, items in records.items() if tp[0] not in self._watchers}
            watched = {tp: items for tp, items in records.items() if tp[0] in self._watchers}
            for part in (outputs, watched):
                await self._hand_over(part)

    async def _hand_over(self, records: dict[tuple[str, int], list[tuple[bytes, bytes]]]) -> None:
        # Each partition's batches in order, all partitions at once. aiokafka keeps one batch per partition waiting
        # for the next produce request and makes a batch behind it wait until that request has taken it; sent one
        # partition after another, those waits added up to several round trips per pass.
        sent = await asyncio.gather(*(self._send_batch(t, p, items) for (t, p), items in records.items()))
        for (topic, partition), futures in zip(records, sent, strict=True):
            self._in_flight += futures
            written = self._watchers.get(topic)
            if written is not None:
                for future in futures:
                    future.add_done_callback(partial(_report, written, partition))

    def check(self) -> None:
        """Raise the error of any batch the broker refused (its records were not written); forget settled ones."""
        still: list[asyncio.Future[Any]] = []
        for future in self._in_flight:
            if not future.done():
                still.append(future)
            elif not future.cancelled() and future.exception() is not None:
                raise RuntimeError("a batch of outputs was not written") from future.exception()
        self._in_flight = still


def _report(written: Written, partition: int, future: asyncio.Future[Any]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    metadata = future.result()
    if metadata is not None:
        written(partition, metadata.offset)


def aiokafka_sender(producer_of: Callable[[], Any]) -> tuple[Callable[[str], Awaitable[int]], SendBatch]:
    """``partitions_of`` and ``send_batch`` on an aiokafka producer (called for the producer at each use: faust
    creates its producer when the worker starts)."""

    async def partitions_of(topic: str) -> int:
        return len(await producer_of().partitions_for(topic))

    async def send_batch(topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[asyncio.Future[Any]]:
        producer = producer_of()
        futures: list[asyncio.Future[Any]] = []
        batch = producer.create_batch()
        for key, value in items:
            if batch.append(key=key, value=value, timestamp=None) is None:
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"a {len(value)}-byte output does not fit an empty record batch")
        futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures

    return partitions_of, send_batch
