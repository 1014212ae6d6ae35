"""The gateway process: buffer + forwarder + BLE gateway, started and stopped in the right order.

Start: open the buffer (resuming whatever a previous run left), start the forwarder (it reconciles with Kafka
first), start the gateway. Stop: stop the gateway (its sessions send STOP to the strap), commit the last
readings, give the forwarder ``drain_timeout_s`` to empty the buffer, close. Whatever is not forwarded stays in
the buffer for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from ingest.gateway.buffer import BufferLimits, BufferStats, ReadingBuffer
from ingest.gateway.clock import Clock
from ingest.gateway.forwarder import Forwarder, ForwarderStats, default_producer
from ingest.gateway.gateway import Gateway
from ingest.gateway.settings import GatewaySettings
from ingest.gateway.stats import GatewayStats
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatewayReport:
    """What a run did, for the CLI's summary."""

    gateway: GatewayStats
    forwarder: ForwarderStats
    buffer: BufferStats
    drained: bool


def buffer_limits(settings: GatewaySettings) -> BufferLimits:
    return BufferLimits(
        max_rows=settings.buffer_max_rows,
        max_bytes=settings.buffer_max_bytes,
        hard_max_rows=settings.buffer_hard_max_rows,
        hard_max_bytes=settings.buffer_hard_max_bytes,
    )


async def run_gateway(
    settings: GatewaySettings,
    kafka: KafkaSettings,
    *,
    stop: asyncio.Event,
    scanner_backend: type[BaseBleakScanner] | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    clock: Clock | None = None,
    producer_factory: Callable[[KafkaSettings], EventProducer] = default_producer,
    drain_timeout_s: float = 10.0,
) -> GatewayReport:
    """Run until ``stop`` is set."""
    buffer = ReadingBuffer(
        settings.buffer_path, patient_id=settings.patient_id, limits=buffer_limits(settings), clock=clock
    )
    async with buffer:
        forwarder = Forwarder(
            buffer,
            kafka,
            policy=settings.forward_backoff,
            batch_rows=settings.forward_batch_rows,
            producer_factory=producer_factory,
        )
        gateway = Gateway(settings, buffer, clock=clock, scanner_backend=scanner_backend, client_backend=client_backend)
        async with forwarder:
            try:
                async with gateway:
                    await stop.wait()
            finally:
                with contextlib.suppress(Exception):
                    await buffer.flush()
                drained = await forwarder.drain(drain_timeout_s) if drain_timeout_s > 0 else False
        stats = await buffer.stats()
        if stats.rows:
            log.warning("%d readings stay buffered in %s for the next run", stats.rows, settings.buffer_path)
        return GatewayReport(gateway.stats, forwarder.stats, stats, drained)
