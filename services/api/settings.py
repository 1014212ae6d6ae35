"""Settings of the API process (prefix ``CARDIO_API_``). Secrets have no defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "development", "dev", "test", "password"})


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDIO_API_", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        default="production", validation_alias="CARDIO_ENVIRONMENT"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8420, ge=1, le=65535)
    jwt_secret: SecretStr = Field(description="HMAC key for access tokens; at least 32 characters")
    access_token_ttl_s: int = Field(default=900, ge=60, le=3600)  # short-lived (issue 6); refresh renews it
    refresh_token_ttl_s: int = Field(default=12 * 3600, ge=600, le=30 * 24 * 3600)
    cors_origins: list[str] = Field(default_factory=list)
    login_attempts_per_minute: int = Field(default=10, ge=1, le=1000)
    live_client_queue: int = Field(default=256, ge=8, le=100_000, description="messages buffered per websocket")
    live_replay_per_partition: int = Field(
        default=4096, ge=16, le=1_000_000, description="events kept per Kafka partition for resuming clients"
    )
    live_snapshot_session_hours: float = Field(default=12.0, gt=0, le=168)
    ws_auth_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Snooze rule (docs/api.md): urgent alerts only by a charge nurse and never longer than this.
    snooze_max_s: int = Field(default=3600, ge=60, le=12 * 3600)
    snooze_urgent_max_s: int = Field(default=300, ge=60, le=900)
    device_token_max_days: int = Field(default=730, ge=1, le=3650)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    retention_in_api: bool = Field(default=True, description="also run the (leader-elected) retention scheduler")

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> ApiSettings:
        secret = self.jwt_secret.get_secret_value()
        if self.environment == "production" and (len(secret) < 32 or secret.lower() in PLACEHOLDER_SECRETS):
            raise ValueError("CARDIO_API_JWT_SECRET must be a random value of at least 32 characters in production")
        if len(secret) < 16:
            raise ValueError("CARDIO_API_JWT_SECRET must be at least 16 characters")
        if self.environment == "production" and "*" in self.cors_origins:
            raise ValueError("CARDIO_API_CORS_ORIGINS may not be '*' in production; list the dashboard's origins")
        return self
