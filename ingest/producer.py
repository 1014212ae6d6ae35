"""A thin, durable Kafka producer for events: acks from all in-sync replicas, idempotent, keyed by patient."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ingest.kafka_config import KafkaSettings
from ingest.wire import Event, encode


class EventProducer:
    """Publishes :class:`~ingest.wire.Event` objects to their topics.

    ``send`` resolves only when the broker has acknowledged the write (``acks=all``), so callers that delete from
    a local buffer or commit a consumer offset after it never lose a message. The producer is idempotent, so
    its own retries never duplicate a message either.
    """

    def __init__(self, settings: KafkaSettings, *, linger_ms: int = 5, **overrides: Any) -> None:
        self._settings = settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap,
            client_id=f"{settings.client_id}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            request_timeout_ms=30_000,
            **overrides,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def topic_for(self, event: Event) -> str:
        return self._settings.topic(event.TOPIC)

    async def send(self, event: Event) -> None:
        """Publish one event and wait for the broker's acknowledgement."""
        await self._producer.send_and_wait(self.topic_for(event), encode(event), key=event.partition_key())

    async def send_many(self, events: Iterable[Event]) -> None:
        """Publish a batch and wait for every acknowledgement; raises the first failure after all settle."""
        futures = [await self._producer.send(self.topic_for(e), encode(e), key=e.partition_key()) for e in events]
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def flush(self) -> None:
        await self._producer.flush()


__all__ = ["EventProducer", "KafkaError"]
