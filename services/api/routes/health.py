"""``/healthz``: liveness and readiness for load balancers. Public by design; it reveals no patient data."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.api.deps import ConnDep, HubDep

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok"]
    live: Literal["ok", "down"]


@router.get(
    "/healthz",
    summary="Is the API up and can it reach the database and Kafka?",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "degraded: the live feed is down"}},
)
async def healthz(conn: ConnDep, hub: HubDep) -> JSONResponse:
    await conn.execute("SELECT 1")
    await conn.rollback()
    ok = hub.running
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": "ok", "live": "ok" if ok else "down"},
        status_code=200 if ok else 503,
    )
