"""The caller's clinic (clinic administrators). New clinics are created by operators: ``cardiorehab clinic create``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.api.auditing import audit_action
from services.api.deps import ClinicReader, ClinicWriter, ConnDep
from services.api.params import ClinicId
from services.api.problems import http_error, responses
from services.auth.principal import Principal
from services.db import clinics as clinics_repo

router = APIRouter(prefix="/api/v1/clinics", tags=["clinics"], responses=responses())

ClinicName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ClinicPublic(BaseModel):
    id: str
    name: str
    timezone: str
    created_at: datetime


class ClinicUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ClinicName | None = None
    timezone: str | None = Field(default=None, max_length=64, description="IANA time zone, e.g. Europe/Berlin")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> ClinicUpdate:
        if self.name is None and self.timezone is None:
            raise ValueError("nothing to change: give name and/or timezone")
        return self


def public(row: clinics_repo.ClinicRow) -> ClinicPublic:
    return ClinicPublic(id=row.id, name=row.name, timezone=row.timezone, created_at=row.created_at)


def own_clinic(principal: Principal, clinic_id: str) -> None:
    if clinic_id != principal.clinic_id:
        raise http_error(404, f"no clinic {clinic_id!r} visible to you")


@router.get("", summary="The caller's clinic (a list of one)")
async def list_clinics(conn: ConnDep, principal: ClinicReader) -> list[ClinicPublic]:
    row = await clinics_repo.clinic_by_id(conn, principal.clinic_id)
    await audit_action(conn, principal, "list_clinics")
    await conn.commit()
    return [public(row)] if row else []


@router.get("/{clinic_id}", summary="One clinic (only the caller's)")
async def get_clinic(clinic_id: ClinicId, conn: ConnDep, principal: ClinicReader) -> ClinicPublic:
    own_clinic(principal, clinic_id)
    row = await clinics_repo.clinic_by_id(conn, clinic_id)
    if row is None:
        raise http_error(404, f"no clinic {clinic_id!r} visible to you")
    await audit_action(conn, principal, "read_clinic", clinic_id=clinic_id)
    await conn.commit()
    return public(row)


@router.patch("/{clinic_id}", summary="Rename the clinic or set its time zone")
async def update_clinic(
    clinic_id: ClinicId, body: ClinicUpdate, conn: ConnDep, principal: ClinicWriter
) -> ClinicPublic:
    own_clinic(principal, clinic_id)
    row = await clinics_repo.update_clinic(conn, clinic_id, name=body.name, timezone=body.timezone)
    if row is None:
        raise http_error(404, f"no clinic {clinic_id!r} visible to you")
    await audit_action(conn, principal, "update_clinic", clinic_id=clinic_id, detail=body.model_dump(exclude_none=True))
    await conn.commit()
    return public(row)
