"""A gateway process for crash tests: virtual strap + buffer + forwarder + gateway in one real OS process.

    .venv/bin/python -m tests.sim.gateway_proc --buffer B --bootstrap H:P --topic-prefix P --total N [...]

The strap is a plain HRS strap notifying heart rate ``i`` = :func:`~tests.sim.virtual_h10.hr_payload` ``(i)``
every ``--hr-interval`` seconds up to index ``total - 1``. A restarted process continues the sequence where the
buffer's committed ``seq`` counter says the last one stopped: readings that were never committed (in flight when
the process was killed) are, like a real strap's notifications during a crash, not the gateway's to deliver.
``--kill-after-acks K`` SIGKILLs the process itself right after the broker acknowledged the K-th batch and before
the buffer deletes it: the worst moment. Progress goes to stdout as JSON lines; exit 0 once everything was sent
and forwarded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

from ingest.gateway import BufferLimits, Gateway, GatewaySettings, ReadingBuffer
from ingest.gateway.forwarder import Forwarder, default_producer
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.wire import Event
from tests.sim.bumble_backend import SimRadio
from tests.sim.util import eventually
from tests.sim.virtual_strap import VirtualStrap

DEVICE_ID = "crash-test-strap"
PATIENT_ID = "patient-crash"


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def committed(buffer_path: Path) -> tuple[int, int] | None:
    """(first_seq, next_seq) of the strap in the buffer file, if it was ever seen."""
    if not buffer_path.exists():
        return None
    conn = sqlite3.connect(f"file:{buffer_path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT first_seq, next_seq FROM devices WHERE device_id = ?", (DEVICE_ID,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return None if row is None else (int(row[0]), int(row[1]))


class KillingProducer(EventProducer):
    """Dies by SIGKILL right after the K-th acknowledged batch, before the forwarder can delete it."""

    def __init__(self, settings: KafkaSettings, kill_after: int) -> None:
        super().__init__(settings, linger_ms=20, retry_backoff_ms=500)
        self._left = kill_after

    async def send_many(self, events: Iterable[Event]) -> None:
        batch = list(events)
        await super().send_many(batch)
        self._left -= 1
        if self._left == 0:
            say(event="killing-self", acked_batch=len(batch))
            os.kill(os.getpid(), signal.SIGKILL)


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    known = committed(args.buffer)
    first_index = 0 if known is None else known[1] - known[0]
    say(event="start", pid=os.getpid(), first_index=first_index)
    radio = SimRadio()
    strap = VirtualStrap(radio, hr_interval_s=args.hr_interval, first_hr_index=first_index)
    strap.hr_limit = args.total
    settings = GatewaySettings(
        _env_file=None,
        environment="test",
        patient_id=PATIENT_ID,
        device_id=DEVICE_ID,
        device_token="crash-test-token-0123456789abcdef",
        buffer_path=args.buffer,
        scan_timeout_s=2.0,
        reconnect_backoff_initial_s=0.05,
        reconnect_backoff_max_s=0.5,
        forward_backoff_initial_s=0.1,
        forward_backoff_max_s=1.0,
    )
    kafka = KafkaSettings(bootstrap=args.bootstrap, topic_prefix=args.topic_prefix)
    kill_after = args.kill_after_acks

    def producer(k: KafkaSettings) -> EventProducer:
        return KillingProducer(k, kill_after) if kill_after else default_producer(k)

    limits = BufferLimits(max_rows=100_000, max_bytes=10**8, hard_max_rows=200_000, hard_max_bytes=2 * 10**8)
    async with strap:
        buffer = ReadingBuffer(args.buffer, patient_id=PATIENT_ID, limits=limits)
        async with buffer:
            forwarder = Forwarder(buffer, kafka, policy=settings.forward_backoff, producer_factory=producer)
            scanner, client = radio.backends()
            async with forwarder:
                async with Gateway(settings, buffer, scanner_backend=scanner, client_backend=client):
                    await eventually(lambda: forwarder.stats.reconciles >= 1, within_s=30)
                    say(event="reconciled", already_in_kafka=forwarder.stats.already_in_kafka)
                    await eventually(lambda: strap.next_hr_index >= args.total, within_s=600)
                drained = await forwarder.drain(60.0)
            stats = forwarder.stats
            say(
                event="done",
                drained=drained,
                sent_by_strap=strap.count("hrm"),
                forwarded=dict(stats.forwarded),
                already_in_kafka=stats.already_in_kafka,
                failures=stats.failures,
            )
    return 0 if drained else 3


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--buffer", type=Path, required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic-prefix", required=True)
    parser.add_argument("--total", type=int, required=True)
    parser.add_argument("--hr-interval", type=float, default=0.01)
    parser.add_argument("--kill-after-acks", type=int, default=0)
    sys.exit(asyncio.run(main(parser.parse_args())))
