"""Session reports as PDF: the dashboard's report page (``report.html``), rendered by the server.

Authorised exactly like ``GET /api/v1/sessions/{session_id}`` (session readers; a session outside the caller's
scope is 404) and audited. The data comes from the repositories; :mod:`services.reports` builds and renders the
report (pure), off the event loop.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from fastapi import APIRouter, Response

from services.api.auditing import audit_action
from services.api.deps import ConnDep, SessionReader
from services.api.params import SessionId
from services.api.problems import http_error, responses
from services.api.routes.history import MAX_POINTS, choose_resolution
from services.db import alerts as alerts_repo
from services.db import clinics as clinics_repo
from services.db import entries as entries_repo
from services.db import features as features_repo
from services.db import patients as patients_repo
from services.db import prescriptions as rx_repo
from services.db import sessions as sessions_repo
from services.reports import (
    AlertEntry,
    PrescriptionFacts,
    ReportInput,
    RpeEntry,
    SeriesPoint,
    SessionFacts,
    SymptomEntry,
    build_report,
    render_pdf,
)

router = APIRouter(prefix="/api/v1", tags=["sessions"], responses=responses())

MAX_ROWS: Final = 500  # alerts, RPE and symptom entries listed in one report
ENTRY_GRACE: Final = timedelta(minutes=1)


def _session(row: sessions_repo.SessionRow) -> SessionFacts:
    return SessionFacts(
        session_id=row.session_id,
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_s=row.duration_s,
        time_in_band_s=row.time_in_band_s,
        time_in_band_pct=row.time_in_band_pct,
        peak_hr_bpm=row.peak_hr_bpm,
        mean_hr_bpm=row.mean_hr_bpm,
        trimp_banister=row.trimp_banister,
        trimp_edwards=row.trimp_edwards,
        hrr1_bpm=row.hrr1_bpm,
        hrr2_bpm=row.hrr2_bpm,
        flags=tuple(row.flags),
    )


def _prescription(row: rx_repo.PrescriptionRow) -> PrescriptionFacts:
    return PrescriptionFacts(
        version=row.version,
        prescribed_at=row.prescribed_at,
        prescribed_by_name=row.prescribed_by_name,
        method=row.method,
        intensity_low=row.intensity_low,
        intensity_high=row.intensity_high,
        ceiling_bpm=row.ceiling_bpm,
        resting_hr_bpm=row.resting_hr_bpm,
        peak_hr_bpm=row.peak_hr_bpm,
        rpe_low=row.rpe_low,
        rpe_high=row.rpe_high,
        beta_blocker=row.beta_blocker,
    )


def _alert(row: alerts_repo.AlertRow) -> AlertEntry:
    return AlertEntry(
        raised_at=row.raised_at,
        tier=row.tier,
        rule=row.rule,
        message=row.message,
        session_id=row.session_id,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by_name=row.acknowledged_by_name,
        cleared_at=row.cleared_at,
    )


def _filename(session_id: str) -> str:
    return "session-report-" + re.sub(r"[^A-Za-z0-9_.-]", "-", session_id) + ".pdf"


@router.get(
    "/sessions/{session_id}/report.pdf",
    summary="The session report as PDF (HR on the band, time in band, load, recovery, alerts, entries)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the report"}},
)
async def session_report_pdf(session_id: SessionId, conn: ConnDep, principal: SessionReader) -> Response:
    row = await sessions_repo.session_by_id(conn, session_id)
    patient = await patients_repo.patient_by_id(conn, row.patient_id) if row else None
    if row is None or patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise http_error(404, f"no session {session_id!r} visible to you")
    now = datetime.now(UTC)
    end = (row.ended_at or now) + timedelta(seconds=1)
    step = choose_resolution(row.started_at, end, None)
    bucket = None if step == 1 else timedelta(seconds=step)
    points = await features_repo.feature_history(conn, patient.id, row.started_at, end, bucket, MAX_POINTS)
    alerts = await alerts_repo.list_alerts(
        conn,
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        state=None,
        tier=None,
        acknowledged=None,
        since=row.started_at,
        until=end,
        limit=MAX_ROWS,
        offset=0,
    )
    rpe = await entries_repo.rpe_of_patient(conn, patient.id, since=row.started_at, limit=MAX_ROWS, offset=0)
    symptoms = await entries_repo.symptoms_of_patient(conn, patient.id, since=row.started_at, limit=MAX_ROWS, offset=0)
    versions = await rx_repo.versions(conn, patient.id, limit=100, offset=0)
    clinic = await clinics_repo.clinic_by_id(conn, patient.clinic_id)
    await audit_action(
        conn,
        principal,
        "read_session_report",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"session": session_id, "format": "pdf"},
    )
    await conn.commit()
    report = build_report(
        ReportInput(
            patient_id=patient.id,
            patient_name=patient.display_name,
            clinic_name=clinic.name if clinic else patient.clinic_id,
            timezone=clinic.timezone if clinic else "UTC",
            session=_session(row),
            prescriptions=tuple(_prescription(v) for v in versions),
            points=tuple(
                SeriesPoint(p.time.timestamp(), p.hr_bpm, p.band_low_bpm, p.band_high_bpm, p.in_band) for p in points
            ),
            resolution_s=step,
            alerts=tuple(_alert(a) for a in alerts),
            rpe=tuple(RpeEntry(r.at, r.rpe, r.context) for r in rpe if r.at <= end + ENTRY_GRACE),
            symptoms=tuple(
                SymptomEntry(s.at, tuple(s.symptoms), s.severity) for s in symptoms if s.at <= end + ENTRY_GRACE
            ),
            generated_at=now,
        )
    )
    pdf = await asyncio.to_thread(render_pdf, report)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(session_id)}"'},
    )
