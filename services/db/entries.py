"""What patients enter themselves: perceived exertion (Borg 6-20) and symptoms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row


@dataclass(frozen=True)
class RpeRow:
    id: int
    patient_id: str
    session_id: str | None
    at: datetime
    rpe: int
    context: str
    note: str | None
    entered_by: UUID
    entered_at: datetime


@dataclass(frozen=True)
class SymptomRow:
    id: int
    patient_id: str
    session_id: str | None
    at: datetime
    symptoms: list[str]
    severity: int
    note: str | None
    entered_by: UUID
    entered_at: datetime


_RPE = sql.SQL("id, patient_id, session_id, at, rpe, context, note, entered_by, entered_at")
_SYMPTOM = sql.SQL("id, patient_id, session_id, at, symptoms, severity, note, entered_by, entered_at")


async def add_rpe(
    conn: AsyncConnection,
    *,
    patient_id: str,
    session_id: str | None,
    at: datetime,
    rpe: int,
    context: str,
    note: str | None,
    entered_by: UUID,
) -> RpeRow:
    async with conn.cursor(row_factory=class_row(RpeRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO rpe_entries (patient_id, session_id, at, rpe, context, note, entered_by) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {}"
            ).format(_RPE),
            (patient_id, session_id, at, rpe, context, note, entered_by),
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def add_symptoms(
    conn: AsyncConnection,
    *,
    patient_id: str,
    session_id: str | None,
    at: datetime,
    symptoms: list[str],
    severity: int,
    note: str | None,
    entered_by: UUID,
) -> SymptomRow:
    async with conn.cursor(row_factory=class_row(SymptomRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO symptom_entries (patient_id, session_id, at, symptoms, severity, note, entered_by) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {}"
            ).format(_SYMPTOM),
            (patient_id, session_id, at, symptoms, severity, note, entered_by),
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def rpe_of_patient(
    conn: AsyncConnection, patient_id: str, *, since: datetime | None, limit: int, offset: int
) -> list[RpeRow]:
    async with conn.cursor(row_factory=class_row(RpeRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM rpe_entries WHERE patient_id = %s AND (%s::timestamptz IS NULL OR at >= %s) "
                "ORDER BY at DESC, id DESC LIMIT %s OFFSET %s"
            ).format(_RPE),
            (patient_id, since, since, limit, offset),
        )
        return await cur.fetchall()


async def symptoms_of_patient(
    conn: AsyncConnection, patient_id: str, *, since: datetime | None, limit: int, offset: int
) -> list[SymptomRow]:
    async with conn.cursor(row_factory=class_row(SymptomRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM symptom_entries WHERE patient_id = %s AND (%s::timestamptz IS NULL OR at >= %s) "
                "ORDER BY at DESC, id DESC LIMIT %s OFFSET %s"
            ).format(_SYMPTOM),
            (patient_id, since, since, limit, offset),
        )
        return await cur.fetchall()
