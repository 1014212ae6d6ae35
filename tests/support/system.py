"""The whole service (API, sink, worker) as real processes on a test's private topics and database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.simulate import SimulatorRunner
from ingest.simulator import Fleet, ScenarioMix, load_scenario
from ingest.simulator.scenario import Scenario
from ingest.topics_admin import ensure_topics
from ingest.wire import Event
from services.db.seed import DEMO_PASSWORD, seed
from tests.support.processes import ServiceProcess, free_port, service_env, wait_for_port
from tests.support.stack import StackEnv, unique


def system_env(stack: StackEnv, kafka: KafkaSettings, database_url: str, work: Path, **extra: str) -> dict[str, str]:
    return service_env(
        {},
        CARDIO_ENVIRONMENT="test",
        CARDIO_KAFKA_BOOTSTRAP=stack.bootstrap,
        CARDIO_KAFKA_TOPIC_PREFIX=kafka.topic_prefix,
        CARDIO_KAFKA_PARTITIONS=str(kafka.partitions),
        CARDIO_DB_URL=database_url,
        CARDIO_API_JWT_SECRET=unique("jwt-secret-for-tests-"),
        CARDIO_WORKER_APP_ID=unique("app-"),
        CARDIO_WORKER_DATA_DIR=str(work / "faust"),
        CARDIO_SINK_GROUP_ID=unique("sink-"),
        CARDIO_HEALTH_DIR=str(work),
        **extra,
    )


@dataclass
class LiveSystem:
    port: int
    kafka: KafkaSettings
    database_url: str
    processes: dict[str, ServiceProcess]
    published: list[SensorHrV1] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            r = await http.post("/api/v1/auth/token", data={"username": username, "password": password})
            r.raise_for_status()
            token: str = r.json()["access_token"]
            return token

    async def simulate(
        self, scenario: Scenario | ScenarioMix | str, patients: int, duration_s: float, seed: int = 1
    ) -> None:
        source = load_scenario(scenario) if isinstance(scenario, str) else scenario
        async with EventProducer(self.kafka) as producer:

            async def publish(events: Sequence[Event]) -> None:
                await producer.send_many(events)
                self.published.extend(e for e in events if isinstance(e, SensorHrV1))

            runner = SimulatorRunner(
                lambda s, start: Fleet(patients, seed + s, source, start_time_ns=start), patients, publish
            )
            await runner.run(duration_s=duration_s, loop=False)


@contextlib.asynccontextmanager
async def live_system(
    stack: StackEnv,
    kafka: KafkaSettings,
    database_url: str,
    work: Path,
    *,
    patients: int,
    workers: int = 1,
    **extra_env: str,
) -> AsyncIterator[LiveSystem]:
    """Seed the private database, start the API, the sink and ``workers`` workers, and stop them afterwards."""
    seed(database_url, patients=patients, environment="test")
    await ensure_topics(kafka, [SensorHrV1])
    env = system_env(stack, kafka, database_url, work, **extra_env)
    port = free_port()
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    procs = {"api": ServiceProcess("api", ["api", "--port", str(port)], env, logs)}
    procs["sink"] = ServiceProcess("sink", ["sink"], env, logs)
    for i in range(1, workers + 1):
        procs[f"worker{i}"] = ServiceProcess(f"worker{i}", ["worker", "--name", f"w{i}"], env, logs)
    for proc in procs.values():
        proc.start()
    try:
        await asyncio.to_thread(wait_for_port, port, procs["api"])
        yield LiveSystem(port, kafka, database_url, procs)
    finally:
        for proc in reversed(list(procs.values())):
            await asyncio.to_thread(proc.stop)
