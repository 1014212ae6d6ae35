"""Versioned exercise prescriptions: every version is kept; the newest is current."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from analytics.events import AlertThresholdsV1, PrescriptionV1


@dataclass(frozen=True)
class PrescriptionRow:
    patient_id: str
    version: int
    clinic_id: str
    prescribed_by: UUID | None
    prescribed_by_name: str
    prescribed_at: datetime
    method: str
    resting_hr_bpm: float
    peak_hr_bpm: float | None
    peak_hr_source: str
    intensity_low: float
    intensity_high: float
    threshold_hr_bpm: float | None
    ceiling_bpm: float
    beta_blocker: bool
    rpe_low: int
    rpe_high: int
    sex: str | None
    age_years: int | None
    ischaemic_threshold_bpm: float | None
    ceiling_grace_s: int | None
    absolute_limit_bpm: float | None
    do_not_start_rest_hr_bpm: float | None
    signal_lost_s: float | None
    low_battery_pct: int | None
    note: str | None
    published_at: datetime | None


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(PrescriptionRow))
# What the caller provides; the rest (version, clinic, time, publication) is decided here.
CLINICAL_COLUMNS: tuple[str, ...] = tuple(
    c for c in COLUMNS if c not in ("patient_id", "version", "clinic_id", "prescribed_at", "published_at")
)
THRESHOLD_COLUMNS: tuple[str, ...] = tuple(AlertThresholdsV1.__struct_fields__)
_SELECT = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
SELECT_COLUMNS = _SELECT
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_event(row: PrescriptionRow) -> PrescriptionV1:
    """The ``prescriptions.v1`` message of a stored version."""
    return PrescriptionV1(
        patient_id=row.patient_id,
        clinic_id=row.clinic_id,
        version=row.version,
        prescribed_by=str(row.prescribed_by) if row.prescribed_by else row.prescribed_by_name,
        prescribed_time_ns=(row.prescribed_at - _EPOCH) // timedelta(microseconds=1) * 1000,
        method=row.method,  # type: ignore[arg-type]
        resting_hr_bpm=row.resting_hr_bpm,
        peak_hr_bpm=row.peak_hr_bpm,
        peak_hr_source=row.peak_hr_source,  # type: ignore[arg-type]
        intensity_low=row.intensity_low,
        intensity_high=row.intensity_high,
        threshold_hr_bpm=row.threshold_hr_bpm,
        ceiling_bpm=row.ceiling_bpm,
        beta_blocker=row.beta_blocker,
        rpe_low=row.rpe_low,
        rpe_high=row.rpe_high,
        sex=row.sex,  # type: ignore[arg-type]
        age_years=row.age_years,
        ischaemic_threshold_bpm=row.ischaemic_threshold_bpm,
        thresholds=msgspec.convert({k: getattr(row, k) for k in THRESHOLD_COLUMNS}, AlertThresholdsV1),
    )


async def insert_next_version(
    conn: AsyncConnection, patient_id: str, clinic_id: str, values: dict[str, Any]
) -> PrescriptionRow:
    """Insert version max+1 for this patient, serialised per patient by a row lock on the patient."""
    await conn.execute("SELECT 1 FROM patients WHERE id = %s FOR UPDATE", (patient_id,))
    cur = await conn.execute(
        "SELECT COALESCE(max(version), 0) + 1 FROM prescriptions WHERE patient_id = %s", (patient_id,)
    )
    row = await cur.fetchone()
    assert row is not None
    names = ["patient_id", "version", "clinic_id", *CLINICAL_COLUMNS]
    params = [patient_id, row[0], clinic_id, *[values.get(c) for c in CLINICAL_COLUMNS]]
    async with conn.cursor(row_factory=class_row(PrescriptionRow)) as rcur:
        await rcur.execute(
            sql.SQL("INSERT INTO prescriptions ({}) VALUES ({}) RETURNING {}").format(
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
                _SELECT,
            ),
            params,
        )
        inserted = await rcur.fetchone()
        assert inserted is not None
        return inserted


async def mark_published(conn: AsyncConnection, patient_id: str, version: int) -> datetime:
    cur = await conn.execute(
        "UPDATE prescriptions SET published_at = now() WHERE patient_id = %s AND version = %s RETURNING published_at",
        (patient_id, version),
    )
    row = await cur.fetchone()
    assert row is not None
    published_at: datetime = row[0]
    return published_at


async def versions(conn: AsyncConnection, patient_id: str, *, limit: int, offset: int) -> list[PrescriptionRow]:
    async with conn.cursor(row_factory=class_row(PrescriptionRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM prescriptions WHERE patient_id = %s ORDER BY version DESC LIMIT %s OFFSET %s"
            ).format(_SELECT),
            (patient_id, limit, offset),
        )
        return await cur.fetchall()


async def version(conn: AsyncConnection, patient_id: str, number: int) -> PrescriptionRow | None:
    async with conn.cursor(row_factory=class_row(PrescriptionRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM prescriptions WHERE patient_id = %s AND version = %s").format(_SELECT),
            (patient_id, number),
        )
        return await cur.fetchone()


async def current(conn: AsyncConnection, patient_id: str) -> PrescriptionRow | None:
    async with conn.cursor(row_factory=class_row(PrescriptionRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM prescriptions WHERE patient_id = %s ORDER BY version DESC LIMIT 1").format(_SELECT),
            (patient_id,),
        )
        return await cur.fetchone()
