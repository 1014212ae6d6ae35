"""Alerts: the engine's lifecycle (from ``alerts.v1`` via the sink) and the clinicians' shared state (API).

``alerts`` holds one row per alert with its current state; ``alert_events`` holds every step, the engine's keyed by
``alert_id:revision`` and the clinicians' (acknowledged, snoozed, snooze_cancelled, escalated) with who did it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row


@dataclass(frozen=True)
class AlertRow:
    alert_id: str
    patient_id: str
    clinic_id: str | None
    session_id: str | None
    rule: str
    tier: str
    state: str
    last_event: str
    revision: int
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    message: str
    value: float | None
    threshold: float | None
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    acknowledged_by_name: str | None
    snoozed_until: datetime | None
    snoozed_at: datetime | None
    snoozed_by: UUID | None
    snoozed_by_name: str | None
    snooze_reason: str | None
    escalation_level: int
    escalated_at: datetime | None
    escalated_by: UUID | None
    escalated_by_name: str | None
    action_seq: int


@dataclass(frozen=True)
class AlertEventRow:
    id: int
    alert_id: str
    kind: str
    revision: int | None
    at: datetime
    tier: str | None
    message: str | None
    value: float | None
    threshold: float | None
    actor: UUID | None
    actor_name: str | None
    actor_role: str | None
    snoozed_until: datetime | None
    escalation_level: int | None
    note: str | None


@dataclass(frozen=True)
class Actor:
    id: UUID
    name: str
    role: str


_ALERT_COLUMNS = (
    "alert_id",
    "patient_id",
    "session_id",
    "rule",
    "tier",
    "state",
    "last_event",
    "revision",
    "raised_at",
    "updated_at",
    "cleared_at",
    "message",
    "value",
    "threshold",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledged_by_name",
    "snoozed_until",
    "snoozed_at",
    "snoozed_by",
    "snoozed_by_name",
    "snooze_reason",
    "escalation_level",
    "escalated_at",
    "escalated_by",
    "escalated_by_name",
    "action_seq",
)
_SELECT = sql.SQL(", ").join(
    [*(sql.SQL("a.{}").format(sql.Identifier(c)) for c in _ALERT_COLUMNS), sql.SQL("p.clinic_id")]
)
_FROM = sql.SQL("alerts a LEFT JOIN patients p ON p.id = a.patient_id")
_EVENT_COLUMNS = sql.SQL(
    "id, alert_id, kind, revision, at, tier, message, value, threshold, actor, actor_name, actor_role, "
    "snoozed_until, escalation_level, note"
)
# The engine's fields of an alert; the clinicians' fields are never written by the sink, except that a rise in
# tier withdraws an acknowledgement and a snooze (they were given for a less urgent alert).
_ENGINE_FIELDS = (
    "patient_id",
    "session_id",
    "rule",
    "tier",
    "state",
    "last_event",
    "revision",
    "raised_at",
    "updated_at",
    "cleared_at",
    "message",
    "value",
    "threshold",
)
_WITHDRAWN_ON_TIER_RISE = (
    "acknowledged_at",
    "acknowledged_by",
    "acknowledged_by_name",
    "snoozed_until",
    "snoozed_at",
    "snoozed_by",
    "snoozed_by_name",
    "snooze_reason",
)


def alerts_from_stage(stage: sql.Identifier) -> sql.Composed:
    """Bring ``alerts`` up to the newest stored revision of every alert in the staging table.

    Runs after the staged engine steps were inserted into ``alert_events``, so it sees every revision ever stored:
    an older revision replayed after a newer one changes nothing, and a replay of the newest is a no-op.
    """
    rise = sql.SQL("alert_tier_rank(EXCLUDED.tier) > alert_tier_rank(alerts.tier)")
    engine = sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _ENGINE_FIELDS)
    withdrawn = sql.SQL(", ").join(
        sql.SQL("{c} = CASE WHEN {rise} THEN NULL ELSE alerts.{c} END").format(c=sql.Identifier(c), rise=rise)
        for c in _WITHDRAWN_ON_TIER_RISE
    )
    return sql.SQL(
        "WITH touched AS (SELECT DISTINCT alert_id FROM {stage}), "
        "steps AS (SELECT e.* FROM alert_events e JOIN touched USING (alert_id) WHERE e.revision IS NOT NULL), "
        "firsts AS (SELECT alert_id, min(at) AS raised_at FROM steps GROUP BY alert_id), "
        "latest AS (SELECT DISTINCT ON (alert_id) * FROM steps ORDER BY alert_id, revision DESC) "
        "INSERT INTO alerts ({engine_names}) "
        "SELECT l.patient_id, l.session_id, COALESCE(l.rule, ''), l.tier, "
        "CASE WHEN l.kind = 'cleared' THEN 'cleared' ELSE 'active' END, l.kind, l.revision, f.raised_at, l.at, "
        "CASE WHEN l.kind = 'cleared' THEN l.at END, COALESCE(l.message, ''), l.value, l.threshold, l.alert_id "
        "FROM latest l JOIN firsts f USING (alert_id) "
        "ON CONFLICT (alert_id) DO UPDATE SET {engine}, {withdrawn}, "
        "action_seq = alerts.action_seq + CASE WHEN {rise} THEN 1 ELSE 0 END "
        "WHERE alerts.revision < EXCLUDED.revision OR alerts.raised_at > EXCLUDED.raised_at"
    ).format(
        stage=stage,
        engine_names=sql.SQL(", ").join(map(sql.Identifier, (*_ENGINE_FIELDS, "alert_id"))),
        engine=engine,
        withdrawn=withdrawn,
        rise=rise,
    )


async def list_alerts(
    conn: AsyncConnection,
    *,
    clinic_id: str,
    patient_id: str | None,
    state: str | None,
    tier: str | None,
    acknowledged: bool | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[AlertRow]:
    """Alerts of one clinic (optionally one patient), newest first."""
    where = [sql.SQL("p.clinic_id = %(clinic)s")]
    if patient_id is not None:
        where.append(sql.SQL("a.patient_id = %(patient)s"))
    if state is not None:
        where.append(sql.SQL("a.state = %(state)s"))
    if tier is not None:
        where.append(sql.SQL("a.tier = %(tier)s"))
    if acknowledged is not None:
        where.append(sql.SQL("(a.acknowledged_at IS NOT NULL) = %(acked)s"))
    if since is not None:
        where.append(sql.SQL("a.raised_at >= %(since)s"))
    if until is not None:
        where.append(sql.SQL("a.raised_at < %(until)s"))
    params = {
        "clinic": clinic_id,
        "patient": patient_id,
        "state": state,
        "tier": tier,
        "acked": acknowledged,
        "since": since,
        "until": until,
        "limit": limit,
        "offset": offset,
    }
    async with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {cols} FROM {src} WHERE {where} ORDER BY a.raised_at DESC, a.alert_id "
                "LIMIT %(limit)s OFFSET %(offset)s"
            ).format(cols=_SELECT, src=_FROM, where=sql.SQL(" AND ").join(where)),
            params,
        )
        return await cur.fetchall()


async def alert_by_id(conn: AsyncConnection, alert_id: str, *, for_update: bool = False) -> AlertRow | None:
    lock = sql.SQL(" FOR UPDATE OF a") if for_update else sql.SQL("")
    async with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM {} WHERE a.alert_id = %s{}").format(_SELECT, _FROM, lock), (alert_id,)
        )
        return await cur.fetchone()


async def active_alerts(conn: AsyncConnection, patient_ids: Collection[str]) -> list[AlertRow]:
    """Every active alert of these patients (the live snapshot)."""
    async with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM {} WHERE a.patient_id = ANY(%s) AND a.state = 'active' ORDER BY a.raised_at"
            ).format(_SELECT, _FROM),
            (list(patient_ids),),
        )
        return await cur.fetchall()


async def history(conn: AsyncConnection, alert_id: str, *, limit: int) -> list[AlertEventRow]:
    async with conn.cursor(row_factory=class_row(AlertEventRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM alert_events WHERE alert_id = %s ORDER BY at, id LIMIT %s").format(_EVENT_COLUMNS),
            (alert_id, limit),
        )
        return await cur.fetchall()


async def _record(
    conn: AsyncConnection,
    alert: AlertRow,
    kind: str,
    actor: Actor,
    *,
    snoozed_until: datetime | None = None,
    escalation_level: int | None = None,
    note: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO alert_events (alert_id, kind, at, patient_id, session_id, rule, tier, actor, actor_name, "
        "actor_role, snoozed_until, escalation_level, note) VALUES (%s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s)",
        (
            alert.alert_id,
            kind,
            alert.patient_id,
            alert.session_id,
            alert.rule,
            alert.tier,
            actor.id,
            actor.name,
            actor.role,
            snoozed_until,
            escalation_level,
            note,
        ),
    )


async def _update(
    conn: AsyncConnection, alert_id: str, assignments: sql.Composable, params: tuple[object, ...]
) -> None:
    await conn.execute(
        sql.SQL("UPDATE alerts SET {}, action_seq = action_seq + 1 WHERE alert_id = %s").format(assignments),
        (*params, alert_id),
    )


async def acknowledge(conn: AsyncConnection, alert: AlertRow, actor: Actor, note: str | None) -> None:
    """Acknowledge (and end any snooze: an acknowledged alert needs no reminder)."""
    await _update(
        conn,
        alert.alert_id,
        sql.SQL(
            "acknowledged_at = now(), acknowledged_by = %s, acknowledged_by_name = %s, snoozed_until = NULL, "
            "snoozed_at = NULL, snoozed_by = NULL, snoozed_by_name = NULL, snooze_reason = NULL"
        ),
        (actor.id, actor.name),
    )
    await _record(conn, alert, "acknowledged", actor, note=note)


async def snooze(conn: AsyncConnection, alert: AlertRow, actor: Actor, until: datetime, reason: str | None) -> None:
    """Set the alert's one shared snooze (replacing any earlier one)."""
    await _update(
        conn,
        alert.alert_id,
        sql.SQL("snoozed_until = %s, snoozed_at = now(), snoozed_by = %s, snoozed_by_name = %s, snooze_reason = %s"),
        (until, actor.id, actor.name, reason),
    )
    await _record(conn, alert, "snoozed", actor, snoozed_until=until, note=reason)


async def cancel_snooze(conn: AsyncConnection, alert: AlertRow, actor: Actor) -> None:
    await _update(
        conn,
        alert.alert_id,
        sql.SQL(
            "snoozed_until = NULL, snoozed_at = NULL, snoozed_by = NULL, snoozed_by_name = NULL, snooze_reason = NULL"
        ),
        (),
    )
    await _record(conn, alert, "snooze_cancelled", actor)


async def escalate(conn: AsyncConnection, alert: AlertRow, actor: Actor, level: int, note: str | None) -> None:
    """Raise the escalation level (and end any snooze: an escalated alert must be heard)."""
    await _update(
        conn,
        alert.alert_id,
        sql.SQL(
            "escalation_level = %s, escalated_at = now(), escalated_by = %s, escalated_by_name = %s, "
            "snoozed_until = NULL, snoozed_at = NULL, snoozed_by = NULL, snoozed_by_name = NULL, snooze_reason = NULL"
        ),
        (level, actor.id, actor.name),
    )
    await _record(conn, alert, "escalated", actor, escalation_level=level, note=note)
