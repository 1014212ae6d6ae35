"""The dispatcher's view of the hospitals: resolved configurations (with secrets), their senders, and hold-offs.

Reloaded every ``config_refresh_s``: a clinic administrator's change reaches every replica within that time. A
hospital whose configuration cannot be used (a credential reference that does not resolve) is kept with its
error, so its messages say why they wait instead of failing.
"""

from __future__ import annotations

import logging
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr, ValidationError

from services.db import hospitals as hospitals_repo
from services.integrations.config import HospitalConfig
from services.integrations.credentials import resolve_credential
from services.integrations.delivery import DeliveryPolicy, hold_off_s
from services.integrations.dispatch.senders import MllpSender, RestHookSender, tls_context
from services.integrations.dispatch.targets import resolved_config
from services.integrations.errors import ConfigurationError

log = logging.getLogger(__name__)


def read_secret_file(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


@dataclass
class HospitalState:
    """One hospital as this replica sees it."""

    hospital_id: str
    config: HospitalConfig | None
    error: str | None = None
    mllp: MllpSender | None = None
    rest_hook: RestHookSender | None = None
    # per channel: consecutive transport failures and the monotonic time before which nothing is attempted
    failures: dict[str, int] = field(default_factory=dict)
    held_until: dict[str, float] = field(default_factory=dict)


class HospitalRegistry:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        policy: DeliveryPolicy,
        ca_file: str | None,
        refresh_s: float,
        environ: Callable[[], dict[str, str]] = lambda: dict(os.environ),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._ca_file = ca_file
        self._refresh_s = refresh_s
        self._environ = environ
        self._monotonic = monotonic
        self._loaded_at: float | None = None
        self._hospitals: dict[str, HospitalState] = {}
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = tls_context(self._ca_file)
        return self._tls

    async def refresh(self, *, force: bool = False) -> None:
        now = self._monotonic()
        if not force and self._loaded_at is not None and now - self._loaded_at < self._refresh_s:
            return
        async with self._pool.connection() as conn:
            records = await hospitals_repo.enabled_hospitals(conn)
            await conn.rollback()
        environ = self._environ()

        def secret(ref: str) -> SecretStr:
            return resolve_credential(ref, environ=environ, read_file=read_secret_file, what="bearer token")

        fresh: dict[str, HospitalState] = {}
        for record in records:
            old = self._hospitals.get(record.id)
            try:
                config: HospitalConfig | None = resolved_config(record, secret)
                error = None
            except (ValidationError, ConfigurationError) as exc:
                config, error = None, f"hospital {record.id} configuration unusable: {exc}"
                if old is None or old.error != error:
                    log.error("%s; its messages wait until it is fixed", error)
            state = HospitalState(record.id, config, error)
            if old is not None:
                state.failures, state.held_until = old.failures, old.held_until
                if config is not None and old.config is not None:
                    if old.mllp is not None and config.mllp == old.config.mllp:
                        state.mllp = old.mllp
                    if old.rest_hook is not None and config.fhir == old.config.fhir:
                        state.rest_hook = old.rest_hook
            fresh[record.id] = state
        for hid, old in self._hospitals.items():
            new = fresh.get(hid)
            if old.mllp is not None and (new is None or new.mllp is not old.mllp):
                await old.mllp.close()
            if old.rest_hook is not None and (new is None or new.rest_hook is not old.rest_hook):
                await old.rest_hook.close()
        self._hospitals = fresh
        self._loaded_at = now

    def get(self, hospital_id: str) -> HospitalState | None:
        return self._hospitals.get(hospital_id)

    def mllp(self, state: HospitalState) -> MllpSender:
        if state.mllp is None:
            if state.config is None or state.config.mllp is None:
                raise ConfigurationError(f"hospital {state.hospital_id} has no MLLP endpoint configured")
            context = self._tls_context() if state.config.mllp.tls else None
            state.mllp = MllpSender(state.config.mllp, context)
        return state.mllp

    def rest_hook(self, state: HospitalState) -> RestHookSender:
        if state.rest_hook is None:
            if state.config is None or state.config.fhir is None:
                raise ConfigurationError(f"hospital {state.hospital_id} has no FHIR rest-hook endpoint configured")
            state.rest_hook = RestHookSender(state.config.fhir, self._tls_context())
        return state.rest_hook

    def held(self, state: HospitalState, channel: str) -> bool:
        return state.held_until.get(channel, 0.0) > self._monotonic()

    def transport_failed(self, state: HospitalState, channel: str) -> float:
        """Hold the channel off after a transport error; returns the hold-off in seconds."""
        failures = state.failures.get(channel, 0) + 1
        state.failures[channel] = failures
        delay = hold_off_s(failures, self._policy, random.random())  # noqa: S311 - jitter, not security
        state.held_until[channel] = self._monotonic() + delay
        return delay

    def transport_ok(self, state: HospitalState, channel: str) -> None:
        state.failures.pop(channel, None)
        state.held_until.pop(channel, None)

    async def close(self) -> None:
        for state in self._hospitals.values():
            if state.mllp is not None:
                await state.mllp.close()
            if state.rest_hook is not None:
                await state.rest_hook.close()
        self._hospitals = {}
