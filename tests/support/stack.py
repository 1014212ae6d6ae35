"""The running local stack, as tests see it: connection settings, a private topic prefix, a private database."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from ingest.kafka_config import KafkaSettings
from services.db.migrate import migrate

REPO = Path(__file__).resolve().parents[2]


def env_file() -> Path:
    configured = os.environ.get("CARDIO_ENV_FILE")
    return Path(configured) if configured else REPO / ".stack" / "cardiorehab.env"


def read_env() -> dict[str, str]:
    path = env_file()
    if not path.exists():
        raise RuntimeError(
            f"{path} not found: integration tests need the local stack. Run `make integration` (it starts the stack) "
            "or `.venv/bin/cardiorehab stack up` first."
        )
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class StackEnv:
    """Connection values of the running stack (from its env file)."""

    values: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.values["CARDIO_KAFKA_BOOTSTRAP"]

    @property
    def db_url(self) -> str:
        return self.values["CARDIO_DB_URL"]

    @property
    def db_admin_url(self) -> str:
        return self.values["CARDIO_DB_ADMIN_URL"]

    def kafka(self, prefix: str, partitions: int = 4) -> KafkaSettings:
        return KafkaSettings(bootstrap=self.bootstrap, topic_prefix=prefix, partitions=partitions)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@contextmanager
def private_database(stack: StackEnv) -> Iterator[str]:
    """A new database with timescaledb and our migrations; yields the application-role URL; dropped afterwards."""
    name = unique("test_")
    app_role = stack.db_url.split("//", 1)[1].split(":", 1)[0]
    with psycopg.connect(_with_database(stack.db_admin_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(app_role)))
    try:
        with psycopg.connect(_with_database(stack.db_admin_url, name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        url = _with_database(stack.db_url, name)
        migrate(url)
        yield url
    finally:
        with psycopg.connect(_with_database(stack.db_admin_url, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def delete_prefixed_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


def cleanup_topics(bootstrap: str, prefix: str) -> None:
    asyncio.run(delete_prefixed_topics(bootstrap, prefix))
