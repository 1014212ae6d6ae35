"""One Kafka reader per API process, fanning live events out to websocket subscriptions.

The hub reads every partition of ``features.v1``, ``alerts.v1``, ``sessions.v1`` and ``alertstate.v1`` (no consumer
group: every replica reads everything). Each event's id is ``<topic>:<partition>:<offset>``.

Fan-out: each subscription has a bounded queue. The hub never waits for a client: if a client's queue is full the
subscription is marked overrun and its websocket is closed, so one slow client never slows the others. A poll
batch becomes one frame per subscriber, encoded once per distinct selection of events and shared.

Resume: the hub keeps the last ``replay_per_partition`` events of every partition (and, on start, re-reads that
many from Kafka, so a fresh replica can serve resumes too). A client that reconnects with the cursor of its last
frame gets exactly the events after it; if the cursor is older than the buffer the hub says so (a gap) and the
client gets a fresh snapshot instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.kafka_config import KafkaSettings
from ingest.wire import Event, SchemaError, decode
from services.live.cursor import encode_cursor
from services.live.events import AlertStateV1

log = logging.getLogger(__name__)
METADATA_WAIT_S = 30.0  # how long the hub waits at start for a topic's partitions to get leaders
METADATA_RETRY_S = 0.2

# What the hub reads, and the `kind` clients see.
SOURCES: tuple[tuple[type[Event], str], ...] = (
    (FeaturesV1, "features"),
    (AlertV1, "alert"),
    (SessionV1, "session"),
    (AlertStateV1, "alert_state"),
)


@dataclass(frozen=True)
class LiveEvent:
    """One event as clients receive it: ``id`` orders events per partition (``topic:partition:offset``)."""

    id: str
    kind: str
    patient_id: str
    payload: bytes  # the event's JSON, encoded once
    appended_ms: int
    tp: str = field(init=False)
    offset: int = field(init=False)

    def __post_init__(self) -> None:
        tp, _, offset = self.id.rpartition(":")
        object.__setattr__(self, "tp", tp)
        object.__setattr__(self, "offset", int(offset) if offset.lstrip("-").isdigit() else -1)


@dataclass(frozen=True)
class Delivery:
    """One frame for one subscriber: the events it may see from a poll batch, and the encoded text."""

    events: list[LiveEvent]
    text: str


@dataclass(eq=False)
class Subscription:
    """One websocket's place in the fan-out. ``queue`` holds at most ``limit`` frames; ``None`` in it means
    "stop": the client was too slow (``overrun``) or the hub is stopping (``closed``)."""

    may_see: Callable[[str], bool]
    limit: int
    queue: asyncio.Queue[Delivery | None] = field(default_factory=asyncio.Queue)
    skip_below: dict[str, int] = field(default_factory=dict)  # resumed ahead of this hub: drop what it already has
    overrun: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, event: LiveEvent) -> bool:
        if not self.may_see(event.patient_id):
            return False
        return not self.skip_below or event.offset >= self.skip_below.get(event.tp, 0)

    def offer(self, delivery: Delivery) -> None:
        if self.closed.is_set():
            return
        if self.queue.qsize() >= self.limit:
            self.overrun = True
            self.close()
            return
        self.queue.put_nowait(delivery)

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.queue.put_nowait(None)


class LiveHub:
    def __init__(self, kafka: KafkaSettings, *, queue_size: int = 256, replay_per_partition: int = 4096) -> None:
        self._kafka = kafka
        self._queue_size = queue_size
        self._replay = replay_per_partition
        self._subs: set[Subscription] = set()
        self._latest: dict[str, LiveEvent] = {}
        self._buffers: dict[str, deque[LiveEvent]] = {}
        self._floor: dict[str, int] = {}  # every event at or after this offset is buffered (or not yet read)
        self._next: dict[str, int] = {}  # the next offset this hub will read
        self._cursor: str | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._by_topic: dict[str, tuple[type[Event], str, str]] = {}
        self.delivered_batches = 0

    async def start(self) -> None:
        self._by_topic = {self._kafka.topic(t.TOPIC): (t, kind, t.TOPIC) for t, kind in SOURCES}
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap,
            client_id=f"{self._kafka.client_id}-live",
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=100,
        )
        await self._consumer.start()
        tps: list[TopicPartition] = []
        for topic in self._by_topic:
            partitions = await self._partitions_of(topic)
            tps.extend(TopicPartition(topic, p) for p in sorted(partitions))
        self._consumer.assign(tps)
        ends = await self._consumer.end_offsets(tps)
        begins = await self._consumer.beginning_offsets(tps)
        for tp in tps:
            start = max(begins[tp], ends[tp] - self._replay)
            self._consumer.seek(tp, start)
            key = self._key(tp.topic, tp.partition)
            self._floor[key] = self._next[key] = start
            self._buffers[key] = deque()
        self._cursor = None
        self._task = asyncio.create_task(self._run(), name="live-hub")

    async def _partitions_of(self, topic: str) -> set[int]:
        """The topic's partitions, waiting while the broker has no leader for it yet.

        A topic created moments before (as the API does at start-up) is left out of the metadata until its
        partitions have leaders; a hub that started without it would never deliver its events (seen: a wall that
        never showed another nurse's snooze). So wait for it, and refuse to start without it.
        """
        assert self._consumer is not None
        deadline = asyncio.get_running_loop().time() + METADATA_WAIT_S
        while True:
            partitions: set[int] | None = self._consumer.partitions_for_topic(topic)
            if partitions:
                return partitions
            if asyncio.get_running_loop().time() >= deadline:
                raise RuntimeError(f"live hub: topic {topic!r} has no partitions after {METADATA_WAIT_S:.0f} s")
            await self._consumer._client.force_metadata_update()
            if not self._consumer.partitions_for_topic(topic):
                await asyncio.sleep(METADATA_RETRY_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        for sub in list(self._subs):
            sub.close()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _key(self, topic: str, partition: int) -> str:
        base = self._by_topic[topic][2] if topic in self._by_topic else topic
        return f"{base}:{partition}"

    # --- subscribing -------------------------------------------------------------------------------------------

    def subscribe(self, may_see: Callable[[str], bool], *, skip_below: Mapping[str, int] | None = None) -> Subscription:
        sub = Subscription(may_see=may_see, limit=self._queue_size, skip_below=dict(skip_below or {}))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def snapshot(self, may_see: Callable[[str], bool]) -> list[LiveEvent]:
        """The newest features event of each patient the subscriber may see."""
        return [e for pid, e in self._latest.items() if may_see(pid)]

    def cursor(self) -> str:
        """The position after everything this hub has read (what a subscriber is caught up to)."""
        if self._cursor is None:
            self._cursor = encode_cursor(self._next)
        return self._cursor

    def positions(self) -> dict[str, int]:
        return dict(self._next)

    def resume(
        self, may_see: Callable[[str], bool], cursor: Mapping[str, int]
    ) -> tuple[Subscription, list[LiveEvent], str] | None:
        """Subscribe from a client's cursor: (subscription, missed events, cursor after them); None if a gap.

        Synchronous on purpose: no event can be published between taking the replay and registering the
        subscription, so nothing is missed or sent twice.
        """
        for key, floor in self._floor.items():
            wanted = cursor.get(key)
            if wanted is None or wanted < floor:
                return None
        missed = [
            e for key, buf in self._buffers.items() for e in buf if e.offset >= cursor[key] and may_see(e.patient_id)
        ]
        ahead = {key: cursor[key] for key, nxt in self._next.items() if cursor[key] > nxt}
        sub = self.subscribe(may_see, skip_below=ahead)
        merged = {key: max(nxt, cursor[key]) for key, nxt in self._next.items()}
        return sub, missed, encode_cursor(merged)

    # --- publishing --------------------------------------------------------------------------------------------

    def publish(self, events: Iterable[LiveEvent], positions: Mapping[str, int] | None = None) -> None:
        """Buffer a batch and fan it out: one frame per subscriber with only what it may see."""
        batch = list(events)
        for event in batch:
            if event.kind == "features":
                self._latest[event.patient_id] = event
            self._remember(event)
        for key, nxt in (positions or {}).items():
            self._next[key] = max(self._next.get(key, 0), nxt)
        self._cursor = None
        cursor = self.cursor()
        frames: dict[tuple[str, ...], Delivery] = {}
        for sub in list(self._subs):
            mine = [e for e in batch if sub.wants(e)]
            if not mine:
                continue
            ids = tuple(e.id for e in mine)
            delivery = frames.get(ids)
            if delivery is None:
                delivery = frames[ids] = Delivery(mine, frame("delta", mine, cursor=cursor).decode())
            sub.offer(delivery)
        self.delivered_batches += 1

    def _remember(self, event: LiveEvent) -> None:
        if event.offset < 0:
            return
        buf = self._buffers.setdefault(event.tp, deque())
        buf.append(event)
        self._next[event.tp] = max(self._next.get(event.tp, 0), event.offset + 1)
        self._floor.setdefault(event.tp, event.offset)
        while len(buf) > self._replay:
            evicted = buf.popleft()
            self._floor[event.tp] = evicted.offset + 1

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
            positions: dict[str, int] = {}
            for tp, records in batches.items():
                event_type, kind, base = self._by_topic[tp.topic]
                key = f"{base}:{tp.partition}"
                for r in records:
                    positions[key] = r.offset + 1
                    try:
                        patient_id = _patient_of(decode(event_type, r.value or b""))
                    except SchemaError:
                        continue  # the sink dead-letters invalid messages; the live view skips them
                    events.append(LiveEvent(f"{key}:{r.offset}", kind, patient_id, r.value or b"", r.timestamp))
            if events or positions:
                self.publish(events, positions)


def _patient_of(event: Any) -> str:
    patient_id: str = event.patient_id
    return patient_id


def frame(kind: str, events: Iterable[LiveEvent], *, cursor: str | None = None, **extra: Any) -> bytes:
    """A websocket text frame: ``{"type", "sent_ms", "cursor", "events": [{"id", "kind", "appended_ms", "data"}]}``."""
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
    head = b'{"type":' + msgspec.json.encode(kind) + b',"sent_ms":' + str(int(time.time() * 1000)).encode()
    if cursor is not None:
        head += b',"cursor":' + msgspec.json.encode(cursor)
    for name, value in extra.items():
        head += b"," + msgspec.json.encode(name) + b":" + msgspec.json.encode(value)
    return head + b',"events":[' + b",".join(parts) + b"]}"
