"""Dependencies routes declare with ``Annotated`` aliases: the connection, the caller, the settings, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from ingest.producer import EventProducer
from services.api.problems import http_error
from services.api.settings import ApiSettings
from services.auth.device_tokens import is_device_token
from services.auth.permissions import Action, allowed, roles_for
from services.auth.principal import Principal
from services.auth.tokens import TokenError, hash_opaque_token, verify_access_token
from services.db import devices as devices_repo
from services.db import patients as patients_repo
from services.live.hub import LiveHub

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
device_scheme = HTTPBearer(
    scheme_name="DeviceToken",
    description="a device token (cdt_...) from POST /api/v1/devices/{id}/tokens",
    auto_error=False,
)

MAX_PAGE = 500  # documented maximum of every `limit`
MAX_OFFSET = 100_000


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


def get_hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.hub
    return hub


def get_producer(request: Request) -> EventProducer:
    producer: EventProducer = request.app.state.producer
    return producer


async def get_conn(pool: Annotated[AsyncConnectionPool, Depends(get_pool)]) -> AsyncIterator[AsyncConnection]:
    async with pool.connection() as conn:
        yield conn


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
HubDep = Annotated[LiveHub, Depends(get_hub)]
ProducerDep = Annotated[EventProducer, Depends(get_producer)]


def authenticate(token: str | None, settings: ApiSettings) -> Principal:
    if not token:
        raise http_error(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    if is_device_token(token):
        raise http_error(
            403, "device tokens may only post readings to /api/v1/devices/{device_id}/readings; log in as a user"
        )
    try:
        return verify_access_token(token, secret=settings.jwt_secret.get_secret_value())
    except TokenError as exc:
        raise http_error(401, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc


async def current_principal(settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    return authenticate(token, settings)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only the roles :data:`~services.auth.permissions.PERMISSIONS` allows."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not allowed(principal.role, action):
            raise http_error(
                403, f"role {principal.role!r} may not {action.value} (allowed: {', '.join(roles_for(action))})"
            )
        return principal

    return dependency


async def current_clinician(principal: CurrentPrincipal) -> Principal:
    if not principal.is_clinician:
        raise http_error(403, f"role {principal.role!r} may not use this endpoint; clinicians only")
    return principal


CurrentClinician = Annotated[Principal, Depends(current_clinician)]
ClinicReader = Annotated[Principal, Depends(require(Action.CLINIC_READ))]
ClinicWriter = Annotated[Principal, Depends(require(Action.CLINIC_WRITE))]
StaffReader = Annotated[Principal, Depends(require(Action.STAFF_READ))]
StaffWriter = Annotated[Principal, Depends(require(Action.STAFF_WRITE))]
PatientReader = Annotated[Principal, Depends(require(Action.PATIENT_READ))]
PatientWriter = Annotated[Principal, Depends(require(Action.PATIENT_WRITE))]
PatientArchiver = Annotated[Principal, Depends(require(Action.PATIENT_ARCHIVE))]
DeviceReader = Annotated[Principal, Depends(require(Action.DEVICE_READ))]
DeviceManager = Annotated[Principal, Depends(require(Action.DEVICE_MANAGE))]
PrescriptionReader = Annotated[Principal, Depends(require(Action.PRESCRIPTION_READ))]
PrescriptionWriter = Annotated[Principal, Depends(require(Action.PRESCRIPTION_WRITE))]
HistoryReader = Annotated[Principal, Depends(require(Action.HISTORY_READ))]
SessionReader = Annotated[Principal, Depends(require(Action.SESSION_READ))]
AlertReader = Annotated[Principal, Depends(require(Action.ALERT_READ))]
AlertActor = Annotated[Principal, Depends(require(Action.ALERT_ACT))]
EntryReader = Annotated[Principal, Depends(require(Action.ENTRY_READ))]
EntryWriter = Annotated[Principal, Depends(require(Action.ENTRY_WRITE))]


async def current_device(
    conn: ConnDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(device_scheme)]
) -> devices_repo.DeviceCredential:
    """The device a device token belongs to (checked against the database on every call)."""
    if credentials is None or not credentials.credentials:
        raise http_error(401, "missing device token (Authorization: Bearer cdt_...)", {"WWW-Authenticate": "Bearer"})
    token = credentials.credentials
    if not is_device_token(token):
        raise http_error(
            403, "this endpoint takes a device token (POST /api/v1/devices/{device_id}/tokens), not a user token"
        )
    credential = await devices_repo.credential_by_hash(conn, hash_opaque_token(token))
    if credential is None:
        raise http_error(
            401, "device token unknown, expired or revoked, or its device was retired", {"WWW-Authenticate": "Bearer"}
        )
    return credential


CurrentDevice = Annotated[devices_repo.DeviceCredential, Depends(current_device)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def pagination(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"items per page (at most {MAX_PAGE})")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> Page:
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(pagination)]


async def visible_patient(conn: AsyncConnection, principal: Principal, patient_id: str) -> patients_repo.PatientRow:
    """The (non-archived) patient, if the caller may see them; 404 otherwise (not 403, so ids cannot be probed)."""
    patient = await patients_repo.patient_by_id(conn, patient_id)
    if patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
        raise http_error(404, f"no patient {patient_id!r} visible to you")
    return patient


def link_next(request: Request, page: Page, returned: int) -> dict[str, str]:
    """A ``Link: <...>; rel="next"`` header when the page was full (there may be more)."""
    if returned < page.limit or page.offset + page.limit > MAX_OFFSET:
        return {}
    url = request.url.include_query_params(limit=page.limit, offset=page.offset + page.limit)
    return {"Link": f'<{url}>; rel="next"'}
