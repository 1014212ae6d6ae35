"""Dependencies routes declare with ``Annotated`` aliases: the connection, the caller, the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from services.api.problems import http_error
from services.api.settings import ApiSettings
from services.auth.principal import Principal
from services.auth.tokens import TokenError, verify_access_token
from services.live.hub import LiveHub

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


def get_hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.hub
    return hub


async def get_conn(pool: Annotated[AsyncConnectionPool, Depends(get_pool)]) -> AsyncIterator[AsyncConnection]:
    async with pool.connection() as conn:
        yield conn


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
HubDep = Annotated[LiveHub, Depends(get_hub)]


def authenticate(token: str | None, settings: ApiSettings) -> Principal:
    if not token:
        raise http_error(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        return verify_access_token(token, secret=settings.jwt_secret.get_secret_value())
    except TokenError as exc:
        raise http_error(401, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc


async def current_principal(settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    return authenticate(token, settings)


async def current_clinician(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_clinician:
        raise http_error(403, f"role {principal.role!r} may not use this endpoint; clinicians only")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentClinician = Annotated[Principal, Depends(current_clinician)]
