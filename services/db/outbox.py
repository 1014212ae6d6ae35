"""The transactional outbox: rows written in the transaction that stores their source, delivered by the dispatcher.

Two advisory-lock classes (two-key form: class, ``hashtext(ordering_key)``):

- :data:`ENQUEUE_LOCK_CLASS`, taken with ``pg_advisory_xact_lock`` by every enqueuer for each ordering key it
  writes, in key order, until its transaction ends. Writers of one key therefore commit in the order they took
  their ids, so a row never becomes visible after a row of the same key with a higher id was already delivered.
- :data:`DELIVERY_LOCK_CLASS`, taken with ``pg_try_advisory_xact_lock`` by a dispatcher for the ordering key it
  delivers; another replica skips that key. Held only by the delivering transaction, so a dispatcher that dies
  releases it with its connection and another replica resends (same message id).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

ENQUEUE_LOCK_CLASS: Final = 0x0CA2E1
DELIVERY_LOCK_CLASS: Final = 0x0CA2E2


@dataclass(frozen=True)
class OutboxInsert:
    hospital_id: str
    channel: str
    message_id: str
    kind: str
    ordering_key: str
    source_key: str
    content_type: str
    payload: bytes
    patient_id: str | None = None
    alert_id: str | None = None
    revision: int | None = None
    session_id: str | None = None
    subscription_id: str | None = None
    event_number: int | None = None
    escalation_level: int | None = None
    state: str = "pending"
    last_error: str | None = None


_INSERT_COLUMNS: Final = (
    "hospital_id",
    "channel",
    "message_id",
    "kind",
    "ordering_key",
    "source_key",
    "content_type",
    "payload",
    "patient_id",
    "alert_id",
    "revision",
    "session_id",
    "subscription_id",
    "event_number",
    "escalation_level",
    "state",
    "last_error",
)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    hospital_id: str
    channel: str
    message_id: str
    kind: str
    ordering_key: str
    patient_id: str | None
    alert_id: str | None
    revision: int | None
    session_id: str | None
    subscription_id: str | None
    event_number: int | None
    escalation_level: int | None
    source_key: str
    content_type: str
    payload: bytes
    state: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None
    ack_code: str | None
    delivered_at: datetime | None
    delivered_by: str | None
    created_at: datetime


_ROW_COLUMNS: Final = sql.SQL(", ").join(
    sql.SQL("o.{}").format(sql.Identifier(name)) for name in OutboxRow.__dataclass_fields__
)


@dataclass(frozen=True)
class DeliveryRow:
    """An outbox row as the delivery-state API shows it (no payload)."""

    id: int
    hospital_id: str
    channel: str
    message_id: str
    kind: str
    patient_id: str | None
    alert_id: str | None
    revision: int | None
    session_id: str | None
    subscription_id: str | None
    event_number: int | None
    escalation_level: int | None
    state: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None
    ack_code: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload_bytes: int


_DELIVERY_COLUMNS: Final = sql.SQL(", ").join(
    [
        *(
            sql.SQL("o.{}").format(sql.Identifier(name))
            for name in DeliveryRow.__dataclass_fields__
            if name != "payload_bytes"
        ),
        sql.SQL("octet_length(o.payload) AS payload_bytes"),
    ]
)


@dataclass(frozen=True)
class HeadRef:
    ordering_key: str
    hospital_id: str
    channel: str
    id: int


async def lock_keys_for_enqueue(conn: AsyncConnection, keys: Collection[str]) -> None:
    """Serialise enqueuers per ordering key until this transaction ends (in key order: no deadlocks)."""
    for key in sorted(set(keys)):
        await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (ENQUEUE_LOCK_CLASS, key))


async def existing_message_ids(
    conn: AsyncConnection, keys: Collection[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which of these (hospital, channel, message id) are already queued."""
    if not keys:
        return set()
    hospitals, channels, ids = (list(column) for column in zip(*keys, strict=True))
    cur = await conn.execute(
        "SELECT o.hospital_id, o.channel, o.message_id FROM outbox o "
        "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(h, c, m) "
        "ON o.hospital_id = k.h AND o.channel = k.c AND o.message_id = k.m",
        (hospitals, channels, ids),
    )
    return {(str(h), str(c), str(m)) for h, c, m in await cur.fetchall()}


async def insert(conn: AsyncConnection, rows: Sequence[OutboxInsert]) -> int:
    """Queue rows (a row whose message id is already queued for its hospital and channel is skipped)."""
    if not rows:
        return 0
    statement = sql.SQL(
        "INSERT INTO outbox ({cols}) VALUES ({values}) ON CONFLICT (hospital_id, channel, message_id) DO NOTHING"
    ).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, _INSERT_COLUMNS)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(_INSERT_COLUMNS)),
    )
    async with conn.cursor() as cur:
        await cur.executemany(statement, [tuple(getattr(r, c) for c in _INSERT_COLUMNS) for r in rows])
        return max(cur.rowcount, 0)


