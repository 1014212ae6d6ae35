"""Drains the buffer to Kafka in order; a row is deleted only after the broker acknowledged it.

Loop: peek the oldest rows (leasing them), ``EventProducer.send_many`` (resolves after ``acks=all``), delete.

Kafka unreachable, two cases:

- the producer is up and the broker goes away: the idempotent producer keeps the batch and retries it itself
  (every ``retry_backoff_ms``) with the same producer id and sequence numbers, so when the broker is back the
  batch is written exactly once and ``send_many`` returns. aiokafka never expires batches of an idempotent
  producer, so ``send_many`` simply waits out the outage; readings keep accumulating in the buffer meanwhile;
- the producer cannot start (no broker at startup) or a send fails outright: the producer is discarded and a new
  one is tried after an exponential backoff with jitter (:mod:`ingest.gateway.backoff`), forever.

After any failure, and once at start (the last run may have died between an acknowledgement and the delete), the
outcome of the last batch is unknown, so before sending again the forwarder *reconciles*: it reads the tail of the
patient's partitions (:mod:`ingest.gateway.kafka_tail`) and deletes the buffered rows Kafka already has. Nothing is
lost and nothing is duplicated. Buffered readings keep their original timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

from ingest.aio import wait_set
from ingest.events import DeadLetterV1
from ingest.gateway.backoff import BackoffPolicy, backoff_delay_s
from ingest.gateway.buffer import EVENT_TYPES, STAGE, BufferedRow, ReadingBuffer
from ingest.gateway.kafka_tail import KafkaTail
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.wire import Event, SchemaError

log = logging.getLogger(__name__)

RECONCILE_TIMEOUT_S: Final = 120.0
PRODUCER_STOP_TIMEOUT_S: Final = 10.0
_FLOOR_KEY: Final = "kafka_floor:{topic}"


@dataclass(slots=True)
class ForwarderStats:
    forwarded: Counter[str] = field(default_factory=Counter)  # rows acknowledged by the broker, by topic
    batches: int = 0
    failures: int = 0
    reconciles: int = 0  # completed reconciliations with Kafka
    already_in_kafka: int = 0  # rows found in Kafka by a reconcile and deleted instead of resent
    undecodable_rows: int = 0
    last_error: str | None = None
    longest_send_s: float = 0.0  # a send that waited out an outage shows here


def default_producer(settings: KafkaSettings) -> EventProducer:
    # retry_backoff_ms paces the producer's own retries (and metadata refreshes) while the broker is away.
    return EventProducer(settings, linger_ms=20, retry_backoff_ms=500)


class Forwarder:
    """Moves buffered readings to Kafka; explicit ``start``/``stop`` (or ``async with``)."""

    def __init__(
        self,
        buffer: ReadingBuffer,
        kafka: KafkaSettings,
        *,
        policy: BackoffPolicy,
        batch_rows: int = 500,
        producer_factory: Callable[[KafkaSettings], EventProducer] = default_producer,
        unit_random: Callable[[], float] = random.random,
        idle_wait_s: float = 1.0,
    ) -> None:
        self._buffer = buffer
        self._kafka = kafka
        self._policy = policy
        self._batch_rows = batch_rows
        self._producer_factory = producer_factory
        self._unit_random = unit_random
        self._idle_wait_s = idle_wait_s
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = ForwarderStats()
        self.connected = False
        self._floored: set[str] = set()
        buffer.add_listener(self._on_commit)

    def _on_commit(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("forwarder already started")
        self._task = asyncio.create_task(self._run(), name="gateway-forwarder")

    async def stop(self, *, drain_timeout_s: float = 0.0) -> None:
        """Stop; first wait up to ``drain_timeout_s`` for the buffer to empty. Unsent rows stay buffered."""
        task, self._task = self._task, None
        if task is None:
            return
        if drain_timeout_s > 0:
            await self.drain(drain_timeout_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until everything committed so far was forwarded; False on timeout."""
        await self._buffer.flush()
        self._wake.set()
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    await self._idle.wait()
                    stats = await self._buffer.stats()
                    if stats.rows == 0 and stats.pending_in_memory == 0:
                        return True
                    self._idle.clear()
                    self._wake.set()
        except TimeoutError:
            return False

    # --- the loop --------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        producer: EventProducer | None = None
        reconciled = False  # a previous run may have died between an acknowledgement and the delete
        attempt = 0
        try:
            while True:
                try:
                    if producer is None:
                        producer = self._producer_factory(self._kafka)
                        await producer.start()
                        self.connected = True
                    if not reconciled:
                        await self._reconcile()
                        reconciled = True
                    sent = await self._forward_batch(producer)
                    attempt = 0
                    if not sent:
                        self._idle.set()
                        await wait_set(self._wake, self._idle_wait_s)
                        self._wake.clear()
                except Exception as exc:
                    if _cancel_requested():
                        # aiokafka can turn our cancellation into a KafkaConnectionError while it bootstraps; a
                        # stop() must still stop the loop.
                        raise asyncio.CancelledError from exc
                    self.connected = False
                    self.stats.failures += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    await self._buffer.release()
                    reconciled = False
                    if producer is not None:
                        await _close(producer)
                        producer = None
                    delay = backoff_delay_s(attempt, self._policy, unit_random=self._unit_random(), error=exc)
                    attempt += 1
                    log.warning("forwarding failed (%s); retrying in %.2f s", self.stats.last_error, delay)
                    await asyncio.sleep(delay)
        finally:
            self.connected = False
            with contextlib.suppress(Exception):
                await self._buffer.release()
            if producer is not None:
                await _close(producer)

    async def _forward_batch(self, producer: EventProducer) -> bool:
        rows = await self._buffer.peek(self._batch_rows)
        if not rows:
            return False
        unfloored = {row.topic for row in rows} - self._floored
        if unfloored:
            raise LookupError(
                f"topics {sorted(unfloored)} do not exist (prefix {self._kafka.topic_prefix!r}); create them"
            )
        events = [self._event(row) for row in rows]
        started = asyncio.get_running_loop().time()
        await producer.send_many(events)
        self.stats.longest_send_s = max(self.stats.longest_send_s, asyncio.get_running_loop().time() - started)
        await self._buffer.ack([row.row_id for row in rows])
        self.stats.batches += 1
        for row in rows:
            self.stats.forwarded[row.topic] += 1
        return True

    def _event(self, row: BufferedRow) -> Event:
        try:
            return row.event()
        except SchemaError as exc:
            # Written by an older gateway whose schema no longer decodes: ship it as a dead letter, never stall.
            self.stats.undecodable_rows += 1
            return DeadLetterV1(
                stage=STAGE,
                origin=f"buffer-row:{self._buffer.buffer_id}:{row.row_id}",
                reason=f"buffered {row.topic} row no longer decodes: {exc}",
                received_time_ns=0,
                key=self._buffer.patient_id,
                payload_utf8=row.payload.decode("utf-8", errors="replace"),
            )

    async def _reconcile(self) -> None:
        """Delete buffered rows that Kafka already holds (see :mod:`ingest.gateway.kafka_tail`)."""
        async with asyncio.timeout(RECONCILE_TIMEOUT_S):
            tail = KafkaTail(self._kafka, patient_id=self._buffer.patient_id, buffer_id=self._buffer.buffer_id)
            async with tail:
                floors = await self._floors(tail)
                groups: dict[str, list[str | None]] = {}
                for topic, device in await self._buffer.pending_groups():
                    groups.setdefault(topic, []).append(device)
                for topic, devices in groups.items():
                    latest = await tail.latest_ordinals(topic, devices, floor=floors[topic])
                    for device, ordinal in latest.items():
                        removed = await self._buffer.ack_through(topic, device, ordinal)
                        if removed:
                            self.stats.already_in_kafka += removed
                            log.info("%d %s rows of %s were already in Kafka; not resending", removed, topic, device)
        self.stats.reconciles += 1

    async def _floors(self, tail: KafkaTail) -> dict[str, int | None]:
        """End offsets recorded before this buffer's first send of a topic: none of its messages are below.

        A topic that does not exist yet gets no floor (and nothing can be sent to it until it exists).
        """
        floors: dict[str, int | None] = {}
        missing: dict[str, str] = {}
        for topic in EVENT_TYPES:
            value = await self._buffer.get_meta(_FLOOR_KEY.format(topic=topic))
            if value is not None:
                floors[topic] = int(value)
                continue
            try:
                offset = await tail.end_offset(topic)
            except LookupError:
                floors[topic] = None
                continue
            missing[_FLOOR_KEY.format(topic=topic)] = str(offset)
            floors[topic] = offset
        if missing:
            await self._buffer.set_meta(missing)
        self._floored = {topic for topic, floor in floors.items() if floor is not None}
        return floors


def _cancel_requested() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _close(producer: EventProducer) -> None:
    try:
        async with asyncio.timeout(PRODUCER_STOP_TIMEOUT_S):
            await producer.stop()
    except Exception as exc:  # the producer is discarded either way
        log.debug("closing the producer failed: %s", exc)
