"""Settings of the dispatcher process (prefix ``CARDIO_DISPATCHER_``).

Hospital endpoints, credentials and timings are per hospital (``/api/v1/clinics/{clinic_id}/hospitals``); these
settings are the process's own: how often it looks for work, how it retries, which extra CA it trusts.
"""

from __future__ import annotations

import os
import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.integrations.backoff import RetryPolicy
from services.integrations.delivery import UNBOUNDED_ATTEMPTS, DeliveryPolicy


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DispatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDIO_DISPATCHER_", extra="ignore")

    name: str = Field(default_factory=default_name, min_length=1, max_length=200, description="this replica")
    poll_interval_s: float = Field(default=0.5, gt=0, le=60, description="how often due messages are looked for")
    batch: int = Field(default=200, ge=1, le=10_000, description="due ordering keys fetched per poll")
    burst: int = Field(default=50, ge=1, le=10_000, description="messages of one key delivered before moving on")
    parallel: int = Field(
        default=4, ge=1, le=100, description="hospital channels served at once (keep below CARDIO_DB_POOL_MAX)"
    )
    config_refresh_s: float = Field(default=10.0, gt=0, le=3600, description="reload hospitals and credentials")
    retry_initial_s: float = Field(default=0.5, gt=0, le=60)
    retry_max_s: float = Field(default=30.0, gt=0, le=3600, description="longest wait between two attempts")
    nak_max_attempts: int = Field(default=8, ge=1, le=1000, description="attempts of a retriable rejection")
    malformed_max_attempts: int = Field(default=3, ge=1, le=1000)
    heartbeat_check_s: float = Field(default=1.0, gt=0, le=60)
    ca_file: str | None = Field(default=None, description="extra CA bundle (PEM) trusted for hospital endpoints")
    escalation: bool = Field(default=True, description="run the (leader-elected) escalation scheduler")
    escalation_tick_s: float = Field(default=1.0, gt=0, le=60)
    leader_retry_s: float = Field(default=5.0, gt=0, le=300, description="how often a follower asks to lead")
    escalate_without_hospital: bool = Field(
        default=True, description="escalate to the charge nurse (default timings) in clinics without a hospital"
    )

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            backoff=RetryPolicy(
                initial_delay_s=self.retry_initial_s,
                max_delay_s=max(self.retry_max_s, self.retry_initial_s),
                max_attempts=UNBOUNDED_ATTEMPTS,
            ),
            nak_max_attempts=self.nak_max_attempts,
            malformed_max_attempts=self.malformed_max_attempts,
        )
