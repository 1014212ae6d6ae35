"""Patients as the API lists and scopes them."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import class_row


@dataclass(frozen=True)
class PatientRow:
    id: str
    clinic_id: str
    display_name: str
    sex: str | None
    birth_year: int | None


async def patient_by_id(conn: AsyncConnection, patient_id: str) -> PatientRow | None:
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            "SELECT id, clinic_id, display_name, sex, birth_year FROM patients WHERE id = %s AND archived_at IS NULL",
            (patient_id,),
        )
        return await cur.fetchone()


async def patients_of_clinic(conn: AsyncConnection, clinic_id: str) -> list[PatientRow]:
    async with conn.cursor(row_factory=class_row(PatientRow)) as cur:
        await cur.execute(
            "SELECT id, clinic_id, display_name, sex, birth_year FROM patients "
            "WHERE clinic_id = %s AND archived_at IS NULL ORDER BY display_name, id",
            (clinic_id,),
        )
        return await cur.fetchall()
