"""The dispatcher process: delivery passes, heartbeats and the escalation scheduler, with one lifecycle.

Any number of replicas may run against the same database and Kafka: delivery is serialised per ordering key by
advisory locks, heartbeats by the same locks, escalation by leader election (see the modules of this package).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg_pool import AsyncConnectionPool

from ingest.aio import wait_set
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from services import health
from services.db.pool import create_pool
from services.db.settings import DatabaseSettings
from services.integrations.dispatch.deliverer import Deliverer
from services.integrations.dispatch.escalation import EscalationScheduler
from services.integrations.dispatch.heartbeats import Heartbeats
from services.integrations.dispatch.registry import HospitalRegistry
from services.integrations.dispatch.settings import DispatcherSettings
from services.live.events import AlertStateV1

log = logging.getLogger(__name__)
TRANSIENT = (psycopg.OperationalError, OSError, TimeoutError)
HEALTH_BEAT_S = 10.0


class Dispatcher:
    def __init__(self, settings: DispatcherSettings, db: DatabaseSettings, kafka: KafkaSettings) -> None:
        self.settings = settings
        self._db = db
        self._kafka = kafka
        self._pool: AsyncConnectionPool | None = None
        self._producer: EventProducer | None = None
        self.deliverer: Deliverer | None = None
        self.heartbeats: Heartbeats | None = None
        self.scheduler: EscalationScheduler | None = None
        self._registry: HospitalRegistry | None = None

    async def start(self) -> None:
        await ensure_topics(self._kafka, [AlertStateV1])
        self._pool = create_pool(self._db, name="cardiorehab-dispatcher")
        await self._pool.open(wait=True, timeout=30)
        self._producer = EventProducer(self._kafka)
        await self._producer.start()
        policy = self.settings.delivery_policy()
        self._registry = HospitalRegistry(
            self._pool, policy=policy, ca_file=self.settings.ca_file, refresh_s=self.settings.config_refresh_s
        )
        self.deliverer = Deliverer(
            self._pool,
            self._registry,
            policy=policy,
            name=self.settings.name,
            batch=self.settings.batch,
            burst=self.settings.burst,
            config_retry_s=self.settings.config_refresh_s,
            parallel=self.settings.parallel,
        )
        self.heartbeats = Heartbeats(self._pool, self._registry)
        if self.settings.escalation:
            self.scheduler = EscalationScheduler(
                self._pool,
                self._db.dsn(),
                self._producer,
                tick_s=self.settings.escalation_tick_s,
                leader_retry_s=self.settings.leader_retry_s,
                without_hospital=self.settings.escalate_without_hospital,
            )

    async def stop(self) -> None:
        if self._registry is not None:
            await self._registry.close()
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await self._pool.close()

    async def _loop(self, name: str, every_s: float, step: Callable[[], Awaitable[int]], stop: asyncio.Event) -> None:
        """Run ``step`` every ``every_s`` (at once again while it finds work), surviving database outages."""
        while not stop.is_set():
            busy = 0
            try:
                busy = await step()
            except TRANSIENT as exc:
                log.warning("%s: database or network unavailable (%s); retrying", name, exc)
            except Exception:
                # A bug or an unforeseen answer must not stop every other delivery: logged loudly, retried.
                log.exception("%s: unexpected error; retrying in %.1f s", name, every_s)
            if busy:
                continue
            await wait_set(stop, every_s)

    async def _health(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(health.beat, "dispatcher")
            await wait_set(stop, HEALTH_BEAT_S)

    async def run(self, stop: asyncio.Event) -> None:
        if self.deliverer is None or self.heartbeats is None:
            raise RuntimeError("start() the dispatcher first")
        tasks = [
            asyncio.create_task(
                self._loop("delivery", self.settings.poll_interval_s, self.deliverer.pass_once, stop), name="delivery"
            ),
            asyncio.create_task(
                self._loop("heartbeats", self.settings.heartbeat_check_s, self.heartbeats.pass_once, stop),
                name="heartbeats",
            ),
            asyncio.create_task(self._health(stop), name="health"),
        ]
        if self.scheduler is not None:
            tasks.append(asyncio.create_task(self.scheduler.run(stop), name="escalation"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
