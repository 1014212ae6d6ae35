"""A real API process on a private database and topic prefix, seeded, with a token for every role."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ingest.kafka_config import KafkaSettings
from ingest.topics_admin import ensure_topics
from services.api.app import TOPICS
from services.db.seed import DEMO_PASSWORD, seed
from tests.integration.services import world
from tests.support.processes import ServiceProcess, free_port, service_env, wait_for_port
from tests.support.stack import StackEnv, cleanup_topics, private_database, unique

ROLE_LOGINS = {
    "patient": "patient1",
    "nurse": "nurse1",
    "charge_nurse": "charge1",
    "clinic_admin": "admin1",
    "integration": "hospital1",
}
OWN_PATIENT = "sim-001"  # patient1's own record
SAME_CLINIC_PATIENT = "sim-002"
OTHER_CLINIC_PATIENT = "other-001"


@dataclass
class ApiUnderTest:
    base_url: str
    db_url: str
    kafka: KafkaSettings
    process: ServiceProcess
    tokens: dict[str, str] = field(default_factory=dict)
    replicas: list[str] = field(default_factory=list)  # base URLs of every replica (the first is base_url)

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        with self.client() as http:
            r = http.post("/api/v1/auth/token", data={"username": username, "password": password})
            r.raise_for_status()
            body: dict[str, str] = r.json()
            return body


@contextlib.contextmanager
def api_under_test(
    stack: StackEnv, work: Path, *, patients: int = 3, replicas: int = 1, partitions: int = 4, **extra_env: str
) -> Iterator[ApiUnderTest]:
    """Seed a private database and start ``replicas`` API processes on it (one topic prefix, one JWT secret)."""
    prefix = unique("t") + "-"
    kafka = stack.kafka(prefix, partitions=partitions)
    try:
        with private_database(stack) as url:
            seed(url, patients=patients, environment="test")
            asyncio.run(ensure_topics(kafka, TOPICS))
            env = service_env(
                {},
                CARDIO_ENVIRONMENT="test",
                CARDIO_KAFKA_BOOTSTRAP=stack.bootstrap,
                CARDIO_KAFKA_TOPIC_PREFIX=prefix,
                CARDIO_KAFKA_PARTITIONS=str(kafka.partitions),
                CARDIO_DB_URL=url,
                CARDIO_API_JWT_SECRET=secrets.token_urlsafe(48),
                CARDIO_API_LOGIN_ATTEMPTS_PER_MINUTE="1000",
                CARDIO_HEALTH_DIR=str(work),
                **extra_env,
            )
            ports = [free_port() for _ in range(replicas)]
            processes = [
                ServiceProcess(f"api{i}", ["api", "--port", str(p)], env, work).start() for i, p in enumerate(ports)
            ]
            process = processes[0]
            try:
                for port, proc in zip(ports, processes, strict=True):
                    wait_for_port(port, proc)
                api = ApiUnderTest(f"http://127.0.0.1:{ports[0]}", url, kafka, process)
                api.replicas = [f"http://127.0.0.1:{port}" for port in ports]
                for role, username in ROLE_LOGINS.items():
                    api.tokens[role] = api.login(username)["access_token"]
                with api.client() as http:
                    issued = http.post(
                        "/api/v1/devices/sim-strap-001/tokens", json={"label": "matrix"}, headers=api.headers("nurse")
                    )
                    issued.raise_for_status()
                    api.tokens["device"] = issued.json()["token"]
                yield api
            finally:
                world.close(url)
                for proc in processes:
                    proc.stop()
    finally:
        cleanup_topics(stack.bootstrap, prefix)
