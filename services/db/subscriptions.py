"""FHIR topic-based subscriptions (R5 Backport IG on R4): one live subscription per hospital and topic, its status,
event counter and last notification. The counter is advanced only under the row's lock by whoever enqueues events.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row

_COLUMNS = (
    "s.id, s.hospital_id, s.topic, s.status, s.endpoint, s.content, s.heartbeat_period_s, s.timeout_s, "
    "s.filter_criteria, s.headers, s.reason, s.end_at, s.events_since_start, s.last_notification_at, "
    "s.consecutive_failures, s.last_error, s.created_by, s.created_at, s.updated_at"
)


@dataclass(frozen=True)
class SubscriptionRow:
    id: str
    hospital_id: str
    topic: str
    status: str
    endpoint: str
    content: str
    heartbeat_period_s: int | None
    timeout_s: int | None
    filter_criteria: list[str]
    headers: list[str]
    reason: str
    end_at: datetime | None
    events_since_start: int
    last_notification_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


async def create_subscription(
    conn: AsyncConnection,
    *,
    subscription_id: str,
    hospital_id: str,
    topic: str,
    endpoint: str,
    content: str,
    heartbeat_period_s: int | None,
    timeout_s: int | None,
    filter_criteria: Sequence[str],
    headers: Sequence[str],
    reason: str,
    end_at: datetime | None,
    created_by: UUID | None,
) -> list[str]:
    """Insert a ``requested`` subscription; the hospital's live one on the same topic is turned off (returned)."""
    cur = await conn.execute(
        "UPDATE fhir_subscriptions SET status = 'off', updated_at = now() "
        "WHERE hospital_id = %s AND topic = %s AND status <> 'off' RETURNING id",
        (hospital_id, topic),
    )
    replaced = [str(r[0]) for r in await cur.fetchall()]
    await conn.execute(
        "INSERT INTO fhir_subscriptions (id, hospital_id, topic, status, endpoint, content, heartbeat_period_s, "
        "timeout_s, filter_criteria, headers, reason, end_at, created_by) "
        "VALUES (%s, %s, %s, 'requested', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            subscription_id,
            hospital_id,
            topic,
            endpoint,
            content,
            heartbeat_period_s,
            timeout_s,
            list(filter_criteria),
            list(headers),
            reason,
            end_at,
            created_by,
        ),
    )
    return replaced


async def subscription_by_id(conn: AsyncConnection, subscription_id: str) -> SubscriptionRow | None:
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM fhir_subscriptions s WHERE s.id = %s",  # noqa: S608 - constant column list
            (subscription_id,),
        )
        return await cur.fetchone()


async def subscriptions_of_clinic(
    conn: AsyncConnection, clinic_id: str, *, limit: int, offset: int
) -> list[SubscriptionRow]:
    """Subscriptions of the hospitals serving a clinic, newest first."""
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM fhir_subscriptions s JOIN hospital_clinics c ON c.hospital_id = s.hospital_id "  # noqa: S608
            "WHERE c.clinic_id = %s ORDER BY s.created_at DESC, s.id LIMIT %s OFFSET %s",
            (clinic_id, limit, offset),
        )
        return await cur.fetchall()


async def subscriptions_of_hospital(conn: AsyncConnection, hospital_id: str) -> list[SubscriptionRow]:
    """A hospital's live subscriptions and its ten most recent ones that were turned off."""
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"(SELECT {_COLUMNS} FROM fhir_subscriptions s WHERE s.hospital_id = %s AND s.status <> 'off') UNION ALL "  # noqa: S608
            f"(SELECT {_COLUMNS} FROM fhir_subscriptions s WHERE s.hospital_id = %s AND s.status = 'off' "
            "ORDER BY s.updated_at DESC LIMIT 10) ORDER BY created_at DESC",
            (hospital_id, hospital_id),
        )
        return await cur.fetchall()


async def subscription_visible_to_clinic(conn: AsyncConnection, subscription_id: str, clinic_id: str) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM fhir_subscriptions s JOIN hospital_clinics c ON c.hospital_id = s.hospital_id "
        "WHERE s.id = %s AND c.clinic_id = %s",
        (subscription_id, clinic_id),
    )
    return await cur.fetchone() is not None


async def lock_for_numbering(conn: AsyncConnection, subscription_ids: Collection[str]) -> dict[str, SubscriptionRow]:
    """Lock subscriptions (in id order, so concurrent enqueuers never deadlock) to number their next events."""
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM fhir_subscriptions s WHERE s.id = ANY(%s) ORDER BY s.id FOR UPDATE",  # noqa: S608
            (sorted(subscription_ids),),
        )
        return {row.id: row for row in await cur.fetchall()}


async def set_events_since_start(conn: AsyncConnection, subscription_id: str, events_since_start: int) -> None:
    await conn.execute(
        "UPDATE fhir_subscriptions SET events_since_start = %s, updated_at = now() WHERE id = %s",
        (events_since_start, subscription_id),
    )


async def record_notification(
    conn: AsyncConnection, subscription_id: str, *, ok: bool, handshake: bool, error: str | None
) -> None:
    """After a delivery attempt: a success (any notification type) makes a requested (after its handshake) or
    erroring subscription active; a failure puts it in ``error``. An ``off`` subscription stays off."""
    if ok:
        await conn.execute(
            "UPDATE fhir_subscriptions SET last_notification_at = now(), consecutive_failures = 0, last_error = NULL, "
            "status = CASE WHEN status = 'error' OR (status = 'requested' AND %s) THEN 'active' ELSE status END, "
            "updated_at = now() WHERE id = %s",
            (handshake, subscription_id),
        )
    else:
        await conn.execute(
            "UPDATE fhir_subscriptions SET consecutive_failures = consecutive_failures + 1, last_error = %s, "
            "status = CASE WHEN status = 'off' THEN 'off' ELSE 'error' END, updated_at = now() WHERE id = %s",
            (error, subscription_id),
        )


async def turn_off(conn: AsyncConnection, subscription_id: str) -> None:
    await conn.execute(
        "UPDATE fhir_subscriptions SET status = 'off', updated_at = now() WHERE id = %s", (subscription_id,)
    )


async def due_heartbeats(conn: AsyncConnection, *, limit: int = 100) -> list[SubscriptionRow]:
    """Active subscriptions with a heartbeat period, nothing sent for a period, and no message waiting."""
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM fhir_subscriptions s JOIN hospitals h ON h.id = s.hospital_id AND h.enabled "  # noqa: S608
            "WHERE s.status = 'active' AND s.heartbeat_period_s IS NOT NULL "
            "AND (s.last_notification_at IS NULL "
            "     OR s.last_notification_at + make_interval(secs => s.heartbeat_period_s) <= now()) "
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ordering_key = 'fhir:' || s.id AND o.state = 'pending') "
            "ORDER BY s.last_notification_at NULLS FIRST LIMIT %s",
            (limit,),
        )
        return await cur.fetchall()
