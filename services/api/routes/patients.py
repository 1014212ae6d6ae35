"""Patients and their features history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from services.api.deps import ConnDep, CurrentPrincipal
from services.api.problems import http_error
from services.auth.principal import Principal
from services.db import audit
from services.db import features as features_repo
from services.db import patients as patients_repo

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])

PatientId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="patient id")]
MAX_POINTS = 20_000


class PatientPublic(BaseModel):
    id: str
    clinic_id: str
    display_name: str


class FeaturePointPublic(BaseModel):
    time: datetime
    hr_bpm: float | None
    zone: int | None
    band_low_bpm: float | None
    band_high_bpm: float | None
    in_band: bool | None
    phase: str
    signal: str


class FeatureHistoryPublic(BaseModel):
    patient_id: str
    start: datetime
    end: datetime
    resolution_s: int
    points: list[FeaturePointPublic]


async def visible_patient(conn: ConnDep, principal: Principal, patient_id: str) -> patients_repo.PatientRow:
    """The patient, if the caller may see them; 404 otherwise (not 403, so ids cannot be probed)."""
    patient = await patients_repo.patient_by_id(conn, patient_id)
    if patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise http_error(404, f"no patient {patient_id!r} visible to you")
    return patient


@router.get("", summary="Patients the caller may see")
async def list_patients(conn: ConnDep, principal: CurrentPrincipal) -> list[PatientPublic]:
    if principal.role in ("patient", "device"):
        rows = [p for p in [await patients_repo.patient_by_id(conn, principal.patient_id or "")] if p]
    else:
        rows = await patients_repo.patients_of_clinic(conn, principal.clinic_id)
    await audit.record(
        conn,
        actor=principal.subject,
        actor_role=principal.role,
        action="list_patients",
        clinic_id=principal.clinic_id,
        detail={"count": len(rows)},
    )
    await conn.commit()
    return [PatientPublic(id=p.id, clinic_id=p.clinic_id, display_name=p.display_name) for p in rows]


@router.get("/{patient_id}/features", summary="Feature history, raw (1 s) or downsampled")
async def feature_history(
    conn: ConnDep,
    principal: CurrentPrincipal,
    patient_id: PatientId,
    start: Annotated[datetime | None, Query(description="inclusive, ISO 8601 with offset; default end − 1 h")] = None,
    end: Annotated[datetime | None, Query(description="exclusive, ISO 8601 with offset; default now")] = None,
    resolution_s: Annotated[int, Query(ge=1, le=86_400, description="seconds per point (1 = raw)")] = 1,
) -> FeatureHistoryPublic:
    patient = await visible_patient(conn, principal, patient_id)
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=1)
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise http_error(422, f"{name} must carry a UTC offset, e.g. 2026-01-01T10:00:00Z")
    if start >= end:
        raise http_error(422, "start must be before end")
    if (end - start).total_seconds() / resolution_s > MAX_POINTS:
        raise http_error(
            422,
            f"range too large for {resolution_s} s resolution: at most {MAX_POINTS} points; raise resolution_s",
        )
    bucket = None if resolution_s == 1 else timedelta(seconds=resolution_s)
    points = await features_repo.feature_history(conn, patient.id, start, end, bucket, MAX_POINTS)
    await audit.record(
        conn,
        actor=principal.subject,
        actor_role=principal.role,
        action="read_features",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"start": start.isoformat(), "end": end.isoformat(), "resolution_s": resolution_s},
    )
    await conn.commit()
    return FeatureHistoryPublic(
        patient_id=patient.id,
        start=start,
        end=end,
        resolution_s=resolution_s,
        points=[FeaturePointPublic(**p.__dict__) for p in points],
    )
