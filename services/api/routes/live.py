"""``/api/v1/live``: the authenticated live feed (a snapshot, then deltas).

Protocol (JSON text frames):

1. client → ``{"type": "auth", "token": "<access token>"}`` within ``ws_auth_timeout_s``
2. client → ``{"type": "subscribe", "patient_id": "..."}`` or ``{"type": "subscribe", "scope": "clinic"}``
3. server → ``{"type": "snapshot", "events": [...]}`` then ``{"type": "delta", "events": [...]}`` frames

Close codes: 4401 not authenticated, 4403 not allowed, 4400 bad message, 4008 client too slow (reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from psycopg_pool import AsyncConnectionPool

from services.api.deps import authenticate
from services.api.settings import ApiSettings
from services.auth.principal import Principal
from services.db import audit
from services.db import patients as patients_repo
from services.live.hub import LiveHub, frame

router = APIRouter(tags=["live"])


async def _receive_json(ws: WebSocket, timeout_s: float) -> dict[str, Any]:
    text = await asyncio.wait_for(ws.receive_text(), timeout_s)
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"message is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ValueError("message must be a JSON object")
    return message


async def _allowed_patients(pool: AsyncConnectionPool, principal: Principal, request: dict[str, Any]) -> set[str]:
    async with pool.connection() as conn:
        if "patient_id" in request:
            pid = str(request["patient_id"])
            patient = await patients_repo.patient_by_id(conn, pid)
            if patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
                raise PermissionError(f"no patient {pid!r} visible to you")
            allowed = {patient.id}
            clinic = patient.clinic_id
        elif request.get("scope") == "clinic":
            if not principal.is_clinician and principal.role != "integration":
                raise PermissionError("only clinicians may follow a whole clinic")
            allowed = {p.id for p in await patients_repo.patients_of_clinic(conn, principal.clinic_id)}
            clinic = principal.clinic_id
        else:
            raise ValueError('subscribe needs "patient_id" or "scope": "clinic"')
        await audit.record(
            conn,
            actor=principal.subject,
            actor_role=principal.role,
            action="live_subscribe",
            patient_id=request.get("patient_id"),
            clinic_id=clinic,
            detail={"patients": len(allowed)},
        )
        await conn.commit()
    return allowed


@router.websocket("/api/v1/live")
async def live(ws: WebSocket) -> None:
    settings: ApiSettings = ws.app.state.settings
    hub: LiveHub = ws.app.state.hub
    pool: AsyncConnectionPool = ws.app.state.pool
    await ws.accept()
    try:
        hello = await _receive_json(ws, settings.ws_auth_timeout_s)
        if hello.get("type") != "auth":
            await ws.close(4401, "first message must be {type: auth, token}")
            return
        try:
            principal = authenticate(str(hello.get("token") or ""), settings)
        except Exception:
            await ws.close(4401, "invalid or expired token")
            return
        request = await _receive_json(ws, settings.ws_auth_timeout_s)
        if request.get("type") != "subscribe":
            await ws.close(4400, "expected {type: subscribe}")
            return
        allowed = await _allowed_patients(pool, principal, request)
    except (TimeoutError, ValueError) as exc:
        with contextlib.suppress(Exception):
            await ws.close(4400, str(exc)[:120] or "timed out waiting for auth/subscribe")
        return
    except PermissionError as exc:
        await ws.close(4403, str(exc)[:120])
        return
    except WebSocketDisconnect:
        return

    sub = hub.subscribe(allowed.__contains__)
    try:
        await ws.send_text(frame("snapshot", hub.snapshot(allowed.__contains__)).decode())
        reader = asyncio.create_task(_drain_client(ws))
        while True:
            getter = asyncio.create_task(sub.queue.get())
            closed = asyncio.create_task(sub.closed.wait())
            done, pending = await asyncio.wait({getter, closed, reader}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending - {reader}:
                task.cancel()
            if reader in done:
                break
            if sub.overrun or (closed in done and getter not in done):
                await ws.close(4008, "client too slow; reconnect to resume")
                break
            await ws.send_text(frame("delta", getter.result()).decode())
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(sub)


async def _drain_client(ws: WebSocket) -> None:
    """Read (and ignore) client messages so that a close from the client is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
