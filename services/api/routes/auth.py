"""OAuth2 password login, refresh-token rotation and ``/me``."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import ConnDep, CurrentPrincipal, SettingsDep
from services.api.problems import http_error, responses
from services.api.ratelimit import LoginLimiter
from services.auth.passwords import verify_password
from services.auth.principal import Principal
from services.auth.tokens import hash_opaque_token, issue_access_token, new_refresh_token
from services.db import audit, users

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=responses())


class TokenPublic(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    role: str
    clinic_id: str
    patient_id: str | None
    display_name: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class MePublic(BaseModel):
    subject: str
    role: str
    clinic_id: str
    patient_id: str | None
    display_name: str


def _principal(user: users.UserRow) -> Principal:
    return Principal(
        subject=str(user.id),
        role=user.role,  # type: ignore[arg-type]
        clinic_id=user.clinic_id,
        patient_id=user.patient_id,
        display_name=user.display_name,
    )


async def _issue(conn: ConnDep, settings: SettingsDep, user: users.UserRow) -> TokenPublic:
    principal = _principal(user)
    access = issue_access_token(
        principal,
        secret=settings.jwt_secret.get_secret_value(),
        ttl_s=settings.access_token_ttl_s,
        now_s=int(time.time()),
    )
    refresh, refresh_hash = new_refresh_token()
    expires = datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_s)
    await users.store_refresh_token(conn, refresh_hash, user.id, expires)
    return TokenPublic(
        access_token=access.token,
        refresh_token=refresh,
        expires_in=access.expires_in_s,
        role=user.role,
        clinic_id=user.clinic_id,
        patient_id=user.patient_id,
        display_name=user.display_name,
    )


@router.post("/token", summary="Log in with username and password (OAuth2 password flow)", responses=responses(429))
async def login(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    username: Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[^\x00]+$")],
    password: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenPublic:
    limiter: LoginLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    retry_after = limiter.check(f"{client}|{username.lower()}")
    if retry_after:
        raise http_error(429, f"too many login attempts; retry in {retry_after} s", {"Retry-After": str(retry_after)})
    user = await users.user_by_username(conn, username.lower())
    # Argon2 takes tens of milliseconds of CPU: off the event loop, so live websockets keep flowing.
    verified = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if not verified or user is None:
        limiter.failure(f"{client}|{username.lower()}")
        raise http_error(401, "wrong username or password", {"WWW-Authenticate": "Bearer"})
    if user.disabled_at is not None:
        raise http_error(403, "this account is disabled; ask your clinic administrator")
    token = await _issue(conn, settings, user)
    await audit.record(conn, actor=str(user.id), actor_role=user.role, action="login", clinic_id=user.clinic_id)
    await conn.commit()
    return token


@router.post("/refresh", summary="Exchange a refresh token for new tokens (the old one stops working)")
async def refresh(body: RefreshRequest, conn: ConnDep, settings: SettingsDep) -> TokenPublic:
    new_token, new_hash = new_refresh_token()
    user_id = await users.consume_refresh_token(conn, hash_opaque_token(body.refresh_token), new_hash)
    if user_id is None:
        raise http_error(401, "refresh token unknown, expired or already used; log in again")
    user = await users.user_by_id(conn, user_id)
    if user is None or user.disabled_at is not None:
        raise http_error(401, "account no longer active")
    principal = _principal(user)
    access = issue_access_token(
        principal,
        secret=settings.jwt_secret.get_secret_value(),
        ttl_s=settings.access_token_ttl_s,
        now_s=int(time.time()),
    )
    expires = datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_s)
    await users.store_refresh_token(conn, new_hash, user.id, expires)
    await conn.commit()
    return TokenPublic(
        access_token=access.token,
        refresh_token=new_token,
        expires_in=access.expires_in_s,
        role=user.role,
        clinic_id=user.clinic_id,
        patient_id=user.patient_id,
        display_name=user.display_name,
    )


@router.get("/me", summary="Who am I?")
async def me(principal: CurrentPrincipal) -> MePublic:
    return MePublic(
        subject=principal.subject,
        role=principal.role,
        clinic_id=principal.clinic_id,
        patient_id=principal.patient_id,
        display_name=principal.display_name,
    )
