"""``/api/v1/live``: the authenticated live feed (a snapshot, then deltas; resumable). See docs/api.md.

Protocol (JSON text frames):

1. client → ``{"type": "auth", "token": "<access token>"}`` within ``ws_auth_timeout_s``
2. client → ``{"type": "subscribe", "patient_id": "..."}`` or ``{"type": "subscribe", "scope": "clinic"}``,
   optionally with ``"resume": "<cursor of the last frame received>"``
3. server → ``{"type": "snapshot", "cursor", "events"}`` (latest features, active alerts and recent sessions), or,
   when resuming, ``{"type": "resume", "cursor", "events"}`` with exactly the events missed; if the cursor is too
   old, ``{"type": "gap", "detail"}`` followed by a snapshot
4. server → ``{"type": "delta", "cursor", "events"}`` frames

Close codes: 4401 not authenticated, 4403 not allowed, 4400 bad message, 4008 client too slow (reconnect and resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from psycopg_pool import AsyncConnectionPool

from ingest.wire import encode
from services.api.auditing import audit_action
from services.api.deps import authenticate
from services.api.settings import ApiSettings
from services.auth.permissions import Action, allowed
from services.auth.principal import Principal
from services.db import alerts as alerts_repo
from services.db import patients as patients_repo
from services.db import sessions as sessions_repo
from services.live.cursor import decode_cursor
from services.live.events import alert_state, dt_ns, session_state
from services.live.hub import LiveEvent, LiveHub, Subscription, frame

router = APIRouter(tags=["live"])


async def _receive_json(ws: WebSocket, timeout_s: float) -> dict[str, Any]:
    """The next client message as a JSON object (text or UTF-8 binary frames); ValueError says what is wrong."""
    async with asyncio.timeout(timeout_s):
        received = await ws.receive()
    if received.get("type") == "websocket.disconnect":
        raise WebSocketDisconnect(int(received.get("code") or 1000))
    text = received.get("text")
    if text is None:
        try:
            text = bytes(received.get("bytes") or b"").decode()
        except UnicodeDecodeError as exc:
            raise ValueError("messages must be UTF-8 JSON") from exc
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
            if not allowed(principal.role, Action.LIVE_PATIENT):
                raise PermissionError(f"role {principal.role!r} may not follow patients live")
            pid = str(request["patient_id"])
            patient = await patients_repo.patient_by_id(conn, pid)
            if patient is None or not principal.may_read_patient(patient.id, patient.clinic_id):
                raise PermissionError(f"no patient {pid[:64]!r} visible to you")
            allowed_ids = {patient.id}
            clinic = patient.clinic_id
        elif request.get("scope") == "clinic":
            if not allowed(principal.role, Action.LIVE_CLINIC):
                raise PermissionError("only clinicians and integrations may follow a whole clinic")
            allowed_ids = {p.id for p in await patients_repo.patients_of_clinic(conn, principal.clinic_id)}
            clinic = principal.clinic_id
        else:
            raise ValueError('subscribe needs "patient_id" or "scope": "clinic"')
        await audit_action(
            conn,
            principal,
            "live_subscribe",
            patient_id=str(request["patient_id"]) if "patient_id" in request else None,
            clinic_id=clinic,
            detail={"patients": len(allowed_ids), "resume": "resume" in request},
        )
        await conn.commit()
    return allowed_ids


async def _stored_state(pool: AsyncConnectionPool, patients: set[str], session_hours: float) -> list[LiveEvent]:
    """Active alerts (with their shared acknowledgement/snooze state) and recent sessions, from the database."""
    since = datetime.now(UTC) - timedelta(hours=session_hours)
    async with pool.connection() as conn:
        alerts = await alerts_repo.active_alerts(conn, patients)
        sessions = await sessions_repo.latest_sessions(conn, patients, since)
        await conn.rollback()
    events = [
        LiveEvent(
            f"db:alert:{a.alert_id}",
            "alert_state",
            a.patient_id,
            encode(alert_state(a, "snapshot")),
            (dt_ns(a.updated_at) or 0) // 1_000_000,
        )
        for a in alerts
    ]
    events += [
        LiveEvent(
            f"db:session:{s.session_id}",
            "session_state",
            s.patient_id,
            msgspec.json.encode(session_state(s)),
            (dt_ns(s.updated_at) or 0) // 1_000_000,
        )
        for s in sessions
    ]
    return events


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
        resume = decode_cursor(request["resume"]) if request.get("resume") is not None else None
        allowed_ids = await _allowed_patients(pool, principal, request)
    except (TimeoutError, ValueError) as exc:  # CursorError is a ValueError
        with contextlib.suppress(Exception):
            await ws.close(4400, str(exc)[:120] or "timed out waiting for auth/subscribe")
        return
    except PermissionError as exc:
        await ws.close(4403, str(exc)[:120])
        return
    except WebSocketDisconnect:
        return

    may_see = allowed_ids.__contains__
    sub: Subscription | None = None
    try:
        resumed = hub.resume(may_see, resume) if resume is not None else None
        if resumed is not None:
            sub, missed, cursor = resumed
            await ws.send_text(frame("resume", missed, cursor=cursor).decode())
        else:
            if resume is not None:
                gap = {
                    "type": "gap",
                    "detail": "resume cursor is older than the replay buffer; reload history over "
                    "REST (a fresh snapshot follows)",
                }
                await ws.send_text(json.dumps(gap))
            sub = hub.subscribe(may_see)
            cursor = hub.cursor()
            features = hub.snapshot(may_see)
            stored = await _stored_state(pool, allowed_ids, settings.live_snapshot_session_hours)
            await ws.send_text(frame("snapshot", [*features, *stored], cursor=cursor).decode())
        await _pump(ws, sub)
    except WebSocketDisconnect:
        pass
    finally:
        if sub is not None:
            hub.unsubscribe(sub)


async def _pump(ws: WebSocket, sub: Subscription) -> None:
    """Send the subscription's frames until the client leaves, is too slow, or the hub stops.

    One awaited ``queue.get`` per frame (no helper tasks per frame: with hundreds of clients that overhead
    dominates); a reader task notices the client closing and cancels this loop.
    """
    sender = asyncio.current_task()
    assert sender is not None
    reader = asyncio.create_task(_drain_client(ws))

    def client_left(_done: asyncio.Task[None]) -> None:
        sender.cancel()

    reader.add_done_callback(client_left)
    try:
        while True:
            delivery = await sub.queue.get()
            if delivery is None:
                if sub.overrun:
                    await ws.close(4008, "client too slow; reconnect with the last cursor to resume")
                else:
                    await ws.close(1012, "service restarting; reconnect with the last cursor to resume")
                return
            await ws.send_text(delivery.text)
    except asyncio.CancelledError:
        if not reader.done():
            raise
        sender.uncancel()  # the client left: a normal end, not a cancellation of the server
    finally:
        reader.remove_done_callback(client_left)
        reader.cancel()


async def _drain_client(ws: WebSocket) -> None:
    """Read (and ignore) client messages so that a close from the client is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()
