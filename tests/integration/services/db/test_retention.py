"""Issue 6, retention: drop_chunks and batched deletes prune by age; one replica per interval does it (advisory
lock + run record); the licence is detected on the real database and compression skipped cleanly (Apache)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from services.db.migrate import migrate
from services.db.retention import RetentionScheduler, detect_license, run_once
from services.db.settings import RetentionSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def populate(url: str) -> None:
    with psycopg.connect(url) as conn:
        for days in (45, 40, 1, 0):
            conn.execute(
                "INSERT INTO sensor_hr (time, patient_id, device_id, seq, hr_bpm) "
                "VALUES (now() - make_interval(days => %s), 'p', 'd', %s, 80)",
                (days, days),
            )
            conn.execute(
                "INSERT INTO features (time, patient_id, computed_at) VALUES (now() - make_interval(days => %s), "
                "'p', now())",
                (days,),
            )
            conn.execute(
                "INSERT INTO audit_log (at, actor, actor_role, action) VALUES (now() - make_interval(days => %s), "
                "'a', 'nurse', 'x')",
                (days * 100,),
            )
            conn.execute(
                "INSERT INTO dead_letters (stage, origin, reason, received_at, stored_at) "
                "VALUES ('s', %s, 'r', now(), now() - make_interval(days => %s))",
                (f"o{days}", days),
            )


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


async def test_old_data_is_pruned_per_table_and_recent_data_kept(database_url: str) -> None:
    populate(database_url)
    settings = RetentionSettings(sensor_hr_days=30, features_days=0, audit_log_days=2190, dead_letters_days=30)
    outcome = await run_once(database_url, settings)
    assert outcome.ran, outcome.reason
    assert outcome.pruned["sensor_hr"] >= 1 and "features" not in outcome.pruned
    assert count(database_url, "sensor_hr") == 2, "rows 40 and 45 days old survive a 30-day retention"
    assert count(database_url, "features") == 4, "features_days=0 keeps features forever"
    assert count(database_url, "audit_log") == 2 and outcome.pruned["audit_log"] == 2  # 4500 and 4000 days old
    assert count(database_url, "dead_letters") == 2
    assert outcome.license == "apache" and outcome.compressed == []


async def test_only_one_replica_runs_per_interval(database_url: str) -> None:
    settings = RetentionSettings(interval_s=3600)
    outcomes = await asyncio.gather(*(run_once(database_url, settings, who=f"replica-{i}") for i in range(4)))
    assert sum(o.ran for o in outcomes) == 1, [o.reason for o in outcomes]
    again = await run_once(database_url, settings, who="replica-9")
    assert not again.ran and "interval" in again.reason
    assert (await run_once(database_url, settings, who="operator", force=True)).ran

    replicas = [RetentionScheduler(database_url, RetentionSettings(interval_s=1, check_every_s=0.2)) for _ in range(3)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM maintenance_runs")
    for r in replicas:
        r.start()
    await asyncio.sleep(2.5)
    for r in replicas:
        await r.stop()
    runs = sum(o.ran for r in replicas for o in r.outcomes)
    assert 2 <= runs <= 4, f"{runs} runs in 2.5 s with a 1 s interval across 3 replicas"


async def test_the_licence_is_detected_on_the_real_database(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        features = await detect_license(conn)
    assert features.license == "apache"
    assert not features.compression and not features.continuous_aggregates


def test_migrations_are_idempotent(database_url: str) -> None:
    assert migrate(database_url) == []
