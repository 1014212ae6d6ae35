"""What patients enter: perceived exertion (Borg 6-20, CLINICAL.md 2.2) and symptoms. Only for themselves;
clinicians of their clinic read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.api.auditing import audit_action
from services.api.deps import ConnDep, EntryReader, EntryWriter, PageDep, link_next, visible_patient
from services.api.params import LONG_ID_PATTERN, NO_NUL, PatientId
from services.api.problems import http_error, responses
from services.auth.principal import Principal
from services.db import entries as entries_repo

router = APIRouter(prefix="/api/v1/patients", tags=["entries"], responses=responses())

FUTURE_TOLERANCE: Final = timedelta(minutes=5)
OLDEST: Final = timedelta(days=30)
Symptom = Literal[
    "chest_pain",
    "chest_tightness",
    "dyspnoea",
    "dizziness",
    "palpitations",
    "nausea",
    "fatigue",
    "leg_pain",
    "sweating",
    "other",
]
Note = Annotated[str, Field(max_length=500, pattern=NO_NUL)]
Since = Annotated[AwareDatetime | None, Query(description="entries at or after (with offset)")]


class EntryBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(default=None, description="when it was felt (with offset); default now")
    session_id: str | None = Field(default=None, pattern=LONG_ID_PATTERN)
    note: Note | None = None


class RpeCreate(EntryBase):
    rpe: int = Field(ge=6, le=20, description="Borg 6-20: 11 light, 12-13 somewhat hard, 14-16 hard")
    context: Literal["during", "stage_end", "session_end"] = "during"


class SymptomCreate(EntryBase):
    symptoms: list[Symptom] = Field(min_length=1, max_length=10)
    severity: int = Field(ge=0, le=10, description="0 none .. 10 worst imaginable")

    @field_validator("symptoms")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each symptom at most once")
        return value


class RpePublic(BaseModel):
    id: int
    patient_id: str
    session_id: str | None
    at: datetime
    rpe: int
    context: str
    note: str | None
    entered_at: datetime


class SymptomPublic(BaseModel):
    id: int
    patient_id: str
    session_id: str | None
    at: datetime
    symptoms: list[str]
    severity: int
    note: str | None
    entered_at: datetime


def entry_time(at: datetime | None) -> datetime:
    now = datetime.now(UTC)
    if at is None:
        return now
    if at > now + FUTURE_TOLERANCE:
        raise http_error(422, "at is in the future; give the time the entry refers to, with its UTC offset")
    if at < now - OLDEST:
        raise http_error(422, f"at is more than {OLDEST.days} days ago; entries are for recent sessions")
    return at


def own_patient(principal: Principal, patient_id: str) -> None:
    if not principal.may_write_for_patient(patient_id):
        raise http_error(404, f"no patient {patient_id!r} visible to you; patients enter data only for themselves")


@router.post("/{patient_id}/rpe", status_code=201, summary="A patient records their perceived exertion")
async def add_rpe(patient_id: PatientId, body: RpeCreate, conn: ConnDep, principal: EntryWriter) -> RpePublic:
    own_patient(principal, patient_id)
    patient = await visible_patient(conn, principal, patient_id)
    row = await entries_repo.add_rpe(
        conn,
        patient_id=patient.id,
        session_id=body.session_id,
        at=entry_time(body.at),
        rpe=body.rpe,
        context=body.context,
        note=body.note,
        entered_by=UUID(principal.subject),
    )
    await audit_action(conn, principal, "add_rpe", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    return RpePublic.model_validate(row.__dict__)


@router.get("/{patient_id}/rpe", summary="A patient's RPE entries, newest first")
async def list_rpe(
    request: Request,
    response: Response,
    patient_id: PatientId,
    conn: ConnDep,
    principal: EntryReader,
    page: PageDep,
    since: Since = None,
) -> list[RpePublic]:
    patient = await visible_patient(conn, principal, patient_id)
    rows = await entries_repo.rpe_of_patient(conn, patient.id, since=since, limit=page.limit, offset=page.offset)
    await audit_action(conn, principal, "list_rpe", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [RpePublic.model_validate(r.__dict__) for r in rows]


@router.post("/{patient_id}/symptoms", status_code=201, summary="A patient records symptoms")
async def add_symptoms(
    patient_id: PatientId, body: SymptomCreate, conn: ConnDep, principal: EntryWriter
) -> SymptomPublic:
    own_patient(principal, patient_id)
    patient = await visible_patient(conn, principal, patient_id)
    row = await entries_repo.add_symptoms(
        conn,
        patient_id=patient.id,
        session_id=body.session_id,
        at=entry_time(body.at),
        symptoms=list(body.symptoms),
        severity=body.severity,
        note=body.note,
        entered_by=UUID(principal.subject),
    )
    await audit_action(
        conn,
        principal,
        "add_symptoms",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"symptoms": list(body.symptoms), "severity": body.severity},
    )
    await conn.commit()
    return SymptomPublic.model_validate(row.__dict__)


@router.get("/{patient_id}/symptoms", summary="A patient's symptom entries, newest first")
async def list_symptoms(
    request: Request,
    response: Response,
    patient_id: PatientId,
    conn: ConnDep,
    principal: EntryReader,
    page: PageDep,
    since: Since = None,
) -> list[SymptomPublic]:
    patient = await visible_patient(conn, principal, patient_id)
    rows = await entries_repo.symptoms_of_patient(conn, patient.id, since=since, limit=page.limit, offset=page.offset)
    await audit_action(conn, principal, "list_symptoms", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [SymptomPublic.model_validate(r.__dict__) for r in rows]
