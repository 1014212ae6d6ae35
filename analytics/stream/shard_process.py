"""A runtime shard in a child process of the worker: :class:`~analytics.stream.shard.ShardCore` over a pipe.

The worker writes requests to the child's stdin and reads replies from its stdout, each a frame: a 4-byte
big-endian length, then the MessagePack message (:mod:`analytics.stream.shard`). The child answers each request
in order, one at a time, and asks for stored states (``need``) in the middle of a request when it has to. Its logs
go to stderr: the child moves its stdout away from file descriptor 1 first, so nothing else can write into the
protocol.

Like the bundler's child (:mod:`analytics.stream.bundler_process`) it dies with the worker (``PR_SET_PDEATHSIG``).
It holds no state that is not in the worker's table or still unacknowledged in Kafka, so when it dies the worker
stops too (:mod:`analytics.stream.shards`) and the partitions' next owner replays what was not yet stored.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import struct
import sys
from typing import BinaryIO

from analytics.stream.bundler_process import die_with_parent
from analytics.stream.settings import WorkerSettings
from analytics.stream.shard import Bundles, Need, ShardCore, Supply, Ticks, decode_request, encode_message
from ingest.collector import collect_less_often

log = logging.getLogger(__name__)
FRAME = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame's message, or None at the end of the stream."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def write_frame(stream: BinaryIO, message: bytes) -> None:
    stream.write(FRAME.pack(len(message)))
    stream.write(message)
    stream.flush()


def serve(core: ShardCore, requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until the worker closes the pipe."""
    while (data := read_frame(requests)) is not None:
        request = decode_request(data)
        if isinstance(request, Supply):
            raise ValueError("a supply without a need")
        assert isinstance(request, Bundles | Ticks)
        missing = core.begin(request)
        if missing:
            write_frame(replies, encode_message(Need(missing)))
            answer = read_frame(requests)
            if answer is None:
                return
            supply = decode_request(answer)
            if not isinstance(supply, Supply):
                raise ValueError(f"expected a supply, got a {type(supply).__name__}")
            core.supply(supply.items)
        write_frame(replies, encode_message(core.finish()))


def main(argv: list[str]) -> None:
    die_with_parent(int(argv[1]))
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the protocol
    settings = WorkerSettings.model_validate_json(argv[0])
    logging.basicConfig(level=settings.log_level.upper(), format="[shard %(process)d] %(levelname)s %(message)s")
    collect_less_often(settings.gc_gen0_threshold)
    gc.freeze()  # the imported modules are not what the collector should walk
    core = ShardCore(settings.persist_interval_s)
    with contextlib.suppress(KeyboardInterrupt):
        serve(core, sys.stdin.buffer, replies)


if __name__ == "__main__":
    main(sys.argv[1:])
