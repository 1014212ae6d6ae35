"""Device enrolment: straps and gateways of a patient, and the device tokens they write readings with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.api.auditing import audit_action
from services.api.deps import ConnDep, DeviceManager, DeviceReader, PageDep, SettingsDep, link_next, visible_patient
from services.api.params import DeviceId, PatientId, TokenId
from services.api.problems import http_error, responses
from services.auth.device_tokens import new_device_token
from services.auth.principal import Principal
from services.db import devices as devices_repo
from services.db import patients as patients_repo

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=responses())

Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["hrs", "polar_h10", "gateway"] = Field(
        description="hrs: any Heart Rate Service strap; polar_h10: also ECG/ACC; gateway: the phone or hub"
    )
    address: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")
    manufacturer: Text | None = None
    model: Text | None = None
    serial: Text | None = None
    firmware: Text | None = None


class DevicePublic(BaseModel):
    id: str
    patient_id: str
    kind: str
    address: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    enrolled_at: datetime
    retired_at: datetime | None


class DeviceTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Text | None = Field(default=None, description="e.g. 'gateway phone, ward 3'")
    ttl_days: int = Field(
        default=365, ge=1, description="days until the token expires (at most the configured maximum)"
    )


class DeviceTokenPublic(BaseModel):
    id: UUID
    device_id: str
    patient_id: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class DeviceTokenIssued(DeviceTokenPublic):
    token: str = Field(description="shown once; only its hash is stored")


def device_public(d: devices_repo.DeviceRow) -> DevicePublic:
    return DevicePublic(**d.__dict__)


def token_public(t: devices_repo.DeviceTokenRow) -> DeviceTokenPublic:
    return DeviceTokenPublic(
        id=t.id,
        device_id=t.device_id,
        patient_id=t.patient_id,
        label=t.label,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        last_used_at=t.last_used_at,
    )


async def visible_device(
    conn: ConnDep, principal: Principal, device_id: str
) -> tuple[devices_repo.DeviceRow, patients_repo.PatientRow]:
    device = await devices_repo.device_by_id(conn, device_id)
    if device is None:
        raise http_error(404, f"no device {device_id!r} visible to you")
    patient = await patients_repo.patient_by_id(conn, device.patient_id)
    if patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise http_error(404, f"no device {device_id!r} visible to you")
    return device, patient


@router.get("/patients/{patient_id}/devices", summary="A patient's devices (retired ones included)")
async def list_devices(
    request: Request, response: Response, patient_id: PatientId, conn: ConnDep, principal: DeviceReader, page: PageDep
) -> list[DevicePublic]:
    patient = await visible_patient(conn, principal, patient_id)
    rows = await devices_repo.devices_of_patient(conn, patient.id, limit=page.limit, offset=page.offset)
    await audit_action(conn, principal, "list_devices", patient_id=patient.id, clinic_id=patient.clinic_id)
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [device_public(d) for d in rows]


@router.post("/patients/{patient_id}/devices", status_code=201, summary="Enrol a device for a patient")
async def create_device(
    patient_id: PatientId, body: DeviceCreate, conn: ConnDep, principal: DeviceManager
) -> DevicePublic:
    patient = await visible_patient(conn, principal, patient_id)
    device = await devices_repo.create_device(conn, patient_id=patient.id, **body.model_dump())
    await audit_action(
        conn,
        principal,
        "enrol_device",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"device": device.id},
    )
    await conn.commit()
    return device_public(device)


@router.get("/devices/{device_id}", summary="One device")
async def get_device(device_id: DeviceId, conn: ConnDep, principal: DeviceReader) -> DevicePublic:
    device, patient = await visible_device(conn, principal, device_id)
    await audit_action(
        conn, principal, "read_device", patient_id=patient.id, clinic_id=patient.clinic_id, detail={"device": device.id}
    )
    await conn.commit()
    return device_public(device)


@router.post(
    "/devices/{device_id}/retire", summary="Retire a device; its tokens stop working", responses=responses(409)
)
async def retire_device(device_id: DeviceId, conn: ConnDep, principal: DeviceManager) -> DevicePublic:
    device, patient = await visible_device(conn, principal, device_id)
    retired = await devices_repo.retire_device(conn, device.id, UUID(principal.subject))
    if retired is None:
        raise http_error(409, f"device {device_id!r} was already retired at {device.retired_at}")
    await audit_action(
        conn,
        principal,
        "retire_device",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"device": device.id},
    )
    await conn.commit()
    return device_public(retired)


@router.post(
    "/devices/{device_id}/tokens",
    status_code=201,
    summary="Issue a device token (shown once) for posting this device's readings",
    responses=responses(409),
)
async def issue_token(
    device_id: DeviceId, body: DeviceTokenCreate, conn: ConnDep, principal: DeviceManager, settings: SettingsDep
) -> DeviceTokenIssued:
    device, patient = await visible_device(conn, principal, device_id)
    if device.retired_at is not None:
        raise http_error(409, f"device {device_id!r} is retired; enrol a new device")
    if body.ttl_days > settings.device_token_max_days:
        raise http_error(422, f"ttl_days must be at most {settings.device_token_max_days}")
    token, token_hash = new_device_token()
    row = await devices_repo.create_token(
        conn,
        token_hash=token_hash,
        device_id=device.id,
        patient_id=patient.id,
        label=body.label,
        created_by=UUID(principal.subject),
        expires_at=datetime.now(UTC) + timedelta(days=body.ttl_days),
    )
    await audit_action(
        conn,
        principal,
        "issue_device_token",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"device": device.id, "token": str(row.id)},
    )
    await conn.commit()
    return DeviceTokenIssued(**token_public(row).model_dump(), token=token)


@router.get("/devices/{device_id}/tokens", summary="A device's tokens (never the tokens themselves)")
async def list_tokens(
    request: Request, response: Response, device_id: DeviceId, conn: ConnDep, principal: DeviceManager, page: PageDep
) -> list[DeviceTokenPublic]:
    device, patient = await visible_device(conn, principal, device_id)
    rows = await devices_repo.tokens_of_device(conn, device.id, limit=page.limit, offset=page.offset)
    await audit_action(
        conn,
        principal,
        "list_device_tokens",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"device": device.id},
    )
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [token_public(t) for t in rows]


@router.delete("/devices/{device_id}/tokens/{token_id}", summary="Revoke a device token (at once)")
async def revoke_token(
    device_id: DeviceId, token_id: TokenId, conn: ConnDep, principal: DeviceManager
) -> DeviceTokenPublic:
    device, patient = await visible_device(conn, principal, device_id)
    row = await devices_repo.revoke_token(conn, device.id, token_id, UUID(principal.subject))
    if row is None:
        raise http_error(404, f"device {device_id!r} has no token {token_id}")
    await audit_action(
        conn,
        principal,
        "revoke_device_token",
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        detail={"device": device.id, "token": str(token_id)},
    )
    await conn.commit()
    return token_public(row)
