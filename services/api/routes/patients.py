"""Patients of the caller's clinic: list, create, read, edit, archive (never delete: their record stays)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.auditing import audit_action
from services.api.deps import (
    ConnDep,
    PageDep,
    PatientArchiver,
    PatientReader,
    PatientWriter,
    link_next,
    visible_patient,
)
from services.api.params import PatientId
from services.api.problems import http_error, responses
from services.db import patients as patients_repo

router = APIRouter(prefix="/api/v1/patients", tags=["patients"], responses=responses())

Sex = Literal["male", "female"]
DisplayName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
BirthYear = Annotated[int, Field(ge=1900, le=2100)]
Mrn = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_./:-]+$")]


class PatientBase(BaseModel):
    display_name: DisplayName
    sex: Sex | None = None
    birth_year: BirthYear | None = None
    mrn: Mrn | None = Field(default=None, description="medical record number, unique within the clinic")


class PatientCreate(PatientBase):
    """A new patient of the caller's clinic; the server chooses the id."""

    model_config = ConfigDict(extra="forbid")


class PatientUpdate(BaseModel):
    """Only the fields present are changed; ``null`` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    sex: Sex | None = None
    birth_year: BirthYear | None = None
    mrn: Mrn | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> PatientUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one of display_name, sex, birth_year, mrn")
        if "display_name" in self.model_fields_set and self.display_name is None:
            raise ValueError("display_name cannot be null")
        return self


class PatientPublic(BaseModel):
    id: str
    clinic_id: str
    display_name: str
    sex: Sex | None
    birth_year: int | None
    mrn: str | None
    created_at: datetime | None
    archived_at: datetime | None


def public(p: patients_repo.PatientRow) -> PatientPublic:
    return PatientPublic(
        id=p.id,
        clinic_id=p.clinic_id,
        display_name=p.display_name,
        sex=p.sex,
        birth_year=p.birth_year,
        mrn=p.mrn,
        created_at=p.created_at,
        archived_at=p.archived_at,
    )


@router.get("", summary="Patients the caller may see (a patient sees only themself)")
async def list_patients(
    request: Request,
    response: Response,
    conn: ConnDep,
    principal: PatientReader,
    page: PageDep,
    archived: Annotated[bool, Query(description="list archived patients instead (clinicians)")] = False,
) -> list[PatientPublic]:
    if principal.role == "patient":
        own = await patients_repo.patient_by_id(conn, principal.patient_id or "")
        rows = [own] if own is not None and not archived and page.offset == 0 else []
    else:
        rows = await patients_repo.patients_of_clinic(
            conn, principal.clinic_id, limit=page.limit, offset=page.offset, archived=archived
        )
    await audit_action(conn, principal, "list_patients", detail={"count": len(rows), "archived": archived})
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [public(p) for p in rows]


@router.post("", status_code=201, summary="Create a patient in the caller's clinic", responses=responses(409))
async def create_patient(body: PatientCreate, conn: ConnDep, principal: PatientWriter) -> PatientPublic:
    row = await patients_repo.create_patient(
        conn,
        clinic_id=principal.clinic_id,
        display_name=body.display_name,
        sex=body.sex,
        birth_year=body.birth_year,
        mrn=body.mrn,
    )
    if row is None:
        raise http_error(409, f"MRN {body.mrn!r} is already used by another patient of this clinic")
    await audit_action(conn, principal, "create_patient", patient_id=row.id)
    await conn.commit()
    return public(row)


@router.get("/{patient_id}", summary="One patient")
async def get_patient(patient_id: PatientId, conn: ConnDep, principal: PatientReader) -> PatientPublic:
    patient = await visible_patient(conn, principal, patient_id)
    await audit_action(conn, principal, "read_patient", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    return public(patient)


@router.patch("/{patient_id}", summary="Edit a patient", responses=responses(409))
async def update_patient(
    patient_id: PatientId, body: PatientUpdate, conn: ConnDep, principal: PatientWriter
) -> PatientPublic:
    patient = await visible_patient(conn, principal, patient_id)
    changes = body.model_dump(include=body.model_fields_set)
    if body.mrn is not None and await patients_repo.mrn_taken(
        conn, patient.clinic_id, body.mrn, except_patient=patient.id
    ):
        raise http_error(409, f"MRN {body.mrn!r} is already used by another patient of this clinic")
    row = await patients_repo.update_patient(conn, patient.id, changes)
    if row is None:
        raise http_error(404, f"no patient {patient_id!r} visible to you")
    await audit_action(
        conn,
        principal,
        "update_patient",
        patient_id=row.id,
        clinic_id=row.clinic_id,
        detail={"fields": sorted(changes)},
    )
    await conn.commit()
    return public(row)


@router.post(
    "/{patient_id}/archive",
    summary="Archive a patient: hidden from lists and the live wall, data kept, logins and device tokens revoked",
)
async def archive_patient(patient_id: PatientId, conn: ConnDep, principal: PatientArchiver) -> PatientPublic:
    patient = await visible_patient(conn, principal, patient_id)
    row = await patients_repo.archive_patient(conn, patient.id)
    if row is None:
        raise http_error(404, f"no patient {patient_id!r} visible to you")
    await audit_action(conn, principal, "archive_patient", patient_id=row.id, clinic_id=row.clinic_id)
    await conn.commit()
    return public(row)
