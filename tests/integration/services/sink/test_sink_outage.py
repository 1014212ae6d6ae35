"""Issue 6, sink: with the database unreachable for 60 s while readings keep arriving, nothing is lost and nothing
is stored twice. The shared PostgreSQL is never stopped: the sink talks to it through a TCP proxy that the test
takes down (open connections dropped, new ones refused) and brings back."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import psycopg
import pytest

from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from services.sink.runner import Sink
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES
from tests.integration.services import events_factory as ev
from tests.integration.services.tcp_proxy import TcpProxy, with_port
from tests.support.stack import unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

OUTAGE_S = 60.0
RATE_HZ = 40  # readings per second across 4 patients


def stored(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT (device_id, seq)) FROM sensor_hr").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_a_minute_without_the_database_loses_nothing(kafka: KafkaSettings, database_url: str) -> None:
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    target = urlsplit(database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = with_port(database_url, "127.0.0.1", proxy.port)
    published: list[SensorHrV1] = []
    stop_publishing = asyncio.Event()

    async def publish(producer: EventProducer) -> None:
        seq = 0
        while not stop_publishing.is_set():
            batch = [ev.hr(f"p{i}", f"strap{i}", seq, t_ns=time.time_ns()) for i in range(4)]
            await producer.send_many(batch)
            published.extend(batch)
            seq += 1
            await asyncio.sleep(4 / RATE_HZ)

    settings = SinkSettings(group_id=unique("sink-outage-"), batch_wait_ms=100, retry_initial_s=0.5, retry_max_s=5.0)
    async with EventProducer(kafka) as producer:
        sink = Sink(settings, kafka, proxied, producer, statement_timeout_ms=10_000)
        await sink.start()
        runner = asyncio.create_task(sink.run())
        publisher = asyncio.create_task(publish(producer))
        try:
            await asyncio.sleep(5)
            before_outage = stored(database_url)[0]
            assert before_outage > 0, "the sink wrote nothing before the outage"

            await proxy.outage()
            outage_started = time.monotonic()
            retries_before = sink.stats.retries
            await asyncio.sleep(OUTAGE_S)
            during = stored(database_url)[0]
            assert sink.stats.retries > retries_before, "the sink never noticed the outage"
            assert during - before_outage <= 4 * RATE_HZ, "rows kept arriving although the database was unreachable"
            published_during = sum(1 for e in published if e.gateway_time_ns >= time.time_ns() - OUTAGE_S * 1e9)
            assert published_during >= RATE_HZ * OUTAGE_S * 0.8, "the publisher stalled during the outage"

            await proxy.restore()
            restored = time.monotonic()
            await asyncio.sleep(5)
            stop_publishing.set()
            await publisher

            expected = {(e.device_id, e.seq) for e in published}
            deadline = time.monotonic() + 60
            while (n := stored(database_url))[1] < len(expected) and time.monotonic() < deadline:
                assert not runner.done(), runner.exception()
                await asyncio.sleep(0.5)
            caught_up_s = time.monotonic() - restored
        finally:
            stop_publishing.set()
            runner.cancel()
            await asyncio.gather(runner, publisher, return_exceptions=True)
            await sink.stop()
            await proxy.close()

    total, distinct = stored(database_url)
    assert distinct == len(expected), f"lost {len(expected) - distinct} of {len(expected)} readings"
    assert total == distinct, f"{total - distinct} readings stored twice"
    assert caught_up_s < 30, f"caught up {caught_up_s:.1f} s after the database came back (outage {OUTAGE_S:.0f} s)"
    assert time.monotonic() - outage_started > OUTAGE_S
    print(f"outage {OUTAGE_S:.0f} s: {len(expected)} readings, caught up {caught_up_s:.1f} s after restore, n={n}")
