"""Retention and (where licensed) compression, run by the services themselves.

TimescaleDB's Apache edition has no background jobs, so the sink and the API each run a :class:`RetentionScheduler`.
Replicas elect a leader per run with a PostgreSQL advisory lock (``pg_try_advisory_lock``) and record each run in
``maintenance_runs``; a replica that finds the lock taken, or a run younger than ``interval_s``, does nothing.
Hypertables lose whole chunks with ``drop_chunks``; plain tables are pruned with batched deletes.

Compression and continuous aggregates are Timescale-licensed: :func:`licensed_features` reads
``timescaledb.license`` and compression policies are added only when it says ``timescale``. Continuous aggregates
are not used: the history endpoints downsample with ``time_bucket`` over the raw rows fast enough (bench_api).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Final

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from services.db.settings import RetentionSettings

log = logging.getLogger(__name__)

RETENTION_LOCK_ID: Final = 0x0CA2D11  # distinct from the migration lock (0x0CA2D10)
TASK: Final = "retention"
DELETE_BATCH_ROWS: Final = 10_000  # keeps each delete's locks and WAL small on a busy table

# Hypertables: (table, compress segment-by columns, compress order-by)
HYPERTABLES: Final = {
    "sensor_hr": ("patient_id, device_id", "time DESC, seq"),
    "sensor_ecg": ("patient_id, device_id", "time DESC, seq"),
    "sensor_acc": ("patient_id, device_id", "time DESC, seq"),
    "features": ("patient_id", "time DESC"),
}
# Plain tables: the timestamp column their age is measured by.
PLAIN_TABLES: Final = {"dead_letters": "stored_at", "audit_log": "at", "refresh_tokens": "expires_at"}


@dataclass(frozen=True)
class LicensedFeatures:
    license: str
    compression: bool
    continuous_aggregates: bool


def licensed_features(license_name: str | None) -> LicensedFeatures:
    """What the installed edition offers: only the Timescale License ('timescale') has compression and caggs."""
    name = (license_name or "").strip().lower() or "unknown"
    full = name == "timescale"
    return LicensedFeatures(name, compression=full, continuous_aggregates=full)


def retention_days(settings: RetentionSettings) -> dict[str, int]:
    """Days to keep per table (0 = forever), from the settings."""
    return {table: int(getattr(settings, f"{table}_days")) for table in (*HYPERTABLES, *PLAIN_TABLES)}


async def detect_license(conn: AsyncConnection) -> LicensedFeatures:
    cur = await conn.execute("SELECT current_setting('timescaledb.license', true)")
    row = await cur.fetchone()
    return licensed_features(row[0] if row else None)


async def drop_old_chunks(conn: AsyncConnection, table: str, days: int) -> int:
    """Drop the chunks of ``table`` whose data is all older than ``days``; returns how many were dropped."""
    cur = await conn.execute(
        "SELECT count(*) FROM drop_chunks(%s::regclass, older_than => make_interval(days => %s))", (table, days)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def delete_old_rows(conn: AsyncConnection, table: str, column: str, days: int) -> int:
    """Delete rows of a plain table older than ``days``, in batches; returns how many were deleted."""
    total = 0
    statement = sql.SQL(
        "DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE {c} < now() - make_interval(days => %s) "
        "LIMIT %s))"
    ).format(t=sql.Identifier(table), c=sql.Identifier(column))
    while True:
        cur = await conn.execute(statement, (days, DELETE_BATCH_ROWS))
        total += cur.rowcount
        if cur.rowcount < DELETE_BATCH_ROWS:
            return total


async def ensure_compression(conn: AsyncConnection, after_days: int) -> list[str]:
    """Enable compression and a compression policy on each hypertable (Timescale License only; idempotent)."""
    done = []
    cur = await conn.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE compression_enabled"
    )
    enabled = {r[0] for r in await cur.fetchall()}
    for table, (segment_by, order_by) in HYPERTABLES.items():
        if table not in enabled:
            await conn.execute(
                sql.SQL(
                    "ALTER TABLE {} SET (timescaledb.compress, timescaledb.compress_segmentby = {}, "
                    "timescaledb.compress_orderby = {})"
                ).format(sql.Identifier(table), sql.Literal(segment_by), sql.Literal(order_by))
            )
        await conn.execute(
            "SELECT add_compression_policy(%s::regclass, make_interval(days => %s), if_not_exists => true)",
            (table, after_days),
        )
        done.append(table)
    return done


async def apply_retention(conn: AsyncConnection, settings: RetentionSettings) -> dict[str, int]:
    """Prune every table with a retention period; returns chunks dropped / rows deleted per table."""
    result: dict[str, int] = {}
    for table, days in retention_days(settings).items():
        if days <= 0:
            continue
        if table in HYPERTABLES:
            result[table] = await drop_old_chunks(conn, table, days)
        else:
            result[table] = await delete_old_rows(conn, table, PLAIN_TABLES[table], days)
    return result


@dataclass
class RunOutcome:
    ran: bool
    reason: str
    pruned: dict[str, int] = field(default_factory=dict)
    license: str = ""
    compressed: list[str] = field(default_factory=list)


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_once(dsn: str, settings: RetentionSettings, *, who: str | None = None, force: bool = False) -> RunOutcome:
    """One scheduling decision: run retention if this replica wins the lock and no run is younger than the interval."""
    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RETENTION_LOCK_ID,))
        row = await cur.fetchone()
        if not row or not row[0]:
            return RunOutcome(False, "another replica holds the retention lock")
        try:
            if not force:
                cur = await conn.execute(
                    "SELECT 1 FROM maintenance_runs WHERE task = %s AND finished_at IS NOT NULL "
                    "AND started_at > now() - make_interval(secs => %s)",
                    (TASK, settings.interval_s),
                )
                if await cur.fetchone():
                    return RunOutcome(False, "ran less than one interval ago")
            await conn.execute(
                "INSERT INTO maintenance_runs (task, started_at, ran_by) VALUES (%s, now(), %s) "
                "ON CONFLICT (task) DO UPDATE SET started_at = now(), finished_at = NULL, ran_by = EXCLUDED.ran_by",
                (TASK, who or replica_name()),
            )
            features = await detect_license(conn)
            compressed = await ensure_compression(conn, settings.compress_after_days) if features.compression else []
            pruned = await apply_retention(conn, settings)
            await conn.execute(
                "UPDATE maintenance_runs SET finished_at = now(), result = %s WHERE task = %s",
                (Jsonb({"pruned": pruned, "license": features.license, "compressed": compressed}), TASK),
            )
            return RunOutcome(True, "ran", pruned, features.license, compressed)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (RETENTION_LOCK_ID,))


class RetentionScheduler:
    """Asks every ``check_every_s`` whether to run retention; errors are logged and retried at the next check."""

    def __init__(self, dsn: str, settings: RetentionSettings, *, who: str | None = None) -> None:
        self._dsn = dsn
        self._settings = settings
        self._who = who or replica_name()
        self._task: asyncio.Task[None] | None = None
        self.outcomes: list[RunOutcome] = []

    def start(self) -> None:
        if self._settings.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                outcome = await run_once(self._dsn, self._settings, who=self._who)
                self.outcomes = [*self.outcomes[-9:], outcome]
                if outcome.ran:
                    log.info("retention: pruned %s (license %s)", outcome.pruned, outcome.license)
            except (psycopg.Error, OSError) as exc:
                log.warning("retention run failed (%s); retrying in %.0f s", exc, self._settings.check_every_s)
            await asyncio.sleep(self._settings.check_every_s)