async def due_heads(conn: AsyncConnection, *, limit: int) -> list[HeadRef]:
    """The first pending message of each ordering key whose next attempt is due, oldest first."""
    async with conn.cursor(row_factory=class_row(HeadRef)) as cur:
        await cur.execute(
            "SELECT h.ordering_key, h.hospital_id, h.channel, h.id FROM ("
            " SELECT DISTINCT ON (o.ordering_key) o.ordering_key, o.hospital_id, o.channel, o.id, o.next_attempt_at"
            " FROM outbox o WHERE o.state = 'pending' ORDER BY o.ordering_key, o.id) h "
            "JOIN hospitals ON hospitals.id = h.hospital_id AND hospitals.enabled "
            "WHERE h.next_attempt_at <= now() ORDER BY h.id LIMIT %s",
            (limit,),
        )
        return await cur.fetchall()


async def try_lock_for_delivery(conn: AsyncConnection, ordering_key: str) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", (DELIVERY_LOCK_CLASS, ordering_key))
    row = await cur.fetchone()
    return bool(row and row[0])


async def head(conn: AsyncConnection, ordering_key: str) -> OutboxRow | None:
    """The first pending message of a key (call while holding its delivery lock)."""
    async with conn.cursor(row_factory=class_row(OutboxRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM outbox o WHERE o.ordering_key = %s AND o.state = 'pending' ORDER BY o.id LIMIT 1"
            ).format(_ROW_COLUMNS),
            (ordering_key,),
        )
        return await cur.fetchone()


async def record_attempt(
    conn: AsyncConnection,
    row_id: int,
    *,
    state: str,
    retry_in_s: float | None,
    ack_code: str | None,
    error: str | None,
    by: str,
) -> None:
    """Record one delivery attempt and its outcome."""
    await conn.execute(
        "UPDATE outbox SET state = %(state)s, attempts = attempts + 1, last_attempt_at = now(), "
        "next_attempt_at = CASE WHEN %(retry)s::float8 IS NULL THEN next_attempt_at "
        "ELSE now() + make_interval(secs => %(retry)s::float8) END, "
        "last_error = %(error)s, ack_code = COALESCE(%(ack)s, ack_code), "
        "delivered_at = CASE WHEN %(state)s = 'delivered' THEN now() END, "
        "delivered_by = CASE WHEN %(state)s = 'delivered' THEN %(by)s END WHERE id = %(id)s",
        {"state": state, "retry": retry_in_s, "error": error, "ack": ack_code, "by": by, "id": row_id},
    )


async def note_blocked(conn: AsyncConnection, row_id: int, error: str, retry_in_s: float) -> None:
    """The message was not attempted (its hospital's configuration cannot be used); say why, try again later."""
    await conn.execute(
        "UPDATE outbox SET last_error = %s, next_attempt_at = now() + make_interval(secs => %s::float8) WHERE id = %s",
        (error, retry_in_s, row_id),
    )


_VISIBLE_TO_CLINIC: Final = sql.SQL(
    "(p.clinic_id = %(clinic)s OR (o.patient_id IS NULL AND EXISTS ("
    "SELECT 1 FROM hospital_clinics hc WHERE hc.hospital_id = o.hospital_id AND hc.clinic_id = %(clinic)s)))"
)


async def deliveries(
    conn: AsyncConnection,
    *,
    clinic_id: str,
    alert_id: str | None = None,
    patient_id: str | None = None,
    hospital_id: str | None = None,
    state: str | None = None,
    channel: str | None = None,
    limit: int,
    offset: int,
) -> list[DeliveryRow]:
    """Outbox rows visible to a clinic (its patients' messages, and its hospitals' handshakes), newest first."""
    where: list[sql.Composable] = [_VISIBLE_TO_CLINIC]
    for column, value in (
        ("alert_id", alert_id),
        ("patient_id", patient_id),
        ("hospital_id", hospital_id),
        ("state", state),
        ("channel", channel),
    ):
        if value is not None:
            where.append(sql.SQL("o.{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
    params = {
        "clinic": clinic_id,
        "alert_id": alert_id,
        "patient_id": patient_id,
        "hospital_id": hospital_id,
        "state": state,
        "channel": channel,
        "limit": limit,
        "offset": offset,
    }
    order = sql.SQL("o.id") if alert_id is not None else sql.SQL("o.id DESC")
    async with conn.cursor(row_factory=class_row(DeliveryRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {cols} FROM outbox o LEFT JOIN patients p ON p.id = o.patient_id WHERE {where} "
                "ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s"
            ).format(cols=_DELIVERY_COLUMNS, where=sql.SQL(" AND ").join(where), order=order),
            params,
        )
        return await cur.fetchall()


@dataclass(frozen=True)
class AlertContext:
    """What an alert step's messages need from the stored alert: when it was raised, how far it was escalated."""

    alert_id: str
    raised_at: datetime
    escalation_level: int
    escalated_at: datetime | None


async def alert_contexts(conn: AsyncConnection, alert_ids: Collection[str]) -> dict[str, AlertContext]:
    if not alert_ids:
        return {}
    async with conn.cursor(row_factory=class_row(AlertContext)) as cur:
        await cur.execute(
            "SELECT alert_id, raised_at, escalation_level, escalated_at FROM alerts WHERE alert_id = ANY(%s)",
            (sorted(set(alert_ids)),),
        )
        return {row.alert_id: row for row in await cur.fetchall()}
