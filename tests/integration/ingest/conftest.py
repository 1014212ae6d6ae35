"""Helpers for gateway tests against the real local Kafka (topics per test, read-back, settings)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.gateway import GatewaySettings
from ingest.kafka_config import KafkaSettings
from ingest.topics_admin import ensure_topics
from ingest.wire import Event

GATEWAY_EVENTS: tuple[type[Event], ...] = (SensorHrV1, SensorEcgV1, SensorAccV1, DeadLetterV1)


@pytest.fixture(autouse=True)
def _quiet_bumble() -> None:
    logging.getLogger("bumble").setLevel(logging.WARNING)


@pytest.fixture
async def gateway_topics(kafka: KafkaSettings) -> KafkaSettings:
    """The gateway's four topics under the test's private prefix (deleted by the ``topic_prefix`` fixture)."""
    created = await ensure_topics(kafka, GATEWAY_EVENTS)
    assert len(created) == len(GATEWAY_EVENTS)
    return kafka


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., GatewaySettings]:
    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "environment": "test",
            "patient_id": "patient-int-1",
            "device_token": "integration-test-token-0123456789abcdef",
            "buffer_path": tmp_path / "buffer.sqlite3",
            "scan_timeout_s": 2.0,
            "connect_timeout_s": 5.0,
            "pmd_response_timeout_s": 2.0,
            "reconnect_backoff_initial_s": 0.05,
            "reconnect_backoff_max_s": 0.5,
            "forward_backoff_initial_s": 0.2,
            "forward_backoff_max_s": 2.0,
        }
        values.update(overrides)
        return GatewaySettings(_env_file=None, **values)

    return make
