"""Heartbeat notifications (Subscriptions Backport IG ``backport-heartbeat-period``): an active subscription that
has received nothing for its period gets a ``heartbeat`` Bundle, so the hospital notices a silent channel.

Sent under the subscription key's delivery lock (never interleaved with its events) and only when nothing is
queued for it; heartbeats are not numbered and not queued (a missed heartbeat is not worth resending: the next
one, or the next event, says the same).
"""

from __future__ import annotations

import logging
import time

from psycopg_pool import AsyncConnectionPool

from services.db import outbox as outbox_repo
from services.db import subscriptions as subscriptions_repo
from services.integrations.dispatch.registry import HospitalRegistry
from services.integrations.errors import IntegrationError
from services.integrations.fhir.common import to_json_bytes
from services.integrations.fhir.subscription_state import SubscriptionState
from services.integrations.fhir.subscriptions import notification_bundle
from services.integrations.outbound import FHIR, subscription_key

log = logging.getLogger(__name__)


class Heartbeats:
    def __init__(self, pool: AsyncConnectionPool, registry: HospitalRegistry) -> None:
        self._pool = pool
        self._registry = registry
        self.sent = 0

    async def pass_once(self) -> int:
        await self._registry.refresh()
        async with self._pool.connection() as conn:
            due = await subscriptions_repo.due_heartbeats(conn)
            await conn.rollback()
        sent = 0
        for sub in due:
            state = self._registry.get(sub.hospital_id)
            if state is None or state.config is None or self._registry.held(state, FHIR):
                continue
            async with self._pool.connection() as conn, conn.transaction():
                if not await outbox_repo.try_lock_for_delivery(conn, subscription_key(sub.id)):
                    continue
                fresh = await subscriptions_repo.subscription_by_id(conn, sub.id)
                if fresh is None or fresh.status != "active":
                    continue
                bundle = notification_bundle(
                    SubscriptionState(
                        subscription_id=fresh.id,
                        topic=fresh.topic,
                        status="active",
                        events_since_start=fresh.events_since_start,
                        heartbeat_period_s=fresh.heartbeat_period_s,
                    ),
                    "heartbeat",
                    now_ns=time.time_ns(),
                )
                try:
                    await self._registry.rest_hook(state).post(
                        fresh.endpoint, to_json_bytes(bundle), message_id=f"heartbeat {bundle.id}"
                    )
                except IntegrationError as exc:
                    hold = self._registry.transport_failed(state, FHIR)
                    log.warning("heartbeat of subscription %s failed (%s); channel waits %.1f s", sub.id, exc, hold)
                    await subscriptions_repo.record_notification(
                        conn, sub.id, ok=False, handshake=False, error=str(exc)
                    )
                    continue
                self._registry.transport_ok(state, FHIR)
                await subscriptions_repo.record_notification(conn, sub.id, ok=True, handshake=False, error=None)
                sent += 1
        self.sent += sent
        return sent
