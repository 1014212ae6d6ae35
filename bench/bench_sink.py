"""Sink benchmark: rows per second from Kafka into TimescaleDB through the real ``Sink``, against a plain COPY.

N ``features.v1`` messages (50 patients, one per patient-second) are produced to a private topic prefix first (not
timed). The real :class:`services.sink.runner.Sink` then consumes them in its own consumer group and writes them
(decode, COPY into a staging table, ``INSERT ... ON CONFLICT`` into the ``features`` hypertable, commit, then commit
the offsets); the rate counts from the end of its first batch (after the consumer group formed) to its last commit.
Baseline, in the same run and database: the same rows (already converted to tuples) written to the same, emptied
table with one plain ``COPY ... FROM STDIN`` in one transaction, the fastest way in. Target: sink >= 70 % of COPY.

Run ``.venv/bin/python -m bench.bench_sink`` (``--quick`` for a short run). Needs the local stack
(``.stack/cardiorehab.env``). Writes ``bench/results/sink.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench import common
from ingest.collector import collect_less_often
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from services.sink.runner import Sink
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES, FEATURES
from tests.integration.services import events_factory as ev
from tests.support.stack import StackEnv, cleanup_topics, private_database, read_env, unique

TARGET_RATIO = 0.70
PATIENTS = 50
PRODUCE_CHUNK = 5000


def count_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM features").fetchone()
    return int(row[0]) if row else 0


def truncate(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE features")


def plain_copy(url: str, rows: list[Any]) -> float:
    """Seconds for one COPY of every row into the (empty) features table, committed."""
    cols = ", ".join(FEATURES.columns)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY features ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def events(n: int) -> Iterator[Any]:
    """n features messages: 50 patients, one per patient-second."""
    for s in range(n // PATIENTS):
        for p in range(PATIENTS):
            yield ev.features(f"bench-{p:03d}", s)


async def produce(kafka: Any, n: int) -> int:
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    sent = 0
    async with EventProducer(kafka, linger_ms=20, max_batch_size=1_048_576) as producer:
        chunk: list[Any] = []
        for event in events(n):
            chunk.append(event)
            if len(chunk) == PRODUCE_CHUNK:
                await producer.send_many(chunk)
                sent, chunk = sent + len(chunk), []
        await producer.send_many(chunk)
    return sent + len(chunk)


async def run_sink(kafka: Any, url: str, n: int) -> dict[str, float]:
    """Consume all n messages with the real Sink; timing from the end of its first batch to its last commit."""
    async with EventProducer(kafka) as producer:
        sink = Sink(SinkSettings(group_id=unique("bench-sink-")), kafka, url, producer)  # production's batch size
        await sink.start()
        task = asyncio.create_task(sink.run())
        try:
            while sink.stats.batches == 0:
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
            first_at, first_msgs = time.perf_counter(), sink.stats.messages
            while sink.stats.messages < n:
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
            ended = time.perf_counter()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await sink.stop()
    timed = n - first_msgs
    return {
        "rows_timed": timed,
        "seconds": ended - first_at,
        "rows_per_s": timed / (ended - first_at),
        "batches": sink.stats.batches,
        "retries": sink.stats.retries,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run (20 000 rows)")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None, help="sink/COPY rounds, best of each (default 3, quick 1)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run_all's timeout: clean up topics and databases
    # The collector setting `cardiorehab sink` runs with; it holds for the baseline's COPY as well (same process).
    collect_less_often(SinkSettings().gc_gen0_threshold)
    n = args.rows or (20_000 if args.quick else 200_000)
    rounds = args.rounds or (1 if args.quick else 3)
    stack = StackEnv(read_env())
    prefix = unique("bench-") + "-"
    kafka = stack.kafka(prefix, partitions=4)
    sinks: list[dict[str, float]] = []
    copies: list[float] = []
    cpu_before, load_before = common.system_cpu_times(), common.load_average()
    try:
        with private_database(stack) as url:
            produced = asyncio.run(produce(kafka, n))
            for _ in range(rounds):  # alternate, and keep the best of each: other work shares this machine
                truncate(url)
                gc.collect()
                sinks.append(asyncio.run(run_sink(kafka, url, produced)))  # a new consumer group re-reads all
                stored = count_rows(url)
                truncate(url)
                rows = [FEATURES.to_row(e) for e in events(n)]  # the same rows (built now, not held by the sink)
                gc.collect()
                copies.append(plain_copy(url, rows))
                copied = count_rows(url)
                del rows
    finally:
        cleanup_topics(stack.bootstrap, prefix)
    busy = common.system_busy_fraction(cpu_before, common.system_cpu_times())
    sink = max(sinks, key=lambda r: r["rows_per_s"])
    copy_s = min(copies)
    copy_rate = copied / copy_s
    ratio = sink["rows_per_s"] / copy_rate
    checks = [
        common.check("sink / plain COPY", round(ratio, 3), TARGET_RATIO, ratio >= TARGET_RATIO),
        common.check("every message stored once", stored, produced, stored == produced),
        common.check("baseline stored every row", copied, produced, copied == produced),
    ]
    result = common.envelope(
        "sink",
        title="Kafka features.v1 -> TimescaleDB through the real Sink vs a plain COPY of the same rows",
        quick=args.quick,
        figures={
            "rows": produced,
            "rows_per_s": round(sink["rows_per_s"]),
            "seconds": round(sink["seconds"], 3),
            "batches": sink["batches"],
            "batch_max_records": SinkSettings().batch_max_records,
            "db_retries": sink["retries"],
        },
        baseline={"rows": copied, "rows_per_s": round(copy_rate), "seconds": round(copy_s, 3)},
        ratio=round(ratio, 3),
        target={"ratio_min": TARGET_RATIO},
        passed=common.overall_pass(checks),
        checks=checks,
        command="python -m bench.bench_sink" + (" --quick" if args.quick else ""),
        notes=[
            "features rows (29 columns, 50 patients), 4 partitions; sink timed from its first batch's end "
            "(consumer group formed) to its last commit, so Kafka fetch + decode + staging COPY + INSERT ON "
            "CONFLICT + offset commits are all inside",
            "baseline: one COPY of all rows into the emptied features table in one transaction (stricter than "
            "the sink's one transaction per batch)",
            "both run with the garbage-collector threshold `cardiorehab sink` sets (gen0 "
            f"{SinkSettings().gc_gen0_threshold} allocations)",
            f"best of {rounds} alternating rounds each; Kafka, PostgreSQL, the benchmark and whatever else runs share "
            f"the machine's cores (busy {busy:.0%} of all cores during the run, load average before {load_before})"
            if busy is not None
            else f"best of {rounds} alternating rounds each",
        ],
        details={
            "sink_rounds_rows_per_s": [round(r["rows_per_s"]) for r in sinks],
            "copy_rounds_rows_per_s": [round(copied / c) for c in copies],
            "machine_busy_fraction": None if busy is None else round(busy, 3),
            "load_average_before": load_before,
            "best_sink": sink,
        },
    )
    out = common.write_result(result)
    print(f"sink {sink['rows_per_s']:.0f} rows/s, COPY {copy_rate:.0f} rows/s, ratio {ratio:.2f} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
