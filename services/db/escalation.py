"""What the escalation scheduler reads and records besides the alert repository's own ``escalate``.

The escalation itself goes through :func:`services.db.alerts.escalate` (the function the API's manual escalation
uses), by :data:`SYSTEM_ACTOR`. This module finds candidates (with the time each alert reached its current tier,
which ``alerts`` does not keep) and records which hospital-channel escalations were forwarded.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import class_row

from services.db.alerts import Actor

# A fixed identity for automatic escalations (alert_events.actor); not a login, so it can never authenticate.
SYSTEM_ACTOR: Final = Actor(
    id=uuid.uuid5(uuid.NAMESPACE_URL, "http://cardiorehab.example/actor/escalation-scheduler"),
    name="automatic escalation",
    role="system",
)
ESCALATION_LOCK_ID: Final = 0x0CA2D12  # leader election of the scheduler (migrations 0x0CA2D10, retention 0x0CA2D11)


@dataclass(frozen=True)
class EscalationCandidate:
    alert_id: str
    patient_id: str
    clinic_id: str
    tier: str
    state: str
    acknowledged_at: datetime | None
    snoozed_until: datetime | None
    escalation_level: int
    escalated_at: datetime | None
    raised_at: datetime
    tier_since: datetime


_CANDIDATE = (
    "SELECT a.alert_id, a.patient_id, p.clinic_id, a.tier, a.state, a.acknowledged_at, a.snoozed_until, "
    "a.escalation_level, a.escalated_at, a.raised_at, "
    "COALESCE((SELECT min(e.at) FROM alert_events e WHERE e.alert_id = a.alert_id AND e.revision IS NOT NULL "
    "AND e.tier = a.tier), a.raised_at) AS tier_since "
    "FROM alerts a JOIN patients p ON p.id = a.patient_id "
)


async def candidates(conn: AsyncConnection, *, below_level: int, limit: int = 1000) -> list[EscalationCandidate]:
    """Active, unacknowledged nurse/urgent alerts below ``below_level``."""
    async with conn.cursor(row_factory=class_row(EscalationCandidate)) as cur:
        await cur.execute(
            _CANDIDATE + "WHERE a.state = 'active' AND a.acknowledged_at IS NULL AND a.tier IN ('nurse', 'urgent') "
            "AND a.escalation_level < %s ORDER BY a.raised_at LIMIT %s",
            (below_level, limit),
        )
        return await cur.fetchall()


async def candidate(conn: AsyncConnection, alert_id: str) -> EscalationCandidate | None:
    """One alert's facts (call after locking its row with ``alerts.alert_by_id(..., for_update=True)``)."""
    async with conn.cursor(row_factory=class_row(EscalationCandidate)) as cur:
        await cur.execute(_CANDIDATE + "WHERE a.alert_id = %s", (alert_id,))
        return await cur.fetchone()


async def clinic_hospital_settings(
    conn: AsyncConnection, clinic_ids: Collection[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per clinic, the settings of the enabled hospitals serving it, each with ``"_channels"``: how many endpoints
    (MLLP or a live alert subscription) could carry a hospital-channel escalation."""
    cur = await conn.execute(
        "SELECT c.clinic_id, h.settings || jsonb_build_object('_channels', "
        "(SELECT count(*) FROM hospital_endpoints e WHERE e.hospital_id = h.id AND e.channel = 'mllp') + "
        "(SELECT count(*) FROM fhir_subscriptions s WHERE s.hospital_id = h.id AND s.status <> 'off')) "
        "FROM hospital_clinics c JOIN hospitals h ON h.id = c.hospital_id AND h.enabled "
        "WHERE c.clinic_id = ANY(%s) ORDER BY c.clinic_id, h.id",
        (sorted(set(clinic_ids)),),
    )
    result: dict[str, list[dict[str, Any]]] = {}
    for clinic_id, settings in await cur.fetchall():
        result.setdefault(str(clinic_id), []).append(dict(settings))
    return result


async def unforwarded(conn: AsyncConnection, *, min_level: int, limit: int = 200) -> list[tuple[str, int]]:
    """Active alerts escalated (by anyone) to at least ``min_level`` whose escalation was not forwarded yet."""
    cur = await conn.execute(
        "SELECT a.alert_id, a.escalation_level FROM alerts a WHERE a.state = 'active' AND a.escalation_level >= %s "
        "AND NOT EXISTS (SELECT 1 FROM alert_escalation_forwards f WHERE f.alert_id = a.alert_id "
        "AND f.level = a.escalation_level) ORDER BY a.escalated_at LIMIT %s",
        (min_level, limit),
    )
    return [(str(a), int(level)) for a, level in await cur.fetchall()]


async def record_forward(conn: AsyncConnection, alert_id: str, level: int, messages: int) -> bool:
    """Mark an escalation as forwarded; False if it already was (another replica, or a replay)."""
    cur = await conn.execute(
        "INSERT INTO alert_escalation_forwards (alert_id, level, messages) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (alert_id, level, messages),
    )
    return cur.rowcount == 1


async def try_leadership(conn: AsyncConnection) -> bool:
    """Session-level advisory lock on the scheduler's connection: held until it is released or the session ends."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (ESCALATION_LOCK_ID,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def release_leadership(conn: AsyncConnection) -> None:
    await conn.execute("SELECT pg_advisory_unlock(%s)", (ESCALATION_LOCK_ID,))
