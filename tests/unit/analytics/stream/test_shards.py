"""Shards: partitions to shards, queued prescription changes and lost partitions; a shard in a real child process."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from analytics.events import FeaturesV1
from analytics.stream.settings import WorkerSettings
from analytics.stream.shard import FEATURES, Bundles, Done, ShardCore, Stored, Ticks
from analytics.stream.shards import ProcessShard, ShardGoneError, Shards, Turns
from ingest.wire import decode, encode
from tests.unit.analytics.stream.conftest import prescription, readings
from tests.unit.analytics.stream.test_shard import bundle_of


class Recording:
    """A shard that records its requests and answers nothing."""

    def __init__(self) -> None:
        self.requests: list[Bundles | Ticks] = []

    def submit(self, request: Bundles | Ticks) -> asyncio.Future[Done]:
        self.requests.append(request)
        answer: asyncio.Future[Done] = asyncio.get_running_loop().create_future()
        answer.set_result(Done([], [], [], [], None))
        return answer

    async def close(self) -> None:
        return None


async def test_each_shard_gets_its_partitions_and_what_was_queued_for_them() -> None:
    a, b = Recording(), Recording()
    shards = Shards([a, b])
    shards.prescription_changed(5, b"p5", b"rx")
    shards.partitions_lost({2, 4})
    await shards.fold([(0, 0, b"x0"), (1, 1, b"x1"), (2, 2, b"x2"), (3, 5, b"x5")])
    assert [(r.items, r.rx_updates, r.drop) for r in a.requests] == [([(0, 0, b"x0"), (2, 2, b"x2")], [], [2, 4])]
    assert [(r.items, r.rx_updates, r.drop) for r in b.requests] == [
        ([(1, 1, b"x1"), (3, 5, b"x5")], [(b"p5", b"rx")], [])
    ]
    await shards.tick([(b"p1", 1)])
    assert a.requests[1:] == [] and b.requests[1] == Ticks([(b"p1", 1)])  # queued items go once


async def test_a_shard_with_only_queued_changes_still_hears_them() -> None:
    a, b = Recording(), Recording()
    shards = Shards([a, b])
    shards.partitions_lost({1})
    await shards.fold([(0, 0, b"x0")])
    assert b.requests == [Bundles([], [], [1])]


def test_no_processes_means_one_shard_in_the_worker() -> None:
    shards = Shards.create(WorkerSettings(runtime_processes=0), lambda keys: [], lambda: ShardCore(5.0))
    assert len(shards.shards) == 1 and not isinstance(shards.shards[0], ProcessShard)


@pytest.mark.timeout(60)
async def test_a_shard_in_a_child_process_folds_readings_and_asks_for_states(tmp_path: Path) -> None:
    rs = readings("rehab_session", 6)
    asked: list[bytes] = []

    def load(keys: list[bytes]) -> list[Stored]:
        asked.extend(keys)
        return [Stored(k, None, encode(prescription())) for k in keys]

    shard = ProcessShard(0, WorkerSettings(data_dir=tmp_path), load)
    try:
        answers = [
            shard.submit(Bundles([(0, 3, bundle_of(rs[:3])), (1, 3, bundle_of(rs[3:], 3))])),
            shard.submit(Bundles([(0, 3, bundle_of(rs))])),  # replayed: nothing new
        ]
        first, second = [await answer for answer in answers]
    finally:
        await shard.close()
    assert asked == [b"sim-001"]
    features = [decode(FeaturesV1, v) for kind, _, v in first.outputs if kind == FEATURES]
    assert [f.t_s for f in features] == [r.gateway_time_ns // 1_000_000_000 for r in rs]
    assert first.touched[0].events == [0, 1] and first.touched[0].state is not None
    assert second.outputs == [] and second.touched == []


@pytest.mark.timeout(60)
async def test_a_shard_process_that_dies_is_reported_not_replaced(tmp_path: Path) -> None:
    shard = ProcessShard(0, WorkerSettings(data_dir=tmp_path), lambda keys: [])
    try:
        await shard.submit(Ticks([]))
        child = shard._child
        assert child is not None
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        with pytest.raises(ShardGoneError, match="exited"):
            await shard.submit(Ticks([]))
        with pytest.raises(ShardGoneError, match="exited"):
            await shard.submit(Ticks([]))  # and stays gone
    finally:
        await shard.close()


async def test_turns_go_in_ticket_order_whoever_is_ready_first() -> None:
    turns = Turns()
    order: list[int] = []

    async def publish(ticket: int, ready_after: float) -> None:
        await asyncio.sleep(ready_after)
        async with turns.turn(ticket):
            order.append(ticket)

    tickets = [turns.take() for _ in range(4)]
    await asyncio.gather(*(publish(t, delay) for t, delay in zip(tickets, [0.03, 0.0, 0.02, 0.01], strict=True)))
    assert order == [0, 1, 2, 3]


@pytest.mark.timeout(60)
async def test_closing_a_shard_cancels_what_it_has_not_answered(tmp_path: Path) -> None:
    """A worker that stops is not a shard that died: nothing is reported as lost."""
    shard = ProcessShard(0, WorkerSettings(data_dir=tmp_path), lambda keys: [])
    answers = [shard.submit(Ticks([])) for _ in range(3)]
    await asyncio.sleep(0)
    await shard.close()
    assert all(a.cancelled() or (a.done() and a.exception() is None) for a in answers)
    assert shard.submit(Ticks([])).cancelled()
