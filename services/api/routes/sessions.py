"""Exercise sessions and their summaries (from ``sessions.v1``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel

from services.api.auditing import audit_action
from services.api.deps import ConnDep, PageDep, SessionReader, link_next, visible_patient
from services.api.params import PatientId, SessionId
from services.api.problems import http_error, responses
from services.db import patients as patients_repo
from services.db import sessions as sessions_repo

router = APIRouter(prefix="/api/v1", tags=["sessions"], responses=responses())


class SessionPublic(BaseModel):
    session_id: str
    patient_id: str
    status: Literal["active", "ended", "summarised"]
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
    updated_at: datetime


def public(row: sessions_repo.SessionRow) -> SessionPublic:
    return SessionPublic.model_validate(row.__dict__)


@router.get("/patients/{patient_id}/sessions", summary="A patient's sessions, newest first")
async def list_sessions(
    request: Request,
    response: Response,
    patient_id: PatientId,
    conn: ConnDep,
    principal: SessionReader,
    page: PageDep,
    since: Annotated[AwareDatetime | None, Query(description="sessions started at or after (with offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="sessions started before (with offset)")] = None,
) -> list[SessionPublic]:
    patient = await visible_patient(conn, principal, patient_id)
    if since is not None and until is not None and since >= until:
        raise http_error(422, "since must be before until")
    rows = await sessions_repo.sessions_of_patient(
        conn, patient.id, since=since, until=until, limit=page.limit, offset=page.offset
    )
    await audit_action(conn, principal, "list_sessions", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [public(r) for r in rows]


@router.get("/sessions/{session_id}", summary="One session with its summary")
async def get_session(session_id: SessionId, conn: ConnDep, principal: SessionReader) -> SessionPublic:
    row = await sessions_repo.session_by_id(conn, session_id)
    patient = await patients_repo.patient_by_id(conn, row.patient_id) if row else None
    if row is None or patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise http_error(404, f"no session {session_id!r} visible to you")
    await audit_action(
        conn,
        principal,
        "read_session",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"session": session_id},
    )
    await conn.commit()
    return public(row)
