"""Exercise prescriptions: versioned per patient; a new version is stored and published to ``prescriptions.v1``.

Publication happens inside the database transaction, before the commit: if Kafka does not acknowledge, nothing is
stored (503) and the clinician retries. The stream (analytics) picks up the newest version per patient.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.auditing import audit_action
from services.api.deps import (
    ConnDep,
    PageDep,
    PrescriptionReader,
    PrescriptionWriter,
    ProducerDep,
    link_next,
    visible_patient,
)
from services.api.params import NO_NUL, PatientId, Version
from services.api.problems import http_error, responses
from services.db import prescriptions as rx_repo

router = APIRouter(prefix="/api/v1/patients", tags=["prescriptions"], responses=responses())

Bpm = Annotated[float, Field(ge=20, le=250)]
Fraction = Annotated[float, Field(ge=0, le=300)]


class AlertThresholds(BaseModel):
    """Per-patient alert thresholds; null keeps the alert engine's sourced default."""

    model_config = ConfigDict(extra="forbid")

    ceiling_grace_s: int | None = Field(default=None, ge=0, le=600)
    absolute_limit_bpm: Bpm | None = None
    do_not_start_rest_hr_bpm: Bpm | None = None
    signal_lost_s: float | None = Field(default=None, ge=1, le=300)
    low_battery_pct: int | None = Field(default=None, ge=0, le=100)


class PrescriptionBase(BaseModel):
    method: Literal["karvonen", "pct_peak", "threshold", "bpm"] = Field(
        description="karvonen: fractions of HR reserve; pct_peak: fractions of peak HR; threshold: fractions of "
        "the threshold (VT1/AT) HR; bpm: the band in bpm"
    )
    resting_hr_bpm: float = Field(ge=20, le=150)
    peak_hr_bpm: Bpm | None = Field(description="measured peak HR; null only with peak_hr_source 'none'")
    peak_hr_source: Literal["cpet", "exercise_test", "estimated", "none"]
    intensity_low: Fraction
    intensity_high: Fraction
    threshold_hr_bpm: Bpm | None = None
    ceiling_bpm: Bpm
    beta_blocker: bool = False
    rpe_low: int = Field(default=12, ge=6, le=20)
    rpe_high: int = Field(default=14, ge=6, le=20)
    sex: Literal["male", "female"] | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    ischaemic_threshold_bpm: Bpm | None = None
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds)
    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class PrescriptionCreate(PrescriptionBase):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _coherent(self) -> PrescriptionCreate:
        band_low, band_high = resolve_band(self)
        if not self.resting_hr_bpm <= band_low < band_high:
            raise ValueError(
                f"the band resolves to {band_low:.0f}-{band_high:.0f} bpm; it must rise and start at or above the "
                f"resting HR {self.resting_hr_bpm:g}"
            )
        if self.ceiling_bpm < band_high:
            raise ValueError(f"ceiling_bpm {self.ceiling_bpm:g} is below the band top {band_high:.0f} bpm")
        if self.peak_hr_bpm is not None and self.ceiling_bpm > self.peak_hr_bpm:
            raise ValueError(f"ceiling_bpm {self.ceiling_bpm:g} is above the peak HR {self.peak_hr_bpm:g}")
        if self.rpe_low > self.rpe_high:
            raise ValueError(f"rpe_low {self.rpe_low} is above rpe_high {self.rpe_high}")
        if self.ischaemic_threshold_bpm is not None and self.ceiling_bpm > self.ischaemic_threshold_bpm - 10:
            raise ValueError("ceiling_bpm must stay at least 10 bpm below ischaemic_threshold_bpm (ACSM)")
        return self


