"""Hospital integration: each clinic's hospital configurations (clinic administrators) and the delivery state of
the hospital messages (clinicians). docs/integration.md describes the whole integration.

A hospital configuration is :class:`~services.integrations.stored.StoredHospitalConfig`: endpoints, which alert
tiers and rules go out, PCD-01 cadence, escalation timings, and **references** to credentials (``env:NAME`` or
``file:/path``, resolved only by the dispatcher), never the credentials themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, ValidationError

from services.api.auditing import audit_action
from services.api.deps import ClinicReader, ClinicWriter, ConnDep, CurrentClinician, PageDep, link_next
from services.api.params import ID_PATTERN, AlertId, ClinicId
from services.api.problems import http_error, responses
from services.api.routes.alerts import visible_alert
from services.auth.principal import Principal
from services.db import hospitals as hospitals_repo
from services.db import outbox as outbox_repo
from services.db import subscriptions as subscriptions_repo
from services.integrations.dispatch.targets import stored_config
from services.integrations.stored import StoredHospitalConfig

router = APIRouter(prefix="/api/v1", tags=["integrations"], responses=responses())

HospitalId = Annotated[str, Path(pattern=ID_PATTERN, description="hospital id")]
DeliveryState = Literal["pending", "delivered", "failed", "nacked"]
Channel = Literal["mllp", "fhir-rest-hook"]


class SubscriptionSummary(BaseModel):
    subscription_id: str
    topic: str
    status: Literal["requested", "active", "error", "off"]
    events_since_subscription_start: int
    last_notification_at: datetime | None
    last_error: str | None


class HospitalPublic(BaseModel):
    hospital_id: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    config: StoredHospitalConfig | None
    config_error: str | None = None
    subscriptions: list[SubscriptionSummary]


class DeliveryPublic(BaseModel):
    seq: int
    hospital_id: str
    channel: Channel
    message_id: str
    kind: str
    patient_id: str | None
    alert_id: str | None
    revision: int | None
    session_id: str | None
    subscription_id: str | None
    event_number: int | None
    escalation_level: int | None
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None
    ack_code: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload_bytes: int


class DeliverySummary(BaseModel):
    hospital_id: str
    channel: Channel
    messages: int
    delivered: int
    pending: int
    nacked: int
    failed: int
    state: DeliveryState = "delivered"


class AlertDeliveriesPublic(BaseModel):
    alert_id: str
    summary: list[DeliverySummary]
    messages: list[DeliveryPublic]


def _actor_id(principal: Principal) -> UUID:
    return UUID(principal.subject)


def own_clinic(principal: Principal, clinic_id: str) -> None:
    if clinic_id != principal.clinic_id:
        raise http_error(404, f"no clinic {clinic_id!r} visible to you")


async def _public(conn: ConnDep, record: hospitals_repo.HospitalRecord) -> HospitalPublic:
    config: StoredHospitalConfig | None = None
    error = None
    try:
        config = stored_config(record)
    except ValidationError as exc:
        error = f"stored configuration no longer validates: {exc.error_count()} error(s); PUT a corrected one"
    subs = await subscriptions_repo.subscriptions_of_hospital(conn, record.id)
    return HospitalPublic(
        hospital_id=record.id,
        enabled=record.enabled,
        created_at=record.created_at,
        updated_at=record.updated_at,
        config=config,
        config_error=error,
        subscriptions=[
            SubscriptionSummary(
                subscription_id=s.id,
                topic=s.topic,
                status=s.status,
                events_since_subscription_start=s.events_since_start,
                last_notification_at=s.last_notification_at,
                last_error=s.last_error,
            )
            for s in subs
        ],
    )


def _endpoints(config: StoredHospitalConfig) -> list[hospitals_repo.EndpointRow]:
    endpoints = []
    fhir = config.fhir_part()
    if fhir is not None:
        endpoints.append(hospitals_repo.EndpointRow("fhir-rest-hook", fhir[0], fhir[1]))
    mllp = config.mllp_part()
    if mllp is not None:
        endpoints.append(hospitals_repo.EndpointRow("mllp", mllp, None))
    return endpoints


async def _save(conn: ConnDep, principal: Principal, clinic_id: str, config: StoredHospitalConfig) -> None:
    await hospitals_repo.save_hospital(
        conn,
        hospital_id=config.hospital_id,
        settings=config.settings_part(),
        endpoints=_endpoints(config),
        clinic_id=clinic_id,
        actor=_actor_id(principal),
    )


@router.get("/clinics/{clinic_id}/hospitals", summary="The hospitals this clinic sends alerts and summaries to")
async def list_hospitals(
    request: Request, response: Response, clinic_id: ClinicId, conn: ConnDep, principal: ClinicReader, page: PageDep
) -> list[HospitalPublic]:
    own_clinic(principal, clinic_id)
    records = await hospitals_repo.hospitals_of_clinic(conn, clinic_id, limit=page.limit, offset=page.offset)
    result = [await _public(conn, r) for r in records]
    await audit_action(conn, principal, "list_hospitals", clinic_id=clinic_id, detail={"count": len(records)})
    await conn.commit()
    response.headers.update(link_next(request, page, len(records)))
    return result


@router.post(
    "/clinics/{clinic_id}/hospitals",
    status_code=status.HTTP_201_CREATED,
    summary="Configure a new hospital for this clinic (credentials only as env:/file: references)",
    responses=responses(409),
)
async def create_hospital(
    clinic_id: ClinicId, body: StoredHospitalConfig, conn: ConnDep, principal: ClinicWriter
) -> HospitalPublic:
    own_clinic(principal, clinic_id)
    if await hospitals_repo.hospital_exists(conn, body.hospital_id):
        raise http_error(409, f"hospital id {body.hospital_id!r} is taken; choose another one")
    await _save(conn, principal, clinic_id, body)
    record = await hospitals_repo.hospital_of_clinic(conn, clinic_id, body.hospital_id)
    assert record is not None
    await audit_action(conn, principal, "create_hospital", clinic_id=clinic_id, detail={"hospital": body.hospital_id})
    result = await _public(conn, record)
    await conn.commit()
    return result


async def _visible_hospital(
    conn: ConnDep, principal: Principal, clinic_id: str, hospital_id: str
) -> hospitals_repo.HospitalRecord:
    own_clinic(principal, clinic_id)
    record = await hospitals_repo.hospital_of_clinic(conn, clinic_id, hospital_id)
    if record is None:
        raise http_error(404, f"no hospital {hospital_id!r} configured for clinic {clinic_id!r}")
    return record


@router.get("/clinics/{clinic_id}/hospitals/{hospital_id}", summary="One hospital's configuration and subscriptions")
async def get_hospital(
    clinic_id: ClinicId,
    hospital_id: HospitalId,
    conn: ConnDep,
    principal: ClinicReader,
) -> HospitalPublic:
    record = await _visible_hospital(conn, principal, clinic_id, hospital_id)
    result = await _public(conn, record)
    await audit_action(conn, principal, "read_hospital", clinic_id=clinic_id, detail={"hospital": hospital_id})
    await conn.commit()
    return result


@router.put(
    "/clinics/{clinic_id}/hospitals/{hospital_id}",
    summary="Replace a hospital's configuration (and enable it); takes effect within the dispatcher's refresh",
)
async def replace_hospital(
    clinic_id: ClinicId,
    hospital_id: HospitalId,
    body: StoredHospitalConfig,
    conn: ConnDep,
    principal: ClinicWriter,
) -> HospitalPublic:
    await _visible_hospital(conn, principal, clinic_id, hospital_id)
    if body.hospital_id != hospital_id:
        raise http_error(422, f"body hospital_id {body.hospital_id!r} differs from the path's {hospital_id!r}")
    await _save(conn, principal, clinic_id, body)
    record = await hospitals_repo.hospital_of_clinic(conn, clinic_id, hospital_id)
    assert record is not None
    await audit_action(conn, principal, "update_hospital", clinic_id=clinic_id, detail={"hospital": hospital_id})
    result = await _public(conn, record)
    await conn.commit()
    return result


@router.delete(
    "/clinics/{clinic_id}/hospitals/{hospital_id}",
    summary="Disable a hospital: nothing more is sent, its subscriptions are turned off, its history is kept",
)
async def disable_hospital(
    clinic_id: ClinicId,
    hospital_id: HospitalId,
    conn: ConnDep,
    principal: ClinicWriter,
) -> HospitalPublic:
    await _visible_hospital(conn, principal, clinic_id, hospital_id)
    await hospitals_repo.disable_hospital(conn, hospital_id, _actor_id(principal))
    record = await hospitals_repo.hospital_of_clinic(conn, clinic_id, hospital_id)
    assert record is not None
    await audit_action(conn, principal, "disable_hospital", clinic_id=clinic_id, detail={"hospital": hospital_id})
    result = await _public(conn, record)
    await conn.commit()
    return result


def _summaries(rows: list[outbox_repo.DeliveryRow]) -> list[DeliverySummary]:
    by_target: dict[tuple[str, str], DeliverySummary] = {}
    for row in rows:
        summary = by_target.setdefault(
            (row.hospital_id, row.channel),
            DeliverySummary(
                hospital_id=row.hospital_id,
                channel=row.channel,
                messages=0,
                delivered=0,
                pending=0,
                nacked=0,
                failed=0,
            ),
        )
        summary.messages += 1
        setattr(summary, row.state, getattr(summary, row.state) + 1)
    for summary in by_target.values():
        summary.state = (
            "nacked"
            if summary.nacked
            else "failed"
            if summary.failed
            else "pending"
            if summary.pending
            else "delivered"
        )
    return list(by_target.values())


def _delivery(row: outbox_repo.DeliveryRow) -> DeliveryPublic:
    values = {k: v for k, v in row.__dict__.items() if k != "id"}
    return DeliveryPublic.model_validate({**values, "seq": row.id})


@router.get(
    "/alerts/{alert_id}/deliveries",
    summary="Delivery state of an alert's hospital messages: per hospital and channel, and every message",
)
async def alert_deliveries(alert_id: AlertId, conn: ConnDep, principal: CurrentClinician) -> AlertDeliveriesPublic:
    alert = await visible_alert(conn, principal, alert_id)
    rows = await outbox_repo.deliveries(conn, clinic_id=principal.clinic_id, alert_id=alert_id, limit=1000, offset=0)
    await audit_action(
        conn, principal, "read_alert_deliveries", patient_id=alert.patient_id, detail={"alert": alert_id}
    )
    await conn.commit()
    return AlertDeliveriesPublic(alert_id=alert_id, summary=_summaries(rows), messages=[_delivery(r) for r in rows])


@router.get("/deliveries", summary="Hospital messages of the caller's clinic, newest first, with filters")
async def list_deliveries(
    request: Request,
    response: Response,
    conn: ConnDep,
    principal: CurrentClinician,
    page: PageDep,
    state: Annotated[DeliveryState | None, Query(description="e.g. nacked: refused by the receiver")] = None,
    channel: Annotated[Channel | None, Query()] = None,
    hospital_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    patient_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> list[DeliveryPublic]:
    rows = await outbox_repo.deliveries(
        conn,
        clinic_id=principal.clinic_id,
        state=state,
        channel=channel,
        hospital_id=hospital_id,
        patient_id=patient_id,
        limit=page.limit,
        offset=page.offset,
    )
    await audit_action(
        conn, principal, "list_deliveries", patient_id=patient_id, detail={"count": len(rows), "state": state}
    )
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [_delivery(r) for r in rows]
