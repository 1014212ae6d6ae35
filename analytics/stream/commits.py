"""At-least-once offset commits for a plain aiokafka consume-and-produce loop (the bundler; the benchmark's
passthrough uses it too, so the baseline commits exactly the way the worker's first stage does).

Records are produced as they arrive. Every commit interval a background commit takes the sends made so far, waits
for every acknowledgement (``acks=all``) and only then commits the offsets those sends covered. A send that fails
fails the commit: nothing it covered is committed, and the process stops so the next member of the group
re-reads the input.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition


class Committer:
    """Tracks produced-but-unacknowledged sends and the source offsets they cover."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._pending: list[asyncio.Future[Any]] = []
        self._offsets: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.commits = 0
        self.produced = 0

    def track(self, tp: TopicPartition, last_offset: int, future: asyncio.Future[Any]) -> None:
        """``future`` is the send that carries ``tp``'s records up to ``last_offset``."""
        self._pending.append(future)
        self._offsets[tp] = last_offset + 1
        self.produced += 1

    def start(self) -> None:
        """Begin a background commit of everything sent so far (unless one is still running).

        Raises the error of the previous commit if it failed (its offsets were not committed)."""
        if self._task is not None:
            if not self._task.done():
                return
            self._task.result()
        pending, offsets = self._pending, self._offsets
        self._pending, self._offsets = [], {}
        self._task = asyncio.create_task(self._commit(pending, offsets))

    async def finish(self) -> None:
        """Wait for the running commit, then commit whatever is left (before a rebalance or at the end)."""
        if self._task is not None:
            task, self._task = self._task, None
            await task
        pending, offsets = self._pending, self._offsets
        self._pending, self._offsets = [], {}
        await self._commit(pending, offsets)

    async def _commit(self, pending: list[asyncio.Future[Any]], offsets: dict[TopicPartition, int]) -> None:
        if pending:
            await asyncio.gather(*pending)  # raises on the first failed send: nothing is committed then
        assigned = self._consumer.assignment()
        mine = {tp: off for tp, off in offsets.items() if tp in assigned}
        if mine:
            await self._consumer.commit(mine)
            self.commits += 1


class CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what was sent before partitions move to another member; says when partitions were first assigned."""

    def __init__(self) -> None:
        self.committer: Committer | None = None
        self.assigned = asyncio.Event()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self.committer is not None:
            await self.committer.finish()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.assigned.set()
