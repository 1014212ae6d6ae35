"""The worker's side of the runtime shards: which shard holds which partition, and the exchange with each.

Partition ``p`` belongs to shard ``p % n``; every shard gets its part of a pass at once and works on it in parallel
with the others (in child processes, :class:`ProcessShard`, one per ``CARDIO_WORKER_RUNTIME_PROCESSES``; with 0,
one :class:`LocalShard` in the worker's own thread). A patient's readings all come through one partition, so one
shard folds them in order.

Prescription changes and lost partitions are queued and go out with the shard's next request, before its readings,
so a shard never folds a reading with an older prescription than the worker's table had when the reading was
taken, nor keeps a patient whose partition moved to another worker.

Order. Requests are submitted without waiting (:meth:`Shards.fold` and :meth:`Shards.tick` return a future), each
shard answers its requests in the order they were submitted, and the worker publishes their outputs in that order
too (:class:`Turns`). This is what keeps a state in the changelog from getting ahead of the outputs of the readings
and ticks it includes, with several shards, with the tick agent's requests between the sensor agent's, and with
the sensor agent submitting its next pass while it still publishes the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
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
    def submit(self, request: Bundles | Ticks) -> asyncio.Future[Done]:
        """Queue the request (answered after every request submitted before it); returns its answer's future."""
        ...

    async def close(self) -> None: ...


class Turns:
    """Tickets taken when requests are submitted, and turns in ticket order for publishing their answers."""

    def __init__(self) -> None:
        self._next = 0
        self._serving = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}

    def take(self) -> int:
        ticket, self._next = self._next, self._next + 1
        return ticket

    @contextlib.asynccontextmanager
    async def turn(self, ticket: int) -> AsyncIterator[None]:
        """Wait until every earlier ticket's turn is over; the turn ends when the block does."""
        if ticket != self._serving:
            waiter = self._waiting[ticket] = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiting.pop(ticket, None)
        try:
            yield
        finally:
            self._serving = ticket + 1
            following = self._waiting.get(self._serving)
            if following is not None and not following.done():
                following.set_result(None)


class LocalShard:
    """A shard in the worker's own thread (``runtime_processes = 0``: agent tests, small deployments)."""

    def __init__(self, core: ShardCore, load: Load) -> None:
        self.core = core
        self.load = load

    def submit(self, request: Bundles | Ticks) -> asyncio.Future[Done]:
        answer: asyncio.Future[Done] = asyncio.get_running_loop().create_future()
        answer.set_result(self.core.handle(request, self.load))
        return answer

    async def close(self) -> None:
        return None


class ProcessShard:
    """A shard in a child process (:mod:`analytics.stream.shard_process`), started at the first exchange."""

    def __init__(self, index: int, settings: WorkerSettings, load: Load) -> None:
        self.index = index
        self._settings = settings
        self._load = load
        self._child: asyncio.subprocess.Process | None = None
        self._queue: asyncio.Queue[tuple[Bundles | Ticks, asyncio.Future[Done]]] = asyncio.Queue()
        self._server: asyncio.Task[None] | None = None
        self._gone: BaseException | None = None
        self._closed = False

    def submit(self, request: Bundles | Ticks) -> asyncio.Future[Done]:
        answer: asyncio.Future[Done] = asyncio.get_running_loop().create_future()
        if self._closed:
            answer.cancel()  # the worker is stopping
            return answer
        if self._gone is not None:
            answer.set_exception(self._gone)
            return answer
        self._queue.put_nowait((request, answer))
        if self._server is None:
            self._server = asyncio.create_task(self._serve(), name=f"runtime-shard-{self.index}")
        return answer

    async def _serve(self) -> None:
        """Send the queued requests one at a time and answer their futures, in order."""
        while True:
            request, answer = await self._queue.get()
            try:
                done = await self._exchange(request)
            except asyncio.CancelledError:  # closed: the worker is stopping
                self._settle(answer, None)
                return
            except ShardGoneError as exc:
                self._gone = exc
                self._settle(answer, exc)
                return
            if not answer.done():
                answer.set_result(done)

    def _settle(self, answer: asyncio.Future[Done], error: BaseException | None) -> None:
        """Fail (or, when stopping, cancel) this answer and every one still queued."""
        answers = [answer, *(self._queue.get_nowait()[1] for _ in range(self._queue.qsize()))]
        for future in answers:
            if future.done():
                continue
            if error is None:
                future.cancel()
            else:
                future.set_exception(error)

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
                limit=2**26,  # the reader pauses the pipe past twice this; an answer can be megabytes
            )
            log.info("runtime shard %d: process %d", self.index, self._child.pid)
        elif self._child.returncode is not None:
            raise ShardGoneError(f"runtime shard {self.index} (process {self._child.pid}) exited")
        return self._child

    async def _exchange(self, request: Bundles | Ticks) -> Done:
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
        server, self._server = self._server, None
        if server is not None:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
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

    def fold(self, bundles: list[tuple[int, int, bytes]]) -> asyncio.Future[list[Done]]:
        """Submit ``(index, partition, bundle)`` to fold in, each shard its partitions' bundles (worked on at once)."""
        parts: list[list[tuple[int, int, bytes]]] = [[] for _ in self.shards]
        for item in bundles:
            parts[self.of(item[1])].append(item)
        return self._all(
            {i: Bundles(part, *self._queued(i)) for i, part in enumerate(parts) if part or self._pending(i)}
        )

    def tick(self, ticks: list[tuple[bytes, int]]) -> asyncio.Future[list[Done]]:
        """Submit clock ticks ``(patient key, partition)`` for quiet patients."""
        parts: list[list[tuple[bytes, int]]] = [[] for _ in self.shards]
        for item in ticks:
            parts[self.of(item[1])].append(item)
        return self._all({i: Ticks(part, *self._queued(i)) for i, part in enumerate(parts) if part or self._pending(i)})

    async def close(self) -> None:
        for shard in self.shards:
            await shard.close()

    def _pending(self, i: int) -> bool:
        return bool(self._rx[i] or self._drop[i])

    def _queued(self, i: int) -> tuple[list[tuple[bytes, bytes]], list[int]]:
        rx, self._rx[i] = self._rx[i], []
        drop, self._drop[i] = sorted(self._drop[i]), set()
        return rx, drop

    def _all(self, requests: dict[int, Bundles | Ticks]) -> asyncio.Future[list[Done]]:
        if not requests:
            nothing: asyncio.Future[list[Done]] = asyncio.get_running_loop().create_future()
            nothing.set_result([])
            return nothing
        return asyncio.gather(*(self.shards[i].submit(r) for i, r in requests.items()))
