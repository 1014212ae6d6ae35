"""Clinics: the tenant boundary. Created by operators (``cardiorehab clinic create``), read and renamed by admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row


@dataclass(frozen=True)
class ClinicRow:
    id: str
    name: str
    timezone: str
    created_at: datetime


_COLUMNS = sql.SQL("id, name, timezone, created_at")


async def clinic_by_id(conn: AsyncConnection, clinic_id: str) -> ClinicRow | None:
    async with conn.cursor(row_factory=class_row(ClinicRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM clinics WHERE id = %s").format(_COLUMNS), (clinic_id,))
        return await cur.fetchone()


async def update_clinic(
    conn: AsyncConnection, clinic_id: str, *, name: str | None, timezone: str | None
) -> ClinicRow | None:
    async with conn.cursor(row_factory=class_row(ClinicRow)) as cur:
        await cur.execute(
            sql.SQL(
                "UPDATE clinics SET name = COALESCE(%s, name), timezone = COALESCE(%s, timezone) "
                "WHERE id = %s RETURNING {}"
            ).format(_COLUMNS),
            (name, timezone, clinic_id),
        )
        return await cur.fetchone()


async def create_clinic(conn: AsyncConnection, clinic_id: str, name: str, timezone: str = "UTC") -> ClinicRow | None:
    """Insert a clinic; None if the id is taken."""
    async with conn.cursor(row_factory=class_row(ClinicRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO clinics (id, name, timezone) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING {}"
            ).format(_COLUMNS),
            (clinic_id, name, timezone),
        )
        return await cur.fetchone()
