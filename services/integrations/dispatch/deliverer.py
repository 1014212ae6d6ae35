"""Delivery of outbox rows, in order per ordering key, safely across replicas.

Each pass fetches the due head of every ordering key (its first pending row whose next attempt is due) and works
through them grouped by (hospital, channel), one group per task. One message is one transaction:

1. ``pg_try_advisory_xact_lock`` on the key (another replica holding it: skip the key this pass);
2. re-read the key's head (it may have been delivered meanwhile) and check it is due;
3. send it and wait for the ACK / HTTP status;
4. record the attempt and its outcome (services/integrations/delivery.py), update the subscription, commit.

Because only the lock holder sends a key's head, and a head is replaced only once it reached a final state, a later
message of a key is never sent before an earlier one was delivered (or finally refused, which is reported). A
dispatcher that dies mid-send loses its connection, its lock with it, and its uncommitted attempt: the next replica
resends the same bytes with the same message id, which the receiver recognises.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Final

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from services.db import audit
from services.db import outbox as outbox_repo
from services.db import subscriptions as subscriptions_repo
from services.integrations.delivery import DeliveryPolicy, Outcome, after_error, delivered, is_transport_down
from services.integrations.dispatch.registry import HospitalRegistry, HospitalState
from services.integrations.errors import ConfigurationError, IntegrationError

log = logging.getLogger(__name__)

REPORTED_ACTIONS: Final = {"nacked": "integration_delivery_nacked", "failed": "integration_delivery_failed"}


class Deliverer:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        registry: HospitalRegistry,
        *,
        policy: DeliveryPolicy,
        name: str,
        batch: int,
        burst: int,
        config_retry_s: float,
        parallel: int = 4,
    ) -> None:
        self._pool = pool
        self._registry = registry
        self._policy = policy
        self._name = name
        self._batch = batch
        self._burst = burst
        self._config_retry_s = config_retry_s
        # (hospital, channel) groups delivered at once; each holds one pooled connection while it sends
        self._parallel = asyncio.Semaphore(parallel)
        self.sent = 0
        self.delivered = 0

    async def pass_once(self) -> int:
        """One pass over the due keys; returns how many messages reached a final state."""
        await self._registry.refresh()
        async with self._pool.connection() as conn:
            heads = await outbox_repo.due_heads(conn, limit=self._batch)
            await conn.rollback()
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for head in heads:
            groups[(head.hospital_id, head.channel)].append(head.ordering_key)
        results = await asyncio.gather(*(self._group(h, c, keys) for (h, c), keys in groups.items()))
        return sum(results)

    async def _group(self, hospital_id: str, channel: str, keys: list[str]) -> int:
        state = self._registry.get(hospital_id)
        if state is None:
            return 0
        done = 0
        async with self._parallel:
            for key in keys:
                if self._registry.held(state, channel):
                    break
                done += await self._key(state, channel, key)
        return done

    async def _key(self, state: HospitalState, channel: str, key: str) -> int:
        """Deliver a key's messages in order, one transaction each, until one is not delivered or ``burst``."""
        done = 0
        for _ in range(self._burst):
            async with self._pool.connection() as conn:
                outcome = await self._one(conn, state, channel, key)
            if outcome is None or outcome.state == "pending":
                break
            done += 1
        return done

    async def _one(self, conn: AsyncConnection, state: HospitalState, channel: str, key: str) -> Outcome | None:
        async with conn.transaction():
            if not await outbox_repo.try_lock_for_delivery(conn, key):
                return None
            row = await outbox_repo.head(conn, key)
            if row is None or row.next_attempt_at > datetime.now(UTC) or self._registry.held(state, channel):
                return None
            if state.error is not None or state.config is None:
                await outbox_repo.note_blocked(
                    conn, row.id, state.error or "hospital not configured", self._config_retry_s
                )
                return None
            attempts = row.attempts + 1
            handshake = row.kind == "fhir-handshake"
            error: BaseException | None = None
            turned_off = False
            self.sent += 1
            try:
                if channel == "mllp":
                    ack_code = await self._registry.mllp(state).send(row.payload)
                    outcome = delivered(ack_code)
                else:
                    sub = await self._subscription(conn, row.subscription_id)
                    turned_off = sub.status == "off"
                    if turned_off:
                        outcome = Outcome("failed", error=f"subscription {sub.id} was turned off; not sent")
                    else:
                        ack_code = await self._registry.rest_hook(state).post(
                            sub.endpoint, row.payload, message_id=row.message_id
                        )
                        outcome = delivered(ack_code)
            except ConfigurationError as exc:
                await outbox_repo.note_blocked(conn, row.id, str(exc), self._config_retry_s)
                return None
            except IntegrationError as exc:
                error = exc
                outcome = after_error(exc, attempts, self._policy, random.random())  # noqa: S311 - jitter
            await outbox_repo.record_attempt(
                conn,
                row.id,
                state=outcome.state,
                retry_in_s=outcome.retry_in_s,
                ack_code=outcome.ack_code,
                error=outcome.error,
                by=self._name,
            )
            if row.subscription_id is not None and not turned_off:
                await subscriptions_repo.record_notification(
                    conn, row.subscription_id, ok=outcome.state == "delivered", handshake=handshake, error=outcome.error
                )
            if outcome.state == "delivered":
                self.delivered += 1
                self._registry.transport_ok(state, channel)
            elif error is not None and is_transport_down(error):
                hold = self._registry.transport_failed(state, channel)
                log.warning(
                    "%s %s unreachable (%s); message %s (attempt %d) and the channel wait %.1f s",
                    state.hospital_id,
                    channel,
                    error,
                    row.message_id,
                    attempts,
                    hold,
                )
            elif outcome.state == "pending":
                log.warning(
                    "message %s of %s refused (attempt %d), retrying: %s",
                    row.message_id,
                    state.hospital_id,
                    attempts,
                    outcome.error,
                )
            if outcome.report:
                await self._report(conn, row, outcome)
            return outcome

    async def _subscription(
        self, conn: AsyncConnection, subscription_id: str | None
    ) -> subscriptions_repo.SubscriptionRow:
        sub = None if subscription_id is None else await subscriptions_repo.subscription_by_id(conn, subscription_id)
        if sub is None:
            raise ConfigurationError(f"subscription {subscription_id} not found")
        return sub

    async def _report(self, conn: AsyncConnection, row: outbox_repo.OutboxRow, outcome: Outcome) -> None:
        """A message that will not be delivered: an error in the log and a record in the audit log."""
        log.error(
            "DELIVERY %s: %s message %s (%s) for patient %s to hospital %s over %s after %d attempt(s): %s",
            outcome.state.upper(),
            row.kind,
            row.message_id,
            outcome.ack_code or "-",
            row.patient_id,
            row.hospital_id,
            row.channel,
            row.attempts + 1,
            outcome.error,
        )
        await audit.record(
            conn,
            actor=f"dispatcher:{self._name}",
            actor_role="system",
            action=REPORTED_ACTIONS[outcome.state],
            patient_id=row.patient_id,
            detail={
                "hospital": row.hospital_id,
                "channel": row.channel,
                "message_id": row.message_id,
                "kind": row.kind,
                "alert_id": row.alert_id,
                "ack_code": outcome.ack_code,
                "error": outcome.error,
            },
        )
