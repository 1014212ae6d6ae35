"""Alerts: list, read with history, acknowledge, snooze (shared, cancellable), escalate. Rules in docs/api.md.

Every action changes the one shared state of the alert (every nurse sees the same acknowledgement, snooze and
escalation level), is recorded in its history with who did it, and is published to ``alertstate.v1`` before the
transaction commits, so every API replica's live hub pushes it to every nurse's websocket.

The snooze rule, so that a snooze never silently hides an urgent alert:

- only active, unacknowledged alerts can be snoozed; one snooze per alert (a new one replaces it), visible to all
  with who and until when, and any nurse of the clinic can cancel it;
- patient-cue and nurse alerts: at most ``snooze_max_s`` (60 min by default);
- urgent alerts: only a charge nurse, at most ``snooze_urgent_max_s`` (5 min by default), with a reason; the alert
  stays listed and on the live wall, marked snoozed;
- a rise in tier from the engine, an acknowledgement or an escalation ends the snooze.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.api.auditing import audit_action
from services.api.deps import AlertActor, AlertReader, ConnDep, PageDep, ProducerDep, SettingsDep, link_next
from services.api.params import ID_PATTERN, NO_NUL, AlertId
from services.api.problems import http_error, responses
from services.auth.permissions import Action, allowed
from services.auth.principal import Principal
from services.db import alerts as alerts_repo
from services.db import patients as patients_repo
from services.live.events import AlertAction, alert_state

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=responses())

HISTORY_LIMIT: Final = 1000
Tier = Literal["patient_cue", "nurse", "urgent"]
Note = Annotated[str, Field(min_length=1, max_length=1000, pattern=NO_NUL)]


class AlertPublic(BaseModel):
    alert_id: str
    patient_id: str
    session_id: str | None
    rule: str
    tier: Tier
    state: Literal["active", "cleared"]
    last_event: Literal["raised", "updated", "cleared"]
    revision: int
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    message: str
    value: float | None
    threshold: float | None
    acknowledged_at: datetime | None
    acknowledged_by_name: str | None
    snoozed: bool = Field(description="snoozed_until is in the future")
    snoozed_until: datetime | None
    snoozed_by_name: str | None
    snooze_reason: str | None
    escalation_level: int
    escalated_at: datetime | None
    escalated_by_name: str | None
    action_seq: int


class AlertEventPublic(BaseModel):
    kind: str
    at: datetime
    revision: int | None
    tier: str | None
    message: str | None
    value: float | None
    threshold: float | None
    actor_name: str | None
    actor_role: str | None
    snoozed_until: datetime | None
    escalation_level: int | None
    note: str | None


class AlertDetailPublic(AlertPublic):
    history: list[AlertEventPublic]


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class SnoozeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=1, le=720, description="urgent: at most 5 by default; others at most 60 by default")
    reason: Note | None = Field(default=None, description="required for urgent alerts")


class EscalateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=1, le=3, description="1 charge nurse, 2 on-call physician, 3 emergency services")
    note: Note | None = None


def public(row: alerts_repo.AlertRow, now: datetime | None = None) -> AlertPublic:
    now = now or datetime.now(UTC)
    values = {k: v for k, v in row.__dict__.items() if k in AlertPublic.model_fields}
    values["snoozed"] = row.snoozed_until is not None and row.snoozed_until > now
    return AlertPublic.model_validate(values)


async def visible_alert(
    conn: ConnDep, principal: Principal, alert_id: str, *, for_update: bool = False
) -> alerts_repo.AlertRow:
    row = await alerts_repo.alert_by_id(conn, alert_id, for_update=for_update)
    if row is None or row.clinic_id is None or not principal.may_read_patient(row.patient_id, row.clinic_id):
        raise http_error(404, f"no alert {alert_id!r} visible to you")
    return row


@router.get("", summary="Alerts of the caller's clinic (a patient: their own), newest first, with filters")
async def list_alerts(
    request: Request,
    response: Response,
    conn: ConnDep,
    principal: AlertReader,
    page: PageDep,
    patient_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="only this patient")] = None,
    state: Annotated[Literal["active", "cleared"] | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    acknowledged: Annotated[bool | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query(description="raised at or after (with offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="raised before (with offset)")] = None,
) -> list[AlertPublic]:
    if principal.role == "patient":
        if patient_id is not None and patient_id != principal.patient_id:
            raise http_error(404, f"no patient {patient_id!r} visible to you")
        patient_id = principal.patient_id
    elif patient_id is not None:
        patient = await patients_repo.patient_by_id(conn, patient_id, include_archived=True)
        if patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
            raise http_error(404, f"no patient {patient_id!r} visible to you")
    if since is not None and until is not None and since >= until:
        raise http_error(422, "since must be before until")
    rows = await alerts_repo.list_alerts(
        conn,
        clinic_id=principal.clinic_id,
        patient_id=patient_id,
        state=state,
        tier=tier,
        acknowledged=acknowledged,
        since=since,
        until=until,
        limit=page.limit,
        offset=page.offset,
    )
    await audit_action(
        conn, principal, "list_alerts", patient_id=patient_id, detail={"count": len(rows), "state": state}
    )
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    now = datetime.now(UTC)
    return [public(r, now) for r in rows]


@router.get("/{alert_id}", summary="One alert with its full history (engine steps and clinicians' actions)")
async def get_alert(alert_id: AlertId, conn: ConnDep, principal: AlertReader) -> AlertDetailPublic:
    row = await visible_alert(conn, principal, alert_id)
    steps = await alerts_repo.history(conn, alert_id, limit=HISTORY_LIMIT)
    await audit_action(conn, principal, "read_alert", patient_id=row.patient_id, detail={"alert": alert_id})
    await conn.commit()
    return AlertDetailPublic(
        **public(row).model_dump(),
        history=[AlertEventPublic.model_validate(s.__dict__) for s in steps],
    )


async def _finish(
    conn: ConnDep,
    producer: ProducerDep,
    principal: Principal,
    alert_id: str,
    action: AlertAction,
    detail: dict[str, object],
) -> AlertPublic:
    """Re-read the changed alert, publish its new state, audit, commit (publish first: no commit without it)."""
    row = await alerts_repo.alert_by_id(conn, alert_id)
    assert row is not None
    await producer.send(alert_state(row, action, principal.display_name or principal.subject))
    await audit_action(
        conn, principal, f"alert_{action}", patient_id=row.patient_id, detail={"alert": alert_id, **detail}
    )
    await conn.commit()
    return public(row)


def _actor(principal: Principal) -> alerts_repo.Actor:
    return alerts_repo.Actor(UUID(principal.subject), principal.display_name or principal.subject, principal.role)


@router.post(
    "/{alert_id}/acknowledge",
    summary="Acknowledge: take responsibility (silences it for everyone)",
    responses=responses(409, 503),
)
async def acknowledge(
    alert_id: AlertId, body: AcknowledgeRequest, conn: ConnDep, principal: AlertActor, producer: ProducerDep
) -> AlertPublic:
    row = await visible_alert(conn, principal, alert_id, for_update=True)
    if row.acknowledged_at is not None:
        raise http_error(
            409, f"already acknowledged by {row.acknowledged_by_name} at {row.acknowledged_at.isoformat()}"
        )
    await alerts_repo.acknowledge(conn, row, _actor(principal), body.note)
    return await _finish(conn, producer, principal, alert_id, "acknowledged", {})


@router.put(
    "/{alert_id}/snooze",
    summary="Snooze (shared, one per alert, replaces an earlier snooze)",
    responses=responses(409, 503),
)
async def snooze(
    alert_id: AlertId,
    body: SnoozeRequest,
    conn: ConnDep,
    principal: AlertActor,
    producer: ProducerDep,
    settings: SettingsDep,
) -> AlertPublic:
    row = await visible_alert(conn, principal, alert_id, for_update=True)
    if row.state != "active":
        raise http_error(409, "the alert is cleared; there is nothing to snooze")
    if row.acknowledged_at is not None:
        raise http_error(
            409, f"already acknowledged by {row.acknowledged_by_name}; an acknowledged alert is not snoozed"
        )
    if row.tier == "urgent":
        if not allowed(principal.role, Action.ALERT_SNOOZE_URGENT):
            raise http_error(403, "only a charge nurse may snooze an urgent alert")
        limit_s = settings.snooze_urgent_max_s
        if body.reason is None:
            raise http_error(422, "snoozing an urgent alert needs a reason")
    else:
        limit_s = settings.snooze_max_s
    if body.minutes * 60 > limit_s:
        raise http_error(422, f"{row.tier} alerts can be snoozed for at most {limit_s // 60} minutes")
    until = datetime.now(UTC) + timedelta(minutes=body.minutes)
    await alerts_repo.snooze(conn, row, _actor(principal), until, body.reason)
    return await _finish(conn, producer, principal, alert_id, "snoozed", {"minutes": body.minutes})


@router.delete(
    "/{alert_id}/snooze", summary="Cancel the snooze (any nurse of the clinic)", responses=responses(409, 503)
)
async def cancel_snooze(alert_id: AlertId, conn: ConnDep, principal: AlertActor, producer: ProducerDep) -> AlertPublic:
    row = await visible_alert(conn, principal, alert_id, for_update=True)
    if row.snoozed_until is None or row.snoozed_until <= datetime.now(UTC):
        raise http_error(409, "the alert is not snoozed")
    await alerts_repo.cancel_snooze(conn, row, _actor(principal))
    return await _finish(conn, producer, principal, alert_id, "snooze_cancelled", {})


@router.post(
    "/{alert_id}/escalate", summary="Escalate to a higher level (ends any snooze)", responses=responses(409, 503)
)
async def escalate(
    alert_id: AlertId, body: EscalateRequest, conn: ConnDep, principal: AlertActor, producer: ProducerDep
) -> AlertPublic:
    row = await visible_alert(conn, principal, alert_id, for_update=True)
    if row.state != "active":
        raise http_error(409, "the alert is cleared; it cannot be escalated")
    if body.level <= row.escalation_level:
        raise http_error(409, f"already escalated to level {row.escalation_level}; escalate to a higher level")
    await alerts_repo.escalate(conn, row, _actor(principal), body.level, body.note)
    return await _finish(conn, producer, principal, alert_id, "escalated", {"level": body.level})
