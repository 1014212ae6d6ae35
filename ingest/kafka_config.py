"""Kafka connection settings shared by every deployable (prefix ``CARDIO_KAFKA_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Where the brokers are and how topics are named. Topics are namespaced by ``topic_prefix``."""

    model_config = SettingsConfigDict(env_prefix="CARDIO_KAFKA_", extra="ignore")

    bootstrap: str = Field(description="comma-separated host:port list of brokers")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    partitions: int = Field(default=12, ge=1, le=1024, description="partitions of each topic the services create")
    replication_factor: int = Field(default=1, ge=1, le=16)
    client_id: str = "cardiorehab"

    def topic(self, base: str) -> str:
        return f"{self.topic_prefix}{base}"
