"""Reads behind the ``/fhir`` API: lookups by FHIR logical id (``fhir_resource_id``, migration 0003, the builders'
name-based UUIDs, each backed by an expression index) and the rows FHIR resources are built from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row, dict_row

from services.db.hospitals import DeviceRecord, PatientRecord

_PATIENT = "SELECT id, clinic_id, display_name, sex, birth_year, mrn, archived_at FROM patients"
_DEVICE = "SELECT id, patient_id, kind, address, manufacturer, model, serial, firmware, retired_at FROM devices"


async def patient_by_fhir_id(conn: AsyncConnection, fhir_id: UUID) -> PatientRecord | None:
    async with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        await cur.execute(_PATIENT + " WHERE fhir_resource_id('patient', id) = %s", (fhir_id,))
        return await cur.fetchone()


async def patient_by_id(conn: AsyncConnection, patient_id: str) -> PatientRecord | None:
    async with conn.cursor(row_factory=class_row(PatientRecord)) as cur:
        await cur.execute(_PATIENT + " WHERE id = %s", (patient_id,))
        return await cur.fetchone()


async def device_by_fhir_id(conn: AsyncConnection, fhir_id: UUID) -> DeviceRecord | None:
    async with conn.cursor(row_factory=class_row(DeviceRecord)) as cur:
        await cur.execute(_DEVICE + " WHERE fhir_resource_id('device', id) = %s", (fhir_id,))
        return await cur.fetchone()


async def devices_of_patient(
    conn: AsyncConnection, patient_id: str, *, limit: int = 1000, offset: int = 0
) -> list[DeviceRecord]:
    """All of a patient's devices, retired ones included, newest enrolment first."""
    async with conn.cursor(row_factory=class_row(DeviceRecord)) as cur:
        await cur.execute(
            _DEVICE + " WHERE patient_id = %s ORDER BY enrolled_at DESC, id LIMIT %s OFFSET %s",
            (patient_id, limit, offset),
        )
        return await cur.fetchall()


async def alert_id_by_fhir_id(conn: AsyncConnection, fhir_id: UUID) -> str | None:
    cur = await conn.execute(
        "SELECT alert_id FROM alerts WHERE fhir_resource_id('detectedissue', alert_id) = %s", (fhir_id,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True)
class SummaryRecord:
    """A session's ``summary`` event (sessions.v1), as stored in ``session_events``."""

    session_id: str
    patient_id: str
    t: datetime
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


async def summary_by_bundle_id(conn: AsyncConnection, fhir_id: UUID) -> SummaryRecord | None:
    """The summary whose session-summary Bundle has this id (an unsummarised session has no Bundle)."""
    async with conn.cursor(row_factory=class_row(SummaryRecord)) as cur:
        await cur.execute(
            "SELECT e.session_id, e.patient_id, e.t, e.started_at, e.ended_at, e.duration_s::float8, "
            "e.time_in_band_s::float8, e.time_in_band_pct::float8, e.peak_hr_bpm::float8, e.mean_hr_bpm::float8, "
            "e.trimp_banister::float8, e.trimp_edwards::float8, e.hrr1_bpm::float8, e.hrr2_bpm::float8, e.flags "
            "FROM sessions s JOIN session_events e ON e.session_id = s.session_id AND e.event = 'summary' "
            "WHERE fhir_resource_id('bundle-session-summary', s.session_id || ':summary') = %s",
            (fhir_id,),
        )
        return await cur.fetchone()


@dataclass(frozen=True)
class FeatureRecord:
    """The columns of one features second that the Observations carry."""

    time: datetime
    session_id: str | None
    computed_at: datetime
    hr_bpm: float | None
    band_low_bpm: float | None
    band_high_bpm: float | None
    ceiling_bpm: float | None
    rmssd_ms: float | None
    sdnn_ms: float | None


async def features_page(
    conn: AsyncConnection,
    patient_id: str,
    *,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> list[FeatureRecord]:
    """Seconds of a patient in [start, end) (either open), newest first."""
    async with conn.cursor(row_factory=class_row(FeatureRecord)) as cur:
        await cur.execute(
            "SELECT time, session_id, computed_at, hr_bpm::float8, band_low_bpm::float8, band_high_bpm::float8, "
            "ceiling_bpm::float8, rmssd_ms::float8, sdnn_ms::float8 FROM features "
            "WHERE patient_id = %(p)s AND (%(start)s::timestamptz IS NULL OR time >= %(start)s) "
            "AND (%(end)s::timestamptz IS NULL OR time < %(end)s) "
            "ORDER BY time DESC LIMIT %(limit)s OFFSET %(offset)s",
            {"p": patient_id, "start": start, "end": end, "limit": limit, "offset": offset},
        )
        return await cur.fetchall()


async def identifying_hospital(conn: AsyncConnection, clinic_id: str) -> dict[str, Any] | None:
    """The settings of the first enabled hospital serving the clinic that names an MRN system (how the ``/fhir``
    API identifies the clinic's patients, consistently with what was pushed to that hospital)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT h.id, h.settings FROM hospitals h JOIN hospital_clinics c ON c.hospital_id = h.id "
            "WHERE c.clinic_id = %s AND h.enabled AND h.settings ->> 'mrn_system' IS NOT NULL ORDER BY h.id LIMIT 1",
            (clinic_id,),
        )
        row = await cur.fetchone()
    return None if row is None else {"hospital_id": row["id"], **row["settings"]}
