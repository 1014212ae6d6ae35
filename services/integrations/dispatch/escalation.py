"""The escalation scheduler: unacknowledged alerts go to the charge nurse, then to the hospital channel.

Leader-elected: one replica holds a session-level advisory lock (services/db/escalation.py) on a connection of its
own and ticks; the others ask again every ``leader_retry_s``. A leader whose connection breaks loses the lock with
it. Even two leaders at once could not double-escalate: each escalation locks the alert row, re-reads it and
re-decides before writing (an escalation only goes upwards).

An escalation is recorded exactly like a clinician's (``services.db.alerts.escalate``, by the system actor, plus an
audit record), published to ``alertstate.v1`` before the transaction commits (as the API does), and at the
hospital-channel level its messages are enqueued in the same transaction. Clinicians' manual escalations to that
level are forwarded to the hospitals the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from ingest.aio import wait_set
from ingest.producer import EventProducer
from services.db import alerts as alerts_repo
from services.db import audit
from services.db import escalation as escalation_repo
from services.db import hospitals as hospitals_repo
from services.integrations.config import EscalationPolicy
from services.integrations.dispatch.enqueue import EnqueueStats, enqueue_planned
from services.integrations.dispatch.targets import alert_step, patient_targets
from services.integrations.escalation import (
    HOSPITAL_CHANNEL_LEVEL,
    EscalationDue,
    EscalationFacts,
    due_now,
    strictest,
)
from services.integrations.planning import plan_escalation
from services.integrations.timestamps import NS_PER_S
from services.live.events import alert_state

log = logging.getLogger(__name__)


def ns(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * NS_PER_S)


def facts(c: escalation_repo.EscalationCandidate) -> EscalationFacts:
    return EscalationFacts(
        alert_id=c.alert_id,
        tier=c.tier,  # type: ignore[arg-type]
        active=c.state == "active",
        acknowledged=c.acknowledged_at is not None,
        escalation_level=c.escalation_level,
        escalated_ns=ns(c.escalated_at),
        tier_since_ns=ns(c.tier_since) or 0,
        snoozed_until_ns=ns(c.snoozed_until),
    )


class EscalationScheduler:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        dsn: str,
        producer: EventProducer,
        *,
        tick_s: float,
        leader_retry_s: float,
        without_hospital: bool,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._producer = producer
        self._tick_s = tick_s
        self._leader_retry_s = leader_retry_s
        self._without_hospital = without_hospital
        self._clock_ns = clock_ns
        self._leader: AsyncConnection | None = None
        self.escalated = 0
        self.forwarded = 0
        self.stats = EnqueueStats()

    @property
    def leading(self) -> bool:
        return self._leader is not None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                wait = self._leader_retry_s
                try:
                    if await self._lead():
                        await self.tick()
                        wait = self._tick_s
                except (psycopg.OperationalError, OSError) as exc:
                    log.warning("escalation scheduler: database unavailable (%s); retrying", exc)
                    await self._resign()
                await wait_set(stop, wait)
        finally:
            await self._resign()

    async def _lead(self) -> bool:
        if self._leader is not None:
            try:
                await self._leader.execute("SELECT 1")
                return True
            except psycopg.Error:
                log.warning("escalation scheduler lost its leader connection; asking again")
                await self._resign()
        conn = await AsyncConnection.connect(self._dsn, autocommit=True, application_name="cardiorehab-escalation")
        if await escalation_repo.try_leadership(conn):
            log.info("escalation scheduler: this replica leads")
            self._leader = conn
            return True
        await conn.close()
        return False

    async def _resign(self) -> None:
        conn, self._leader = self._leader, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await escalation_repo.release_leadership(conn)
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    def _policy(self, settings: list[dict[str, Any]]) -> tuple[EscalationPolicy, bool] | None:
        """The clinic's policy and whether it has a hospital channel; None: do not escalate there."""
        policies = []
        for hospital in settings:
            try:
                policies.append(EscalationPolicy.model_validate(hospital.get("escalation", {})))
            except ValidationError:
                continue
        if not policies and not self._without_hospital:
            return None
        return strictest(policies), any(int(h.get("_channels", 0)) > 0 for h in settings)

    async def tick(self) -> None:
        now = self._clock_ns()
        async with self._pool.connection() as conn:
            candidates = await escalation_repo.candidates(conn, below_level=HOSPITAL_CHANNEL_LEVEL)
            clinics = await escalation_repo.clinic_hospital_settings(conn, {c.clinic_id for c in candidates})
            unforwarded = await escalation_repo.unforwarded(conn, min_level=HOSPITAL_CHANNEL_LEVEL)
            await conn.rollback()
        for candidate in candidates:
            decided = self._policy(clinics.get(candidate.clinic_id, []))
            if decided is None:
                continue
            policy, channel = decided
            step = due_now(facts(candidate), policy, now, hospital_channel=channel)
            if step is not None:
                await self._guarded(self._escalate(candidate.alert_id, policy, channel), candidate.alert_id)
        for alert_id, level in unforwarded:
            await self._guarded(self._forward_manual(alert_id, level), alert_id)

    async def _guarded(self, work: Coroutine[Any, Any, None], alert_id: str) -> None:
        """One alert's escalation; its failure (say Kafka unreachable: nothing was committed) is retried next tick
        without holding back the other alerts."""
        try:
            await work
        except (psycopg.OperationalError, OSError):
            raise
        except Exception:
            log.exception("escalation of alert %s failed; nothing was committed, retrying next tick", alert_id)

    async def _escalate(self, alert_id: str, policy: EscalationPolicy, channel: bool) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            row = await alerts_repo.alert_by_id(conn, alert_id, for_update=True)
            fresh = await escalation_repo.candidate(conn, alert_id)
            if row is None or fresh is None:
                return
            now = self._clock_ns()
            step = due_now(facts(fresh), policy, now, hospital_channel=channel)
            if step is None:
                return  # acknowledged, snoozed or escalated meanwhile
            unattended_s = (now - step.unattended_since_ns) / NS_PER_S
            note = f"automatic: unacknowledged for {unattended_s:.0f} s ({row.tier} alert)"
            await alerts_repo.escalate(conn, row, escalation_repo.SYSTEM_ACTOR, step.level, note)
            escalated = await alerts_repo.alert_by_id(conn, alert_id)
            assert escalated is not None
            messages = 0
            if step.level >= HOSPITAL_CHANNEL_LEVEL:
                messages = await self._forward(conn, escalated, step.level, unattended_s)
            await self._producer.send(alert_state(escalated, "escalated", escalation_repo.SYSTEM_ACTOR.name))
            await audit.record(
                conn,
                actor=str(escalation_repo.SYSTEM_ACTOR.id),
                actor_role="system",
                action="alert_escalated",
                patient_id=row.patient_id,
                clinic_id=fresh.clinic_id,
                detail={"alert": alert_id, "level": step.level, "automatic": True, "hospital_messages": messages},
            )
        self.escalated += 1
        log.info("alert %s escalated to level %d (%s)", alert_id, step.level, note)

    async def _forward(self, conn: AsyncConnection, row: alerts_repo.AlertRow, level: int, unattended_s: float) -> int:
        """Enqueue the hospital-channel messages of an escalation, once per alert and level."""
        targets = patient_targets(await hospitals_repo.targets_for_patients(conn, [row.patient_id]))
        planned = []
        if row.patient_id in targets:
            escalated_ns = ns(row.escalated_at) or self._clock_ns()
            planned = plan_escalation(
                alert_step(row, escalated_ns),
                level,
                targets[row.patient_id],
                unacknowledged_s=unattended_s,
                raised_ns=ns(row.raised_at),
            )
        if not await escalation_repo.record_forward(conn, row.alert_id, level, len(planned)):
            return 0
        self.forwarded += 1
        return await enqueue_planned(conn, planned, self.stats)

    async def _forward_manual(self, alert_id: str, level: int) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            row = await alerts_repo.alert_by_id(conn, alert_id, for_update=True)
            if row is None or row.escalation_level != level or row.state != "active":
                return
            unattended_s = (self._clock_ns() - (ns(row.raised_at) or 0)) / NS_PER_S
            messages = await self._forward(conn, row, level, unattended_s)
        log.info(
            "escalation of alert %s to level %d forwarded to the hospitals (%d messages)", alert_id, level, messages
        )


__all__ = ["EscalationDue", "EscalationScheduler"]
