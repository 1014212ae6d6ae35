"""Staff and logins of the caller's clinic, managed by its clinic administrators."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.auditing import audit_action
from services.api.deps import ConnDep, PageDep, StaffReader, StaffWriter, link_next
from services.api.params import ID_PATTERN, UserId
from services.api.problems import http_error, responses
from services.auth.passwords import hash_password
from services.auth.principal import Principal
from services.db import patients as patients_repo
from services.db import users as users_repo

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=responses(409))

UserRole = Literal["patient", "nurse", "charge_nurse", "clinic_admin", "integration"]
Username = Annotated[str, Field(pattern=r"^[a-z0-9_.@-]{3,100}$", description="lower case, 3-100 characters")]
Password = Annotated[str, Field(min_length=12, max_length=200, description="at least 12 characters")]
DisplayName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: UserRole
    display_name: DisplayName
    patient_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="required for role 'patient': whose login this is"
    )

    @model_validator(mode="after")
    def _patient_login(self) -> UserCreate:
        if (self.role == "patient") != (self.patient_id is not None):
            raise ValueError("patient_id is required for role 'patient' and not allowed for other roles")
        return self


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    role: Literal["nurse", "charge_nurse", "clinic_admin", "integration"] | None = Field(
        default=None, description="staff roles only; a patient's login stays a patient's"
    )
    password: Password | None = None
    disabled: bool | None = Field(default=None, description="true disables the login and revokes its refresh tokens")

    @model_validator(mode="after")
    def _something_to_change(self) -> UserUpdate:
        if all(v is None for v in (self.display_name, self.role, self.password, self.disabled)):
            raise ValueError("nothing to change: give display_name, role, password and/or disabled")
        return self


class UserPublic(BaseModel):
    id: str
    username: str
    role: str
    clinic_id: str
    patient_id: str | None
    display_name: str
    created_at: datetime
    disabled_at: datetime | None


def public(row: users_repo.StaffRow) -> UserPublic:
    return UserPublic(
        id=str(row.id),
        username=row.username,
        role=row.role,
        clinic_id=row.clinic_id,
        patient_id=row.patient_id,
        display_name=row.display_name,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


async def _own_user(conn: ConnDep, principal: Principal, user_id: UUID) -> users_repo.StaffRow:
    row = await users_repo.staff_by_id(conn, user_id)
    if row is None or row.clinic_id != principal.clinic_id:
        raise http_error(404, f"no user {user_id} visible to you")
    return row


@router.get("", summary="Users of the caller's clinic")
async def list_users(
    request: Request, response: Response, conn: ConnDep, principal: StaffReader, page: PageDep
) -> list[UserPublic]:
    rows = await users_repo.staff_of_clinic(conn, principal.clinic_id, limit=page.limit, offset=page.offset)
    await audit_action(conn, principal, "list_users", detail={"count": len(rows)})
    await conn.commit()
    response.headers.update(link_next(request, page, len(rows)))
    return [public(r) for r in rows]


@router.post("", status_code=201, summary="Create a login in the caller's clinic")
async def create_user(body: UserCreate, conn: ConnDep, principal: StaffWriter) -> UserPublic:
    if body.patient_id is not None:
        patient = await patients_repo.patient_by_id(conn, body.patient_id)
        if patient is None or patient.clinic_id != principal.clinic_id:
            raise http_error(404, f"no patient {body.patient_id!r} visible to you")
    row = await users_repo.create_user(
        conn,
        username=body.username,
        password_hash=await asyncio.to_thread(hash_password, body.password),
        role=body.role,
        clinic_id=principal.clinic_id,
        patient_id=body.patient_id,
        display_name=body.display_name,
    )
    if row is None:
        raise http_error(409, f"username {body.username!r} is taken")
    await audit_action(
        conn, principal, "create_user", patient_id=body.patient_id, detail={"user": str(row.id), "role": body.role}
    )
    await conn.commit()
    return public(row)


@router.get("/{user_id}", summary="One user of the caller's clinic")
async def get_user(user_id: UserId, conn: ConnDep, principal: StaffReader) -> UserPublic:
    row = await _own_user(conn, principal, user_id)
    await audit_action(conn, principal, "read_user", detail={"user": str(user_id)})
    await conn.commit()
    return public(row)


@router.patch("/{user_id}", summary="Rename, change role, reset password, disable or re-enable a login")
async def update_user(user_id: UserId, body: UserUpdate, conn: ConnDep, principal: StaffWriter) -> UserPublic:
    row = await _own_user(conn, principal, user_id)
    if row.role == "patient" and body.role is not None:
        raise http_error(409, "a patient's login cannot become a staff login; create a new user instead")
    if str(row.id) == principal.subject and (body.disabled or (body.role not in (None, "clinic_admin"))):
        raise http_error(409, "you cannot disable your own login or remove your own administrator role")
    updated = await users_repo.update_user(
        conn,
        row.id,
        display_name=body.display_name,
        role=body.role,
        password_hash=await asyncio.to_thread(hash_password, body.password) if body.password is not None else None,
        disabled=body.disabled,
    )
    assert updated is not None
    fields = sorted(k for k, v in body.model_dump().items() if v is not None)
    await audit_action(conn, principal, "update_user", detail={"user": str(user_id), "fields": fields})
    await conn.commit()
    return public(updated)
