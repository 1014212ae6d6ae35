"""A real deployment for integration tests: the API (seeded, private database and topics), the sink and dispatcher
processes (the real ``cardiorehab`` commands), and helpers to configure a hospital and feed ``alerts.v1``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg

from ingest.producer import EventProducer
from ingest.wire import Event
from tests.integration.services.api_server import ApiUnderTest, api_under_test
from tests.support.processes import ServiceProcess, service_env
from tests.support.stack import StackEnv, unique

CLINIC = "demo-clinic"
T = TypeVar("T")


@dataclass
class Rig:
    api: ApiUnderTest
    work: Path
    env: dict[str, str]
    sink: ServiceProcess | None = None
    dispatchers: list[ServiceProcess] = field(default_factory=list)

    @property
    def processes(self) -> list[ServiceProcess]:
        return [p for p in (self.api.process, self.sink, *self.dispatchers) if p is not None]

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(lines)}" for p in self.processes)

    def produce(self, events: Sequence[Event]) -> None:
        async def send() -> None:
            async with EventProducer(self.api.kafka) as producer:
                await producer.send_many(events)

        asyncio.run(send())

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.api.db_url, autocommit=True) as conn:
            cur = conn.execute(query.encode(), params)
            return cur.fetchall() if cur.description else []

    def http(self) -> httpx.Client:
        return self.api.client()

    def configure_hospital(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.http() as http:
            r = http.post(f"/api/v1/clinics/{CLINIC}/hospitals", json=body, headers=self.api.headers("clinic_admin"))
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def start_sink(self) -> None:
        self.sink = ServiceProcess("sink", ["sink"], self.env, self.work).start()

    def start_dispatcher(self, name: str, *extra: str) -> ServiceProcess:
        proc = ServiceProcess(name, ["dispatcher", "--name", name, *extra], self.env, self.work).start()
        self.dispatchers.append(proc)
        return proc

    def wait(self, check: Callable[[], T | None], timeout_s: float, what: str, every_s: float = 0.25) -> T:
        """Poll until ``check`` returns something truthy; fail with the processes' logs otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value:
                return value
            for proc in self.processes:
                assert proc.running, f"{proc.name} exited while waiting for {what}:\n{proc.log_tail(60)}"
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{self.logs()}")
            time.sleep(every_s)


def hospital_body(hospital_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hospital_id": hospital_id,
        "sending_application": {"namespace": "CARDIOREHAB", "universal_id": "02-00-5E-FF-FE-00-00-01"},
        "sending_facility": "CARDIOREHAB",
        "receiving_application": "ENGINE",
        "receiving_facility": "GENHOSP",
        "alert_tiers": ["nurse", "urgent"],
    }
    body.update(overrides)
    return body


@contextlib.contextmanager
def rig(stack: StackEnv, work: Path, *, patients: int = 3, **extra_env: str) -> Iterator[Rig]:
    """The API with a seeded demo clinic; call ``start_sink``/``start_dispatcher`` once a hospital is configured."""
    with api_under_test(stack, work, patients=patients) as api:
        env = service_env(
            {},
            CARDIO_ENVIRONMENT="test",
            CARDIO_KAFKA_BOOTSTRAP=stack.bootstrap,
            CARDIO_KAFKA_TOPIC_PREFIX=api.kafka.topic_prefix,
            CARDIO_KAFKA_PARTITIONS=str(api.kafka.partitions),
            CARDIO_DB_URL=api.db_url,
            CARDIO_HEALTH_DIR=str(work),
            CARDIO_SINK_GROUP_ID=unique("sink-"),
            CARDIO_SINK_BATCH_WAIT_MS="50",
            CARDIO_DISPATCHER_POLL_INTERVAL_S="0.2",
            CARDIO_DISPATCHER_CONFIG_REFRESH_S="1",
            CARDIO_DISPATCHER_RETRY_MAX_S="4",
            CARDIO_DISPATCHER_LEADER_RETRY_S="1",
            CARDIO_DISPATCHER_ESCALATION_TICK_S="0.5",
            CARDIO_RETENTION_ENABLED="false",
            **extra_env,
        )
        running = Rig(api=api, work=work, env=env)
        try:
            yield running
        finally:
            for proc in [*running.dispatchers, *([running.sink] if running.sink else [])]:
                proc.stop()
