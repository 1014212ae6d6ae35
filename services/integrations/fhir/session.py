"""A session summary (``sessions.v1`` event ``summary``) as a FHIR R4 ``collection`` Bundle of Observations.

One panel Observation (project code ``session-summary``) has ``hasMember`` links to one Observation per figure
the summary carries. Category ``activity`` (observation-category: "physical activity"). Codes:

================= ======================================== ================= ==========================
figure            code(s)                                  unit (UCUM)       note
================= ======================================== ================= ==========================
duration          LOINC 55411-3 Exercise duration          min               + project session-duration
time in band      project time-in-band-pct                 %                 CLINICAL.md 2.5 KPI
peak HR           project peak-hr                          /min              no verified LOINC
mean HR           project mean-hr                          /min              no verified LOINC
Banister TRIMP    project trimp-banister                   {TRIMP}           CLINICAL.md 2.5
Edwards TRIMP     project trimp-edwards                    {TRIMP}           CLINICAL.md 2.5
HRR1, HRR2        project hrr1, hrr2                       /min              CLINICAL.md 2.4
================= ======================================== ================= ==========================

A ``document`` Bundle would need a Composition and an author; the summary is machine data, so ``collection``.
"""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle

from analytics.events import SessionV1
from services.integrations import codes
from services.integrations.codes import Code
from services.integrations.context import DeviceContext, GatewayContext, PatientContext
from services.integrations.errors import BuildError
from services.integrations.fhir.common import (
    Json,
    category,
    concept,
    device_reference,
    gateway_extension,
    identifier,
    patient_reference,
    quantity,
    validated,
)
from services.integrations.ids import resource_id, urn_uuid
from services.integrations.timestamps import fhir_instant

_S_PER_MIN = 60.0


def _figures(session: SessionV1) -> list[tuple[str, float, list[Code], Code]]:
    """(slug, value, codes, unit) for each figure present; the slug makes the entry id."""
    candidates: list[tuple[str, float | None, list[Code], Code]] = [
        (
            "duration",
            None if session.duration_s is None else round(session.duration_s / _S_PER_MIN, 2),
            [codes.LOINC_EXERCISE_DURATION, codes.PROJECT_SESSION_DURATION],
            codes.UCUM_MIN,
        ),
        ("time-in-band", session.time_in_band_pct, [codes.PROJECT_TIME_IN_BAND], codes.UCUM_PERCENT),
        ("peak-hr", session.peak_hr_bpm, [codes.PROJECT_PEAK_HR], codes.UCUM_PER_MIN),
        ("mean-hr", session.mean_hr_bpm, [codes.PROJECT_MEAN_HR], codes.UCUM_PER_MIN),
        ("trimp-banister", session.trimp_banister, [codes.PROJECT_TRIMP_BANISTER], codes.UCUM_TRIMP),
        ("trimp-edwards", session.trimp_edwards, [codes.PROJECT_TRIMP_EDWARDS], codes.UCUM_TRIMP),
        ("hrr1", session.hrr1_bpm, [codes.PROJECT_HRR1], codes.UCUM_PER_MIN),
        ("hrr2", session.hrr2_bpm, [codes.PROJECT_HRR2], codes.UCUM_PER_MIN),
    ]
    return [(slug, value, c, unit) for slug, value, c, unit in candidates if value is not None]


def session_summary_bundle(
    session: SessionV1, *, patient: PatientContext, strap: DeviceContext, gateway: GatewayContext
) -> Bundle:
    """The summary figures as a ``collection`` Bundle: a panel Observation first, then one per figure."""
    if session.event != "summary":
        raise BuildError(f"session event {session.idempotency_key()} is {session.event!r}, not a summary")
    key = session.idempotency_key()
    period: Json = {"start": fhir_instant(session.started_ns)}
    if session.ended_ns is not None:
        period["end"] = fhir_instant(session.ended_ns)

    def observation(slug: str) -> Json:
        return {
            "resourceType": "Observation",
            "id": resource_id(f"session-{slug}", key),
            "identifier": [identifier(codes.PROJECT_SESSION_ID_SYSTEM, session.session_id)],
            "status": "final",
            "category": category("activity", "Activity"),
            "subject": patient_reference(patient),
            "effectivePeriod": period,
            "device": device_reference(strap),
            "extension": [gateway_extension(gateway)],
        }

    members: list[tuple[str, Json]] = []
    for slug, value, figure_codes, unit in _figures(session):
        member = observation(slug)
        member["code"] = concept(*figure_codes)
        member["valueQuantity"] = quantity(value, unit)
        members.append((urn_uuid(f"session-{slug}", key), member))

    panel = observation("summary")
    panel["code"] = concept(codes.PROJECT_SESSION_SUMMARY, text="Cardiac rehabilitation session summary")
    panel["hasMember"] = [{"reference": full_url} for full_url, _ in members]
    if session.flags:
        panel["note"] = [{"text": "flags: " + ", ".join(session.flags)}]

    entries = [{"fullUrl": urn_uuid("session-summary", key), "resource": panel}]
    entries += [{"fullUrl": full_url, "resource": member} for full_url, member in members]
    data: Json = {
        "resourceType": "Bundle",
        "id": resource_id("bundle-session-summary", key),
        "identifier": identifier(codes.PROJECT_MESSAGE_ID_SYSTEM, f"session-summary:{key}"),
        "type": "collection",
        "timestamp": fhir_instant(session.t_ns),
        "entry": entries,
    }
    return validated(Bundle, data)
