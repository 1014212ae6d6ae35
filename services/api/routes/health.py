"""``/healthz``: liveness and readiness for load balancers. Public by design; it reveals no patient data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import ConnDep, HubDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Is the API up and can it reach the database and Kafka?")
async def healthz(conn: ConnDep, hub: HubDep) -> JSONResponse:
    await conn.execute("SELECT 1")
    ok = hub.running
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": "ok", "live": "ok" if ok else "down"},
        status_code=200 if ok else 503,
    )
