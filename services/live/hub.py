"""One Kafka reader per API process, fanning live events out to websocket subscriptions.

Each subscription has a bounded queue. The hub never waits for a client: if a client's queue is full the
subscription is marked overrun and its websocket is closed, so one slow client never slows the others. Events
are encoded once and shared between subscribers; a Kafka poll batch becomes one frame per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from analytics.events import FeaturesV1
from ingest.kafka_config import KafkaSettings
from ingest.wire import SchemaError, decode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveEvent:
    """One event as clients receive it: ``id`` orders events per partition (``topic:partition:offset``)."""

    id: str
    kind: str
    patient_id: str
    payload: bytes  # the event's JSON, encoded once
    appended_ms: int


@dataclass(eq=False)
class Subscription:
    may_see: Callable[[str], bool]
    queue: asyncio.Queue[list[LiveEvent]]
    overrun: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, events: list[LiveEvent]) -> None:
        if self.overrun:
            return
        try:
            self.queue.put_nowait(events)
        except asyncio.QueueFull:
            self.overrun = True
            self.closed.set()


class LiveHub:
    def __init__(self, kafka: KafkaSettings, *, queue_size: int = 256) -> None:
        self._kafka = kafka
        self._queue_size = queue_size
        self._subs: set[Subscription] = set()
        self._latest: dict[str, LiveEvent] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.delivered_batches = 0

    async def start(self) -> None:
        topic = self._kafka.topic(FeaturesV1.TOPIC)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap,
            client_id=f"{self._kafka.client_id}-live",
            enable_auto_commit=False,
            group_id=None,
        )
        await self._consumer.start()
        partitions = self._consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await self._consumer._client.force_metadata_update()
            partitions = self._consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        self._task = asyncio.create_task(self._run(), name="live-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        for sub in list(self._subs):
            sub.closed.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def subscribe(self, may_see: Callable[[str], bool]) -> Subscription:
        sub = Subscription(may_see=may_see, queue=asyncio.Queue(maxsize=self._queue_size))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def snapshot(self, may_see: Callable[[str], bool]) -> list[LiveEvent]:
        """The newest event of each patient the subscriber may see."""
        return [e for pid, e in self._latest.items() if may_see(pid)]

    def publish(self, events: Iterable[LiveEvent]) -> None:
        """Fan a batch out: one list per subscriber with only what it may see."""
        batch = list(events)
        for event in batch:
            self._latest[event.patient_id] = event
        for sub in list(self._subs):
            mine = [e for e in batch if sub.may_see(e.patient_id)]
            if mine:
                sub.offer(mine)
        self.delivered_batches += 1

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live hub poll failed; retrying")
                await asyncio.sleep(1.0)
                continue
            events: list[LiveEvent] = []
            for tp, records in batches.items():
                for r in records:
                    try:
                        features = decode(FeaturesV1, r.value or b"")
                    except SchemaError:
                        continue  # the sink dead-letters invalid messages; the live view skips them
                    events.append(
                        LiveEvent(
                            f"{tp.topic}:{tp.partition}:{r.offset}",
                            "features",
                            features.patient_id,
                            r.value or b"",
                            r.timestamp,
                        )
                    )
            if events:
                self.publish(events)


def frame(kind: str, events: Iterable[LiveEvent]) -> bytes:
    """A websocket text frame: ``{"type": kind, "events": [{"id", "kind", "appended_ms", "data"}, ...]}``."""
    parts = [
        b'{"id":'
        + msgspec.json.encode(e.id)
        + b',"kind":'
        + msgspec.json.encode(e.kind)
        + b',"appended_ms":'
        + str(e.appended_ms).encode()
        + b',"data":'
        + e.payload
        + b"}"
        for e in events
    ]
    return (
        b'{"type":'
        + msgspec.json.encode(kind)
        + b',"sent_ms":'
        + str(int(time.time() * 1000)).encode()
        + b',"events":['
        + b",".join(parts)
        + b"]}"
    )
