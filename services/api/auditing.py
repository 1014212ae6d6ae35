"""Audit records for every read of patient data and every change, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from services.auth.principal import Principal
from services.db import audit


async def audit_action(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    *,
    patient_id: str | None = None,
    clinic_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        conn,
        actor=principal.subject,
        actor_role=principal.role,
        action=action,
        patient_id=patient_id,
        clinic_id=clinic_id or principal.clinic_id,
        detail=detail,
    )
