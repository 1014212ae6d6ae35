"""The worker's side of the runtime shards: which shard holds which partition, and the exchange with each.

Partition ``p`` belongs to shard ``p % n``; every shard gets its part of a pass at once and works on it in parallel
with the others (in child processes, :class:`ProcessShard`, one per ``CARDIO_WORKER_RUNTIME_PROCESSES``; with 0,
one :class:`LocalShard` in the worker's own thread). A patient's readings all come through one partition, so one
shard folds them in order.

Prescription changes and lost partitions are queued and go out with the shard's next request, before its readings,
so a shard never folds a reading with an older prescription than the worker's table had when the reading was
taken, nor keeps a patient whose partition moved to another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Protocol

from analytics.stream.settings import WorkerSettings
from analytics.stream.shard import (
    Bundles,
    Done,
    Need,
    ShardCore,
    Stored,
    Supply,
    Ticks,
    decode_reply,
    encode_message,
)
from analytics.stream.shard_process import FRAME

log = logging.getLogger(__name__)
Load = Callable[[list[bytes]], list[Stored]]  # the stored states (and prescriptions) of these patient keys


class ShardGoneError(RuntimeError):
    """A shard's process exited: the patients it held are lost from memory (their stored states are not)."""


class Shard(Protocol):
    async def exchange(self, request: Bundles | Ticks) -> Done: ...
    async def close(self) -> None: ...


class LocalShard:
    """A shard in the worker's own thread (``runtime_processes = 0``: agent tests, small deployments)."""

    def __init__(self, core: ShardCore, load: Load) -> None:
        self.core = core
        self._load = load

    async def exchange(self, request: Bundles | Ticks) -> Done:
        return self.core.handle(request, self._load)

    async def close(self) -> None:
        return None


class ProcessShard:
    """A shard in a child process (:mod:`analytics.stream.shard_process`), started at the first exchange."""

    def __init__(self, index: int, settings: WorkerSettings, load: Load) -> None:
        self.index = index
        self._settings = settings
        self._load = load
        self._child: asyncio.subprocess.Process | None = None
        self._turn = asyncio.Lock()
        self._closed = False

    async def _started(self) -> asyncio.subprocess.Process:
        if self._closed:
            raise asyncio.CancelledError  # the worker is stopping
        if self._child is None:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "analytics.stream.shard_process",
                self._settings.model_dump_json(),
                str(os.getpid()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**26,
            )
            log.info("runtime shard %d: process %d", self.index, self._child.pid)
        elif self._child.returncode is not None:
            raise ShardGoneError(f"runtime shard {self.index} (process {self._child.pid}) exited")
        return self._child

    async def exchange(self, request: Bundles | Ticks) -> Done:
        async with self._turn:
            child = await self._started()
            reply = await self._ask(child, encode_message(request))
            if isinstance(reply, Need):
                reply = await self._ask(child, encode_message(Supply(self._load(reply.keys))))
            if not isinstance(reply, Done):
                raise ShardGoneError(f"runtime shard {self.index} answered a supply with a {type(reply).__name__}")
            return reply

    async def _ask(self, child: asyncio.subprocess.Process, message: bytes) -> Need | Done:
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            child.stdin.write(FRAME.pack(len(message)))
            child.stdin.write(message)
            await child.stdin.drain()
            (size,) = FRAME.unpack(await child.stdout.readexactly(FRAME.size))
            return decode_reply(await child.stdout.readexactly(size))
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            if self._closed:
                raise asyncio.CancelledError from exc
            code = await child.wait()
            raise ShardGoneError(f"runtime shard {self.index} (process {child.pid}) exited with {code}") from exc

    async def close(self) -> None:
        self._closed = True
        child, self._child = self._child, None
        if child is None or child.returncode is not None:
            return
        assert child.stdin is not None
        child.stdin.close()  # the child ends when its input does
        try:
            await asyncio.wait_for(child.wait(), 10.0)
        except TimeoutError:
            child.kill()
            with contextlib.suppress(ProcessLookupError):
                await child.wait()


class Shards:
    def __init__(self, shards: list[Shard]) -> None:
        if not shards:
            raise ValueError("at least one shard")
        self.shards = shards
        n = len(shards)
        self._rx: list[list[tuple[bytes, bytes]]] = [[] for _ in range(n)]
        self._drop: list[set[int]] = [set() for _ in range(n)]

    @classmethod
    def create(cls, settings: WorkerSettings, load: Load, local: Callable[[], ShardCore]) -> Shards:
        if settings.runtime_processes == 0:
            return cls([LocalShard(local(), load)])
        return cls([ProcessShard(i, settings, load) for i in range(settings.runtime_processes)])

    def of(self, partition: int) -> int:
        return partition % len(self.shards)

    def prescription_changed(self, partition: int, key: bytes, value: bytes) -> None:
        self._rx[self.of(partition)].append((key, value))

    def partitions_lost(self, partitions: set[int]) -> None:
        for partition in partitions:
            self._drop[self.of(partition)].add(partition)

    async def fold(self, bundles: list[tuple[int, int, bytes]]) -> list[Done]:
        """Fold ``(index, partition, bundle)`` in, each shard its partitions' bundles, all shards at once."""
        parts: list[list[tuple[int, int, bytes]]] = [[] for _ in self.shards]
        for item in bundles:
            parts[self.of(item[1])].append(item)
        return await self._all(
            {i: Bundles(part, *self._queued(i)) for i, part in enumerate(parts) if part or self._pending(i)}
        )

    async def tick(self, ticks: list[tuple[bytes, int]]) -> list[Done]:
        """Clock ticks ``(patient key, partition)`` for quiet patients."""
        parts: list[list[tuple[bytes, int]]] = [[] for _ in self.shards]
        for item in ticks:
            parts[self.of(item[1])].append(item)
        return await self._all(
            {i: Ticks(part, *self._queued(i)) for i, part in enumerate(parts) if part or self._pending(i)}
        )

    async def close(self) -> None:
        for shard in self.shards:
            await shard.close()

    def _pending(self, i: int) -> bool:
        return bool(self._rx[i] or self._drop[i])

    def _queued(self, i: int) -> tuple[list[tuple[bytes, bytes]], list[int]]:
        rx, self._rx[i] = self._rx[i], []
        drop, self._drop[i] = sorted(self._drop[i]), set()
        return rx, drop

    async def _all(self, requests: dict[int, Bundles | Ticks]) -> list[Done]:
        if len(requests) == 1:
            ((i, request),) = requests.items()
            return [await self.shards[i].exchange(request)]
        return list(await asyncio.gather(*(self.shards[i].exchange(r) for i, r in requests.items())))
