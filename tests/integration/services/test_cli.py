"""Issue 6, the service chores on the command line: `seed` stores and publishes the demo prescriptions (idempotent),
`clinic create` provisions a tenant with its administrator, `retention` runs the pruning once, `migrate` is a no-op
on a migrated database."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer

from analytics.events import PrescriptionV1
from ingest.kafka_config import KafkaSettings
from ingest.wire import decode
from tests.support.processes import service_env
from tests.support.stack import REPO, StackEnv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def cli(
    stack: StackEnv, kafka: KafkaSettings, url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = service_env(
        {},
        CARDIO_ENVIRONMENT="development",
        CARDIO_KAFKA_BOOTSTRAP=stack.bootstrap,
        CARDIO_KAFKA_TOPIC_PREFIX=kafka.topic_prefix,
        CARDIO_KAFKA_PARTITIONS="2",
        CARDIO_DB_URL=url,
    )
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


async def prescriptions(kafka: KafkaSettings) -> list[PrescriptionV1]:
    consumer = AIOKafkaConsumer(
        kafka.topic(PrescriptionV1.TOPIC), bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: list[PrescriptionV1] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch and found:
                break
            found += [decode(PrescriptionV1, r.value or b"") for rs in batch.values() for r in rs]
        return found
    finally:
        await consumer.stop()


def test_seed_publishes_the_demo_prescriptions_once_per_version(
    stack: StackEnv, kafka: KafkaSettings, database_url: str
) -> None:
    for _ in range(2):
        done = cli(stack, kafka, database_url, "seed", "--patients", "2")
        assert done.returncode == 0, done.stderr
        assert "published 3 prescriptions" in done.stdout
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT patient_id, version, published_at IS NOT NULL FROM prescriptions").fetchall()
    assert sorted(stored) == [("other-001", 1, True), ("sim-001", 1, True), ("sim-002", 1, True)]
    published = asyncio.run(prescriptions(kafka))
    assert {(p.patient_id, p.version, p.clinic_id) for p in published} == {
        ("sim-001", 1, "demo-clinic"),
        ("sim-002", 1, "demo-clinic"),
        ("other-001", 1, "other-clinic"),
    }
    assert len({p.idempotency_key() for p in published}) == 3  # re-seeding re-sends the same keys


def test_clinic_create_retention_and_migrate(stack: StackEnv, kafka: KafkaSettings, database_url: str) -> None:
    created = cli(
        stack,
        kafka,
        database_url,
        "clinic",
        "create",
        "--id",
        "north",
        "--name",
        "North Rehab",
        "--admin-username",
        "North.Admin",
        "--admin-password-stdin",
        stdin="a-very-long-password\n",
    )
    assert created.returncode == 0, created.stderr
    again = cli(
        stack, kafka, database_url, "clinic", "create", "--id", "north", "--name", "N", "--admin-username", "x1"
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    with psycopg.connect(database_url) as conn:
        admin = conn.execute("SELECT role, clinic_id FROM users WHERE username = 'north.admin'").fetchone()
    assert admin == ("clinic_admin", "north")

    pruned = cli(stack, kafka, database_url, "retention", "--force")
    assert pruned.returncode == 0, pruned.stderr
    outcome = json.loads(pruned.stdout.strip().splitlines()[-1])
    assert outcome["ran"] is True and outcome["license"] == "apache"

    migrated = cli(stack, kafka, database_url, "migrate")
    assert migrated.returncode == 0 and "none (up to date)" in migrated.stdout
