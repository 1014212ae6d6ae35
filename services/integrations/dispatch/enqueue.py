"""Enqueue hospital messages inside the caller's transaction (the sink's, or the escalation scheduler's).

:class:`OutboxEnqueuer` is the sink's hook: after the sink wrote a batch (and recomputed the alerts' current state),
it plans the batch's messages and inserts them in the same transaction, so an alert step is stored if and only if
its hospital messages are queued. A replayed step maps to the same message ids and is skipped; FHIR events are
numbered only after the subscription is locked and the step is known to be new, so replays never skip numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from psycopg import AsyncConnection

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.wire import Event
from services.db import hospitals as hospitals_repo
from services.db import outbox as outbox_repo
from services.db import subscriptions as subscriptions_repo
from services.integrations.dispatch.targets import patient_targets
from services.integrations.fhir.alerts import AlertEscalation
from services.integrations.fhir.subscription_state import SubscriptionState
from services.integrations.outbound import Outgoing, PatientTargets, PendingEvent, Planned, Unbuildable
from services.integrations.planning import number_events, plan_alert, plan_observation, plan_summary
from services.integrations.timestamps import NS_PER_S

log = logging.getLogger(__name__)

# How long the sink trusts its answer to "does any hospital take PCD-01 observations?" (features arrive at 1 Hz per
# patient; asking on every batch would cost a query per batch for a feature most deployments do not use).
FEED_CHECK_INTERVAL_S: Final = 10.0


def dt_ns(value: datetime) -> int:
    return int(value.timestamp() * NS_PER_S)


@dataclass
class EnqueueStats:
    enqueued: int = 0
    unbuildable: int = 0
    skipped_existing: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _row(item: Outgoing | Unbuildable) -> outbox_repo.OutboxInsert:
    e = item.envelope
    row = outbox_repo.OutboxInsert(
        hospital_id=e.hospital_id,
        channel=e.channel,
        message_id=e.message_id,
        kind=e.kind,
        ordering_key=e.ordering_key,
        source_key=e.source_key,
        content_type="text/plain",
        payload=b"",
        patient_id=e.patient_id,
        alert_id=e.alert_id,
        revision=e.revision,
        session_id=e.session_id,
        subscription_id=e.subscription_id,
        escalation_level=e.escalation_level,
    )
    if isinstance(item, Unbuildable):
        return replace(row, state="failed", last_error=item.reason)
    return replace(row, content_type=item.content_type, payload=item.payload, event_number=item.event_number)


async def enqueue_planned(conn: AsyncConnection, planned: Sequence[Planned], stats: EnqueueStats) -> int:
    """Insert planned messages: lock their ordering keys, number new subscription events, insert idempotently."""
    if not planned:
        return 0
    await outbox_repo.lock_keys_for_enqueue(conn, {p.envelope.ordering_key for p in planned})
    ready: list[Outgoing | Unbuildable] = [p for p in planned if not isinstance(p, PendingEvent)]
    events = [p for p in planned if isinstance(p, PendingEvent)]
    if events:
        locked = await subscriptions_repo.lock_for_numbering(conn, {e.envelope.subscription_id or "" for e in events})
        existing = await outbox_repo.existing_message_ids(
            conn, {(e.envelope.hospital_id, e.envelope.channel, e.envelope.message_id) for e in events}
        )
        seen: set[str] = set()
        by_subscription: dict[str, list[PendingEvent]] = {}
        for event in events:
            key = event.envelope.message_id
            sub = locked.get(event.envelope.subscription_id or "")
            if sub is None or (event.envelope.hospital_id, event.envelope.channel, key) in existing or key in seen:
                stats.skipped_existing += 1
                continue
            seen.add(key)
            by_subscription.setdefault(sub.id, []).append(event)
        for sub_id, sub_events in by_subscription.items():
            sub = locked[sub_id]
            state = SubscriptionState(
                subscription_id=sub.id, topic=sub.topic, events_since_start=sub.events_since_start
            )
            state, numbered = number_events(state, sub_events)
            await subscriptions_repo.set_events_since_start(conn, sub.id, state.events_since_start)
            ready.extend(numbered)
    inserted = await outbox_repo.insert(conn, [_row(item) for item in ready])
    stats.skipped_existing += len(ready) - inserted
    stats.enqueued += inserted
    for item in ready:
        stats.by_kind[item.envelope.kind] = stats.by_kind.get(item.envelope.kind, 0) + 1
        if isinstance(item, Unbuildable):
            stats.unbuildable += 1
            log.error(
                "outbox: %s for %s could not be built: %s", item.envelope.kind, item.envelope.source_key, item.reason
            )
    return inserted


class OutboxEnqueuer:
    """The sink's hook: ``await enqueuer(conn, events)`` inside the sink's transaction."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._feeds_checked_at: float | None = None
        self._any_feed = False
        self.stats = EnqueueStats()

    async def _feeds_enabled(self, conn: AsyncConnection) -> bool:
        now = self._clock()
        if self._feeds_checked_at is None or now - self._feeds_checked_at >= FEED_CHECK_INTERVAL_S:
            self._any_feed = await hospitals_repo.any_observation_feed(conn)
            self._feeds_checked_at = now
        return self._any_feed

    async def __call__(self, conn: AsyncConnection, events: Iterable[Event]) -> int:
        alerts: list[AlertV1] = []
        summaries: list[SessionV1] = []
        features: list[FeaturesV1] = []
        for event in events:
            if isinstance(event, AlertV1):
                alerts.append(event)
            elif isinstance(event, SessionV1) and event.event == "summary":
                summaries.append(event)
            elif isinstance(event, FeaturesV1):
                features.append(event)
        if features and not await self._feeds_enabled(conn):
            features = []
        if not (alerts or summaries or features):
            return 0
        patient_ids = {a.patient_id for a in alerts} | {s.patient_id for s in summaries}
        patient_ids |= {f.patient_id for f in features}
        targets = patient_targets(await hospitals_repo.targets_for_patients(conn, patient_ids))
        if not targets:
            return 0
        inserted = 0
        if features:
            inserted += await self._observations(conn, features, targets)
        planned: list[Planned] = []
        contexts = await outbox_repo.alert_contexts(conn, {a.alert_id for a in alerts if a.patient_id in targets})
        for alert in alerts:
            if alert.patient_id not in targets:
                continue
            context = contexts.get(alert.alert_id)
            escalation = None
            if context is not None and context.escalation_level > 0 and context.escalated_at is not None:
                escalation = AlertEscalation(level=context.escalation_level, at_ns=dt_ns(context.escalated_at))
            raised_ns = dt_ns(context.raised_at) if context is not None else None
            planned.extend(plan_alert(alert, targets[alert.patient_id], raised_ns=raised_ns, escalation=escalation))
        for summary in summaries:
            if summary.patient_id in targets:
                planned.extend(plan_summary(summary, targets[summary.patient_id]))
        inserted += await enqueue_planned(conn, planned, self.stats)
        return inserted

    async def _observations(
        self, conn: AsyncConnection, features: Sequence[FeaturesV1], targets: dict[str, PatientTargets]
    ) -> int:
        """PCD-01 at each hospital's cadence; the last-sent second per (hospital, patient) is locked meanwhile."""
        pairs = {
            (h.config.hospital_id, f.patient_id)
            for f in features
            if f.patient_id in targets
            for h in targets[f.patient_id].hospitals
            if h.config.observations.send_pcd01 and h.config.mllp is not None
        }
        if not pairs:
            return 0
        await outbox_repo.lock_keys_for_enqueue(conn, {f"mllp-obs:{h}:{p}" for h, p in pairs})
        last = await hospitals_repo.observation_feed_state(conn, pairs)
        planned: list[Planned] = []
        sent: dict[tuple[str, str], int] = {}
        for f in sorted(features, key=lambda f: (f.patient_id, f.t_s)):
            if f.patient_id not in targets:
                continue
            per_hospital = {h: s for (h, p), s in {**last, **sent}.items() if p == f.patient_id}
            items, new = plan_observation(f, targets[f.patient_id], per_hospital)
            planned.extend(items)
            sent.update({(h, f.patient_id): s for h, s in new.items()})
        inserted = await enqueue_planned(conn, planned, self.stats)
        await hospitals_repo.save_observation_feed_state(conn, sent)
        return inserted