def resolve_band(p: PrescriptionBase) -> tuple[float, float]:
    """The bpm band a prescription describes (CLINICAL.md 2.1); raises ValueError when inputs are missing."""
    if (p.peak_hr_bpm is None) != (p.peak_hr_source == "none"):
        raise ValueError("peak_hr_bpm must be null exactly when peak_hr_source is 'none'")
    if p.peak_hr_bpm is not None and p.peak_hr_bpm <= p.resting_hr_bpm:
        raise ValueError(f"peak_hr_bpm {p.peak_hr_bpm:g} must exceed resting_hr_bpm {p.resting_hr_bpm:g}")
    if p.intensity_low > p.intensity_high:
        raise ValueError(f"intensity_low {p.intensity_low:g} is above intensity_high {p.intensity_high:g}")
    if p.method == "bpm":
        return p.intensity_low, p.intensity_high
    if p.intensity_high > 1.5:
        raise ValueError(f"for method {p.method!r} intensities are fractions (e.g. 0.4-0.6), got {p.intensity_high:g}")
    if p.method == "threshold":
        if p.threshold_hr_bpm is None:
            raise ValueError("method 'threshold' needs threshold_hr_bpm (HR at VT1/AT)")
        return p.intensity_low * p.threshold_hr_bpm, p.intensity_high * p.threshold_hr_bpm
    if p.peak_hr_bpm is None:
        raise ValueError(f"method {p.method!r} needs a measured peak_hr_bpm; use method 'bpm' without one")
    if p.method == "karvonen":
        reserve = p.peak_hr_bpm - p.resting_hr_bpm
        return p.resting_hr_bpm + p.intensity_low * reserve, p.resting_hr_bpm + p.intensity_high * reserve
    return p.intensity_low * p.peak_hr_bpm, p.intensity_high * p.peak_hr_bpm


class PrescriptionPublic(PrescriptionBase):
    patient_id: str
    version: int
    clinic_id: str
    prescribed_by: str | None
    prescribed_by_name: str
    prescribed_at: datetime
    published_at: datetime | None


_THRESHOLDS = tuple(AlertThresholds.model_fields)


def public(row: rx_repo.PrescriptionRow) -> PrescriptionPublic:
    values = {k: v for k, v in row.__dict__.items() if k not in _THRESHOLDS}
    values["prescribed_by"] = str(row.prescribed_by) if row.prescribed_by else None
    values["thresholds"] = AlertThresholds(**{k: getattr(row, k) for k in _THRESHOLDS})
    return PrescriptionPublic.model_validate(values)


@router.post(
    "/{patient_id}/prescriptions",
    status_code=201,
    summary="Prescribe: store a new version and publish it to the stream",
    responses=responses(503),
)
async def create_prescription(
    patient_id: PatientId, body: PrescriptionCreate, conn: ConnDep, principal: PrescriptionWriter, producer: ProducerDep
) -> PrescriptionPublic:
    patient = await visible_patient(conn, principal, patient_id)
    values = body.model_dump(exclude={"thresholds"}) | body.thresholds.model_dump()
    values["prescribed_by"] = UUID(principal.subject)
    values["prescribed_by_name"] = principal.display_name or principal.subject
    row = await rx_repo.insert_next_version(conn, patient.id, patient.clinic_id, values)
    started = time.monotonic()
    await producer.send(rx_repo.to_event(row))
    published_at = await rx_repo.mark_published(conn, row.patient_id, row.version)
    await audit_action(
        conn,
        principal,
        "prescribe",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"version": row.version, "publish_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    await conn.commit()
    return public(dataclasses.replace(row, published_at=published_at))


@router.get("/{patient_id}/prescriptions", summary="Every version, newest first")
async def list_prescriptions(
    request: Request,
    response: Response,
    patient_id: PatientId,
    conn: ConnDep,
    principal: PrescriptionReader,
    page: PageDep,
) -> list[PrescriptionPublic]:
    patient = await visible_patient(conn, principal, patient_id)
    rows = await rx_repo.versions(conn, patient.id, limit=page.limit, offset=page.offset)
    await audit_action(conn, principal, "list_prescriptions", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [public(r) for r in rows]


@router.get("/{patient_id}/prescriptions/current", summary="The current (newest) version")
async def current_prescription(
    patient_id: PatientId, conn: ConnDep, principal: PrescriptionReader
) -> PrescriptionPublic:
    patient = await visible_patient(conn, principal, patient_id)
    row = await rx_repo.current(conn, patient.id)
    if row is None:
        raise http_error(404, f"patient {patient_id!r} has no prescription yet")
    await audit_action(
        conn,
        principal,
        "read_prescription",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"version": row.version},
    )
    await conn.commit()
    return public(row)


@router.get("/{patient_id}/prescriptions/{version}", summary="One version")
async def get_prescription(
    patient_id: PatientId, version: Version, conn: ConnDep, principal: PrescriptionReader
) -> PrescriptionPublic:
    patient = await visible_patient(conn, principal, patient_id)
    row = await rx_repo.version(conn, patient.id, version)
    if row is None:
        raise http_error(404, f"patient {patient_id!r} has no prescription version {version}")
    await audit_action(
        conn,
        principal,
        "read_prescription",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"version": version},
    )
    await conn.commit()
    return public(row)
