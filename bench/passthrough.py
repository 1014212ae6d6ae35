"""Baseline for the stream benchmark: a bare aiokafka consume-and-produce passthrough.

It does what the worker does minus the work: consumes the sensor topic in a consumer group, produces every value
unchanged to the output topic with the same key, and commits the way the worker's first stage (the bundler) does,
with the same :class:`~analytics.stream.commits.Committer` (at-least-once): records are produced as they arrive,
and every ``--commit-interval`` seconds a background commit waits for the acknowledgements of everything sent so
far (``acks=all``, idempotent) and then commits the offsets it covered.

Run as a separate process (the benchmark starts it)::

    python -m bench.passthrough --bootstrap 127.0.0.1:29092 --source T_IN --dest T_OUT --group G

It prints ``ready`` once it has its partitions, and stops on SIGTERM/SIGINT after a final commit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from analytics.stream.commits import CommitOnRevoke, Committer


async def run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    listener = CommitOnRevoke()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        client_id=f"{args.group}-{args.name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=args.max_poll_records,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap,
        client_id=f"{args.group}-{args.name}-producer",
        acks="all",
        enable_idempotence=True,
        linger_ms=args.linger_ms,
        request_timeout_ms=30_000,
    )
    await producer.start()
    await consumer.start()
    committer = Committer(consumer)
    listener.committer = committer
    consumer.subscribe([args.source], listener=listener)
    announced = False
    last_commit = time.monotonic()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=args.max_poll_records)
            if not announced and listener.assigned.is_set():
                print("ready", flush=True)
                announced = True
            for tp, records in batches.items():
                for record in records:
                    future = await producer.send(args.dest, record.value, key=record.key)
                    committer.track(tp, record.offset, future)
            if time.monotonic() - last_commit >= args.commit_interval:
                committer.start()
                last_commit = time.monotonic()
        await committer.finish()
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await producer.stop()
    print(f"passthrough: produced {committer.produced}, {committer.commits} commits", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--source", required=True, help="topic to consume")
    ap.add_argument("--dest", required=True, help="topic to produce to")
    ap.add_argument("--group", required=True, help="consumer group id")
    ap.add_argument("--name", default="p1", help="member name (client id suffix)")
    ap.add_argument("--commit-interval", type=float, default=1.0, help="seconds between commits (faust's default: 1)")
    ap.add_argument("--linger-ms", type=int, default=0, help="producer linger (faust's default: 0)")
    ap.add_argument("--max-poll-records", type=int, default=500)
    ap.add_argument("--uvloop", action="store_true", help="use uvloop (the worker runs on asyncio's default loop)")
    args = ap.parse_args(argv)
    if args.uvloop:
        import uvloop

        uvloop.install()
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
