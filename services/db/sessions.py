"""Exercise sessions (from ``sessions.v1``): listing, reading, and recomputing the current state in the sink."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    patient_id: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    time_in_band_s: float | None
    time_in_band_pct: float | None
    peak_hr_bpm: float | None
    mean_hr_bpm: float | None
    trimp_banister: float | None
    trimp_edwards: float | None
    hrr1_bpm: float | None
    hrr2_bpm: float | None
    flags: list[str]
    updated_at: datetime


_COLUMNS = sql.SQL(
    "session_id, patient_id, status, started_at, ended_at, duration_s, time_in_band_s, time_in_band_pct, "
    "peak_hr_bpm, mean_hr_bpm, trimp_banister, trimp_edwards, hrr1_bpm, hrr2_bpm, flags, updated_at"
)
_FIGURES = (
    "ended_at",
    "duration_s",
    "time_in_band_s",
    "time_in_band_pct",
    "peak_hr_bpm",
    "mean_hr_bpm",
    "trimp_banister",
    "trimp_edwards",
    "hrr1_bpm",
    "hrr2_bpm",
)


def sessions_from_stage(stage: sql.Identifier) -> sql.Composed:
    """Recompute ``sessions`` for every session in the staging table from all its stored events.

    Each figure comes from the most final event that carries it (summary, then end, then start), so the result
    depends only on the set of events, never on their arrival order or on replays.
    """
    rank = sql.SQL("CASE e.event WHEN 'summary' THEN 3 WHEN 'end' THEN 2 ELSE 1 END")
    figures = sql.SQL(", ").join(
        sql.SQL("(array_agg(e.{c} ORDER BY {rank} DESC) FILTER (WHERE e.{c} IS NOT NULL))[1] AS {c}").format(
            c=sql.Identifier(c), rank=rank
        )
        for c in _FIGURES
    )
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in ("patient_id", "status", "started_at", *_FIGURES, "flags")
    )
    return sql.SQL(
        "INSERT INTO sessions (session_id, patient_id, status, started_at, {names}, flags) "
        "SELECT e.session_id, (array_agg(e.patient_id ORDER BY {rank} DESC))[1], "
        "CASE WHEN bool_or(e.event = 'summary') THEN 'summarised' WHEN bool_or(e.event = 'end') THEN 'ended' "
        "ELSE 'active' END, min(e.started_at), {figures}, "
        "(SELECT f.flags FROM session_events f WHERE f.session_id = e.session_id "
        "ORDER BY CASE f.event WHEN 'summary' THEN 3 WHEN 'end' THEN 2 ELSE 1 END DESC LIMIT 1) "
        "FROM session_events e WHERE e.session_id IN (SELECT session_id FROM {stage}) GROUP BY e.session_id "
        "ON CONFLICT (session_id) DO UPDATE SET {updates}, updated_at = now()"
    ).format(
        names=sql.SQL(", ").join(map(sql.Identifier, _FIGURES)),
        rank=rank,
        figures=figures,
        stage=stage,
        updates=updates,
    )


async def sessions_of_patient(
    conn: AsyncConnection,
    patient_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[SessionRow]:
    async with conn.cursor(row_factory=class_row(SessionRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM sessions WHERE patient_id = %s "
                "AND (%s::timestamptz IS NULL OR started_at >= %s) AND (%s::timestamptz IS NULL OR started_at < %s) "
                "ORDER BY started_at DESC, session_id LIMIT %s OFFSET %s"
            ).format(_COLUMNS),
            (patient_id, since, since, until, until, limit, offset),
        )
        return await cur.fetchall()


async def session_by_id(conn: AsyncConnection, session_id: str) -> SessionRow | None:
    async with conn.cursor(row_factory=class_row(SessionRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM sessions WHERE session_id = %s").format(_COLUMNS), (session_id,))
        return await cur.fetchone()


async def latest_sessions(conn: AsyncConnection, patient_ids: Collection[str], since: datetime) -> list[SessionRow]:
    """Each patient's newest session started after ``since`` (the live snapshot)."""
    async with conn.cursor(row_factory=class_row(SessionRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT DISTINCT ON (patient_id) {} FROM sessions WHERE patient_id = ANY(%s) AND started_at >= %s "
                "ORDER BY patient_id, started_at DESC"
            ).format(_COLUMNS),
            (list(patient_ids), since),
        )
        return await cur.fetchall()
