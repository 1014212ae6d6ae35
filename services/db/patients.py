"""Patients as the API lists, scopes, creates, edits and archives them (never deletes: their data stays)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row


@dataclass(frozen=True)
class PatientRow:
    id: str
    clinic_id: str
    display_name: str
    sex: str | None
    birth_year: int | None
    mrn: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None


_COLUMNS = sql.SQL("id, clinic_id, display_name, sex, birth_year, mrn, created_at, updated_at, archived_at")


def new_patient_id() -> str:
    """Server-chosen ids: a clinic cannot probe another clinic's ids by choosing its own."""
    return f"p-{secrets.token_hex(6)}"


async def patient_by_id(conn: AsyncConnection, patient_id: str, *, include_archived: bool = False) -> PatientRow | None:
    archived = sql.SQL("") if include_archived else sql.SQL(" AND archived_at IS NULL")
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM patients WHERE id = %s{}").format(_COLUMNS, archived),
            (patient_id,),
        )
        return await cur.fetchone()


async def patients_of_clinic(
    conn: AsyncConnection,
    clinic_id: str,
    *,
    limit: int = 100_000,
    offset: int = 0,
    archived: bool = False,
) -> list[PatientRow]:
    """The clinic's live patients, or (``archived=True``) only its archived ones."""
    which = sql.SQL(" AND archived_at IS NOT NULL") if archived else sql.SQL(" AND archived_at IS NULL")
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM patients WHERE clinic_id = %s{} ORDER BY display_name, id LIMIT %s OFFSET %s"
            ).format(_COLUMNS, which),
            (clinic_id, limit, offset),
        )
        return await cur.fetchall()


async def create_patient(
    conn: AsyncConnection,
    *,
    clinic_id: str,
    display_name: str,
    sex: str | None,
    birth_year: int | None,
    mrn: str | None,
) -> PatientRow | None:
    """Insert a patient with a fresh id; None if the MRN is already used in this clinic."""
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO patients (id, clinic_id, display_name, sex, birth_year, mrn) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {}"
            ).format(_COLUMNS),
            (new_patient_id(), clinic_id, display_name, sex, birth_year, mrn),
        )
        return await cur.fetchone()


async def mrn_taken(conn: AsyncConnection, clinic_id: str, mrn: str, *, except_patient: str | None = None) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM patients WHERE clinic_id = %s AND mrn = %s AND id IS DISTINCT FROM %s",
        (clinic_id, mrn, except_patient),
    )
    return await cur.fetchone() is not None


async def update_patient(conn: AsyncConnection, patient_id: str, changes: dict[str, object]) -> PatientRow | None:
    """Set the given columns (display_name, sex, birth_year, mrn) of a live patient."""
    allowed = ("display_name", "sex", "birth_year", "mrn")
    names = [name for name in allowed if name in changes]
    sets: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(name)) for name in names]
    sets.append(sql.SQL("updated_at = now()"))
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            sql.SQL("UPDATE patients SET {} WHERE id = %s AND archived_at IS NULL RETURNING {}").format(
                sql.SQL(", ").join(sets), _COLUMNS
            ),
            (*[changes[name] for name in names], patient_id),
        )
        return await cur.fetchone()


async def archive_patient(conn: AsyncConnection, patient_id: str) -> PatientRow | None:
    """Archive: hidden from lists and live views, data kept; the patient's logins and device tokens stop working."""
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            sql.SQL(
                "UPDATE patients SET archived_at = now(), updated_at = now() "
                "WHERE id = %s AND archived_at IS NULL RETURNING {}"
            ).format(_COLUMNS),
            (patient_id,),
        )
        row = await cur.fetchone()
    if row is not None:
        await conn.execute(
            "UPDATE users SET disabled_at = COALESCE(disabled_at, now()) WHERE patient_id = %s", (patient_id,)
        )
        await conn.execute(
            "UPDATE device_tokens SET revoked_at = now() WHERE patient_id = %s AND revoked_at IS NULL", (patient_id,)
        )
    return row
