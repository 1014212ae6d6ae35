"""Database settings shared by the sink and the API (prefix ``CARDIO_DB_``)."""

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
