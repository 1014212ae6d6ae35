"""The audit log: every read of patient data and every change, with who did it."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    actor_role: str,
    action: str,
    patient_id: str | None = None,
    clinic_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, actor_role, action, patient_id, clinic_id, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (actor, actor_role, action, patient_id, clinic_id, Jsonb(detail or {})),
    )
