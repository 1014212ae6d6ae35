"""Settings every service process shares: which environment this is (prefix ``CARDIO_``)."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARDIO_", extra="ignore")

    environment: Literal["development", "test", "production"] = "production"
