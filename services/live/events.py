"""Messages services publish for the live view, and the current-state records its snapshots carry.

``alertstate.v1`` (:class:`AlertStateV1`): an alert's full current state after a clinician acted on it
(acknowledged, snoozed, snooze_cancelled, escalated). The API writes the database, publishes this, then commits;
every API replica's hub reads the topic, so every nurse's websocket sees the change whichever replica served
the request. ``action_seq`` orders an alert's clinician actions (higher wins), as ``revision`` orders the engine's.

:class:`SessionStateV1` is not published: it is the database's current state of a session, sent in snapshots.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar, Literal

import msgspec

from analytics.events import Tier
from ingest.events import Id, UnixNs
from ingest.wire import Event
from services.db.alerts import AlertRow
from services.db.sessions import SessionRow

AlertAction = Literal["snapshot", "acknowledged", "snoozed", "snooze_cancelled", "escalated"]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dt_ns(value: datetime | None) -> int | None:
    """Exact Unix nanoseconds of a timezone-aware datetime (microsecond resolution, as PostgreSQL stores it)."""
    return None if value is None else (value - _EPOCH) // timedelta(microseconds=1) * 1000


class AlertStateV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An alert's whole current state (engine fields and the clinicians' shared acknowledgement/snooze/escalation)."""

    TOPIC: ClassVar[str] = "alertstate.v1"

    schema_version: Literal[1] = 1
    alert_id: str
    patient_id: Id
    action: AlertAction
    actor_name: str | None = None
    action_seq: Annotated[int, msgspec.Meta(ge=0)]
    session_id: str | None = None
    rule: str
    tier: Tier
    state: Literal["active", "cleared"]
    last_event: Literal["raised", "updated", "cleared"]
    revision: Annotated[int, msgspec.Meta(ge=0)]
    raised_ns: UnixNs
    updated_ns: UnixNs
    cleared_ns: UnixNs | None = None
    message: str
    value: float | None = None
    threshold: float | None = None
    acknowledged_ns: UnixNs | None = None
    acknowledged_by_name: str | None = None
    snoozed_until_ns: UnixNs | None = None
    snoozed_by_name: str | None = None
    snooze_reason: str | None = None
    escalation_level: Annotated[int, msgspec.Meta(ge=0, le=3)] = 0
    escalated_ns: UnixNs | None = None
    escalated_by_name: str | None = None

    def idempotency_key(self) -> str:
        return f"{self.alert_id}:{self.action_seq}"


class SessionStateV1(msgspec.Struct, frozen=True, kw_only=True):
    """A session's current state as stored (snapshot only)."""

    session_id: str
    patient_id: str
    status: Literal["active", "ended", "summarised"]
    started_ns: int
    ended_ns: int | None
    duration_s: float | None
    time_in_band_s: float | None
    time_in_band_pct: float | None
    peak_hr_bpm: float | None
    mean_hr_bpm: float | None
    trimp_banister: float | None
    trimp_edwards: float | None
    hrr1_bpm: float | None
    hrr2_bpm: float | None
    flags: tuple[str, ...]


def alert_state(row: AlertRow, action: AlertAction, actor_name: str | None = None) -> AlertStateV1:
    return AlertStateV1(
        alert_id=row.alert_id,
        patient_id=row.patient_id,
        action=action,
        actor_name=actor_name,
        action_seq=row.action_seq,
        session_id=row.session_id,
        rule=row.rule,
        tier=row.tier,  # type: ignore[arg-type]
        state=row.state,  # type: ignore[arg-type]
        last_event=row.last_event,  # type: ignore[arg-type]
        revision=row.revision,
        raised_ns=dt_ns(row.raised_at) or 0,
        updated_ns=dt_ns(row.updated_at) or 0,
        cleared_ns=dt_ns(row.cleared_at),
        message=row.message,
        value=row.value,
        threshold=row.threshold,
        acknowledged_ns=dt_ns(row.acknowledged_at),
        acknowledged_by_name=row.acknowledged_by_name,
        snoozed_until_ns=dt_ns(row.snoozed_until),
        snoozed_by_name=row.snoozed_by_name,
        snooze_reason=row.snooze_reason,
        escalation_level=row.escalation_level,
        escalated_ns=dt_ns(row.escalated_at),
        escalated_by_name=row.escalated_by_name,
    )


def session_state(row: SessionRow) -> SessionStateV1:
    return SessionStateV1(
        session_id=row.session_id,
        patient_id=row.patient_id,
        status=row.status,  # type: ignore[arg-type]
        started_ns=dt_ns(row.started_at) or 0,
        ended_ns=dt_ns(row.ended_at),
        duration_s=row.duration_s,
        time_in_band_s=row.time_in_band_s,
        time_in_band_pct=row.time_in_band_pct,
        peak_hr_bpm=row.peak_hr_bpm,
        mean_hr_bpm=row.mean_hr_bpm,
        trimp_banister=row.trimp_banister,
        trimp_edwards=row.trimp_edwards,
        hrr1_bpm=row.hrr1_bpm,
        hrr2_bpm=row.hrr2_bpm,
        flags=tuple(row.flags),
    )
