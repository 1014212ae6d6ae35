"""Settings of the gateway process (prefix ``CARDIO_GATEWAY_``), built at startup with
:func:`ingest.settings_source.load`. The device token is a secret and has no default."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.gateway.backoff import BackoffPolicy

PLACEHOLDER_TOKENS = frozenset({"changeme", "change-me", "secret", "token", "development", "dev", "test"})
_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


def _default_buffer_path() -> Path:
    return Path.home() / ".local" / "state" / "cardiorehab" / "gateway-buffer.sqlite3"


class GatewaySettings(BaseSettings):
    """One gateway serves one patient wearing one strap (HRS-only or Polar H10)."""

    model_config = SettingsConfigDict(env_prefix="CARDIO_GATEWAY_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field(
        default="production", validation_alias="CARDIO_ENVIRONMENT"
    )
    patient_id: str = Field(pattern=_ID_PATTERN, description="the patient this gateway is enrolled for")
    device_token: SecretStr = Field(
        description="enrolment token binding this gateway to the patient; never logged or sent to Kafka"
    )
    # Strap selection: with neither filter the first strap advertising HRS or PMD is used.
    device_address: str | None = Field(default=None, description="BLE address of the strap (case-insensitive)")
    device_name: str | None = Field(default=None, description="advertised local name, e.g. 'Polar H10 1A2B3C4D'")
    device_id: str | None = Field(
        default=None,
        pattern=_ID_PATTERN,
        description="id the readings carry; default: the strap's BLE address",
    )

    ecg_enabled: bool = True
    acc_enabled: bool = False

    buffer_path: Path = Field(default_factory=_default_buffer_path)
    # ECG/ACC rows are dropped (oldest first) to stay under these; HR and dead letters are not.
    buffer_max_rows: int = Field(default=200_000, ge=100)
    buffer_max_bytes: int = Field(default=128 * 1024 * 1024, ge=64 * 1024)
    # Past these, the oldest rows of any kind go, HR included; ~11 days of 1 Hz HR fit in a million rows.
    buffer_hard_max_rows: int = Field(default=1_000_000, ge=100)
    buffer_hard_max_bytes: int = Field(default=512 * 1024 * 1024, ge=64 * 1024)

    scan_timeout_s: float = Field(default=10.0, gt=0, le=300)
    connect_timeout_s: float = Field(default=20.0, gt=0, le=120)
    pmd_response_timeout_s: float = Field(default=5.0, gt=0, le=60)
    stop_timeout_s: float = Field(default=3.0, gt=0, le=30, description="bound on the stop-stream commands")
    battery_poll_interval_s: float = Field(default=300.0, gt=0)

    reconnect_backoff_initial_s: float = Field(default=1.0, gt=0)
    reconnect_backoff_max_s: float = Field(default=60.0, gt=0)
    forward_backoff_initial_s: float = Field(default=0.5, gt=0)
    forward_backoff_max_s: float = Field(default=30.0, gt=0)
    forward_batch_rows: int = Field(default=500, ge=1, le=10_000)

    @model_validator(mode="after")
    def _check(self) -> GatewaySettings:
        token = self.device_token.get_secret_value()
        if self.environment == "production" and (len(token) < 32 or token.lower() in PLACEHOLDER_TOKENS):
            raise ValueError("CARDIO_GATEWAY_DEVICE_TOKEN must be the enrolment token (at least 32 characters)")
        if len(token) < 16:
            raise ValueError("CARDIO_GATEWAY_DEVICE_TOKEN must be at least 16 characters")
        if self.buffer_hard_max_rows < self.buffer_max_rows:
            raise ValueError("buffer_hard_max_rows must be >= buffer_max_rows")
        if self.buffer_hard_max_bytes < self.buffer_max_bytes:
            raise ValueError("buffer_hard_max_bytes must be >= buffer_max_bytes")
        if self.reconnect_backoff_initial_s > self.reconnect_backoff_max_s:
            raise ValueError("reconnect_backoff_initial_s must be <= reconnect_backoff_max_s")
        if self.forward_backoff_initial_s > self.forward_backoff_max_s:
            raise ValueError("forward_backoff_initial_s must be <= forward_backoff_max_s")
        return self

    @property
    def reconnect_backoff(self) -> BackoffPolicy:
        return BackoffPolicy(initial_s=self.reconnect_backoff_initial_s, max_s=self.reconnect_backoff_max_s)

    @property
    def forward_backoff(self) -> BackoffPolicy:
        return BackoffPolicy(initial_s=self.forward_backoff_initial_s, max_s=self.forward_backoff_max_s)
