"""Find what of ours Kafka already holds, so a resend after a crash or an unclear failure never duplicates.

The forwarder deletes buffer rows only after the broker acknowledged them, but an acknowledgement can be lost
(the link dies after the broker wrote the batch) and the process can die between the acknowledgement and the
delete. Either way the same rows would be sent twice. Before it resends, the forwarder therefore asks Kafka:

- a patient's messages all go to one partition per topic (the key is the patient id, default partitioner);
- the forwarder sends each (topic, device) in ``seq`` order and the idempotent producer keeps that order
  without gaps inside a partition; dead letters are numbered by the buffer and sent in that order too;
- so the newest message of a device in that partition carries the highest ``seq`` Kafka has, and every buffered
  row of that device and topic with a ``seq`` up to it is already there.

The partition is read backwards in growing chunks from its end until a message of every wanted device is found,
or the *floor* is reached: the end offset recorded before this buffer ever sent anything, below which none of
its messages can be.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from ingest.events import DeadLetterV1
from ingest.gateway.buffer import EVENT_TYPES, STAGE
from ingest.kafka_config import KafkaSettings

FIRST_CHUNK = 256
CHUNK_GROWTH = 4
POLL_TIMEOUT_MS = 1000


class _Probe(msgspec.Struct, forbid_unknown_fields=False):
    """The few fields that tell whose message it is; everything else is ignored."""

    patient_id: str | None = None
    device_id: str | None = None
    seq: int | None = None
    stage: str | None = None
    origin: str | None = None


_probe = msgspec.json.Decoder(_Probe)


def dead_letter_number(origin: str | None, buffer_id: str) -> int | None:
    """The buffer's number of one of its dead letters (origin ``...@<buffer id>:<n>``), else None."""
    if origin is None:
        return None
    _, sep, tail = origin.rpartition(f"@{buffer_id}:")
    return int(tail) if sep and tail.isdigit() else None


class KafkaTail:
    """A short-lived reader of the patient's partitions (no consumer group, no commits)."""

    def __init__(self, settings: KafkaSettings, *, patient_id: str, buffer_id: str) -> None:
        self._settings = settings
        self._patient_id = patient_id
        self._buffer_id = buffer_id
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap,
            client_id=f"{settings.client_id}-gateway-tail",
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=20_000,
        )
        self._partitions: dict[str, list[int]] = {}

    async def __aenter__(self) -> KafkaTail:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._settings.bootstrap, client_id=f"{self._settings.client_id}-gateway-tail"
        )
        await admin.start()
        try:
            described = await admin.describe_topics([self._settings.topic(t) for t in EVENT_TYPES])
        finally:
            await admin.close()
        self._partitions = {
            str(t["topic"]): sorted(int(p["partition"]) for p in t["partitions"])
            for t in described
            if t["error_code"] == 0 and t["partitions"]
        }
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    def partition(self, topic_base: str) -> TopicPartition:
        topic = self._settings.topic(topic_base)
        partitions = self._partitions.get(topic)
        if not partitions:
            raise LookupError(f"topic {topic} does not exist; create the topics before forwarding")
        return TopicPartition(topic, DefaultPartitioner()(self._patient_id.encode(), partitions, partitions))

    async def end_offset(self, topic_base: str) -> int:
        tp = self.partition(topic_base)
        return int((await self._consumer.end_offsets([tp]))[tp])

    async def latest_ordinals(
        self, topic_base: str, devices: Iterable[str | None], *, floor: int | None
    ) -> dict[str | None, int]:
        """The highest ordinal Kafka holds for each wanted device (``None`` = this buffer's dead letters)."""
        wanted = set(devices)
        tp = self.partition(topic_base)
        consumer = self._consumer
        consumer.assign([tp])
        begin = int((await consumer.beginning_offsets([tp]))[tp])
        end = int((await consumer.end_offsets([tp]))[tp])
        low = max(begin, floor if floor is not None else begin)
        found: dict[str | None, int] = {}
        high, chunk = end, FIRST_CHUNK
        while high > low and not wanted <= found.keys():
            start = max(low, high - chunk)
            in_chunk: dict[str | None, int] = {}
            async for value in self._read(tp, start, high):
                owner, ordinal = self._ours(topic_base, value)
                if ordinal is not None and owner in wanted and owner not in found:
                    in_chunk[owner] = max(in_chunk.get(owner, ordinal), ordinal)
            # Scanning backwards, the first chunk that holds a device's messages holds its newest one.
            found.update(in_chunk)
            high, chunk = start, chunk * CHUNK_GROWTH
        return found

    def _ours(self, topic_base: str, value: bytes | None) -> tuple[str | None, int | None]:
        if value is None:
            return None, None
        try:
            probe = _probe.decode(value)
        except msgspec.DecodeError:
            return None, None
        if topic_base == DeadLetterV1.TOPIC:
            if probe.stage != STAGE:
                return None, None
            return None, dead_letter_number(probe.origin, self._buffer_id)
        if probe.patient_id != self._patient_id or probe.device_id is None:
            return None, None
        return probe.device_id, probe.seq

    async def _read(self, tp: TopicPartition, start: int, stop: int) -> AsyncIterator[bytes | None]:
        """Values at offsets ``[start, stop)``; offsets may skip (compaction), so progress is by position."""
        consumer = self._consumer
        consumer.seek(tp, start)
        while await consumer.position(tp) < stop:
            batch = await consumer.getmany(tp, timeout_ms=POLL_TIMEOUT_MS)
            for record in batch.get(tp, []):
                if record.offset >= stop:
                    return
                yield record.value
