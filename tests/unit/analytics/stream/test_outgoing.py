"""Output batching: per topic partition, in order, on the default partitioner's partitions; refusals surface."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from analytics.stream.outgoing import Outgoing


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[str, int, list[tuple[bytes, bytes]]]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def partitions_of(self, topic: str) -> int:
        return 12

    async def send_batch(self, topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[Any]:
        self.batches.append((topic, partition, items))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return [future]


async def test_records_go_in_one_batch_per_topic_partition_in_order() -> None:
    rec = Recorder()
    out = Outgoing(rec.partitions_of, rec.send_batch)
    keys = [f"sim-{i:03d}".encode() for i in range(30)]
    for i, key in enumerate(keys * 2):
        out.add("features" if i % 3 else "alerts", key, str(i).encode())
    await out.flush()
    default = DefaultPartitioner()
    for _, partition, items in rec.batches:
        assert all(default(k, list(range(12)), list(range(12))) == partition for k, _ in items)
        values = [int(v) for _, v in items]
        assert values == sorted(values)  # order kept within a partition
    assert sum(len(items) for _, _, items in rec.batches) == 60
    assert len({(t, p) for t, p, _ in rec.batches}) == len(rec.batches)
    await out.flush()  # nothing new: nothing sent
    assert sum(len(items) for _, _, items in rec.batches) == 60


async def test_a_refused_batch_is_raised_by_check() -> None:
    rec = Recorder()
    out = Outgoing(rec.partitions_of, rec.send_batch)
    out.add("features", b"sim-001", b"1")
    await out.flush()
    out.check()  # still in flight: fine
    rec.futures[0].set_exception(OSError("broker said no"))
    with pytest.raises(RuntimeError, match="not written"):
        out.check()


async def test_partitions_are_sent_at_once_not_one_after_another() -> None:
    """A partition whose batch waits for the producer (a full queue) does not hold up the others."""
    sent: list[int] = []
    first_may_go = asyncio.Event()

    async def send_batch(topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[Any]:
        if not sent:
            sent.append(partition)
            await first_may_go.wait()  # released only once another partition's batch was handed over
        else:
            sent.append(partition)
            first_may_go.set()
        return []

    out = Outgoing(Recorder().partitions_of, send_batch)
    for i in range(40):
        out.add("features", f"sim-{i:03d}".encode(), b"x")
    async with asyncio.timeout(5):
        await out.flush()
    assert len(sent) == len(set(sent)) > 1


async def test_a_record_may_name_its_partition() -> None:
    rec = Recorder()
    out = Outgoing(rec.partitions_of, rec.send_batch)
    out.add("changelog", b"sim-001", b"state", partition=7)
    await out.flush()
    assert [(t, p) for t, p, _ in rec.batches] == [("changelog", 7)]


async def test_a_watched_topic_hears_the_offsets_its_batches_were_written_at() -> None:
    rec = Recorder()
    out = Outgoing(rec.partitions_of, rec.send_batch)
    heard: list[tuple[int, int]] = []
    out.watch("changelog", lambda partition, offset: heard.append((partition, offset)))
    out.add("changelog", b"sim-001", b"s1", partition=3)
    out.add("features", b"sim-001", b"f1")
    await out.flush()
    futures = {topic: rec.futures[i] for i, (topic, _, _) in enumerate(rec.batches)}
    futures["features"].set_result(SimpleNamespace(offset=99))
    futures["changelog"].set_result(SimpleNamespace(offset=41))
    await asyncio.sleep(0)  # done callbacks run on the next loop pass
    assert heard == [(3, 41)]
    out.add("changelog", b"sim-002", b"s2", partition=3)
    await out.flush()
    rec.futures[-1].set_exception(OSError("refused"))
    await asyncio.sleep(0)
    assert heard == [(3, 41)]  # a refused batch was not written


async def test_a_changelog_record_waits_for_every_output_queued_before_it() -> None:
    """One agent's feature waits for the producer; another agent then stores that patient's state. The state's
    changelog record must not be handed over before the feature, or a crash in between loses the feature."""
    handed: list[str] = []
    features_may_go = asyncio.Event()

    async def send_batch(topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[Any]:
        if topic == "features":
            await features_may_go.wait()  # its partition still has a batch waiting for a produce request
        handed.append(topic)
        return []

    out = Outgoing(Recorder().partitions_of, send_batch)
    out.watch("changelog", lambda partition, offset: None)
    out.add("features", b"sim-001", b"f")
    first = asyncio.create_task(out.flush())
    await asyncio.sleep(0)
    out.add("changelog", b"sim-001", b"state", partition=3)
    second = asyncio.create_task(out.flush())
    await asyncio.sleep(0.05)
    assert handed == []  # the changelog record waits behind the blocked feature
    features_may_go.set()
    async with asyncio.timeout(5):
        await asyncio.gather(first, second)
    assert handed == ["features", "changelog"]


async def test_within_one_flush_the_changelog_goes_after_the_outputs() -> None:
    handed: list[str] = []
    features_may_go = asyncio.Event()

    async def send_batch(topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list[Any]:
        if topic == "features":
            await features_may_go.wait()
        handed.append(topic)
        return []

    out = Outgoing(Recorder().partitions_of, send_batch)
    out.watch("changelog", lambda partition, offset: None)
    out.add("changelog", b"sim-001", b"state", partition=3)
    out.add("features", b"sim-001", b"f")
    flush = asyncio.create_task(out.flush())
    await asyncio.sleep(0.05)
    assert handed == []
    features_may_go.set()
    async with asyncio.timeout(5):
        await flush
    assert handed == ["features", "changelog"]
