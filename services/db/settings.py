"""Database settings shared by the sink and the API (prefix ``CARDIO_DB_``), and retention (``CARDIO_RETENTION_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Connection to PostgreSQL + TimescaleDB. The URL holds the password, so it has no default."""

    model_config = SettingsConfigDict(env_prefix="CARDIO_DB_", extra="ignore")

    url: SecretStr = Field(description="postgresql://user:password@host:port/database")
    pool_min: int = Field(default=1, ge=0, le=100)
    pool_max: int = Field(default=10, ge=1, le=500)
    statement_timeout_ms: int = Field(default=30_000, ge=100)

    def dsn(self) -> str:
        return self.url.get_secret_value()


class RetentionSettings(BaseSettings):
    """How long each table keeps data (days; 0 keeps it forever) and how often the scheduler prunes.

    Defaults: raw sensor data is short-lived (the clinical record is the features, sessions and alerts), dead
    letters are kept long enough to be inspected and replayed, the audit log for six years (a common medical-records
    minimum; set your jurisdiction's). Alerts, sessions, prescriptions and patient entries are clinical records and
    are not pruned.
    """

    model_config = SettingsConfigDict(env_prefix="CARDIO_RETENTION_", extra="ignore")

    enabled: bool = True
    interval_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600, description="at most one run per interval")
    check_every_s: float = Field(default=60.0, gt=0, le=3600, description="how often a replica asks whether to run")
    sensor_hr_days: int = Field(default=30, ge=0, le=36_500)
    sensor_ecg_days: int = Field(default=14, ge=0, le=36_500)
    sensor_acc_days: int = Field(default=7, ge=0, le=36_500)
    features_days: int = Field(default=730, ge=0, le=36_500)
    dead_letters_days: int = Field(default=30, ge=0, le=36_500)
    audit_log_days: int = Field(default=2190, ge=0, le=36_500)
    refresh_tokens_days: int = Field(default=7, ge=0, le=36_500, description="kept this long after they expire")
    compress_after_days: int = Field(default=7, ge=1, le=36_500, description="only where compression is licensed")
