"""pytest fixtures for tests against the real stack (Kafka, TimescaleDB) and real service processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.kafka_config import KafkaSettings
from tests.support.stack import StackEnv, cleanup_topics, private_database, read_env, unique


@pytest.fixture(scope="session")
def stack() -> StackEnv:
    try:
        return StackEnv(read_env())
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def topic_prefix(stack: StackEnv) -> Iterator[str]:
    """A private namespace of topics for one test; its topics are deleted afterwards."""
    prefix = unique("t") + "-"
    yield prefix
    cleanup_topics(stack.bootstrap, prefix)


@pytest.fixture
def kafka(stack: StackEnv, topic_prefix: str) -> KafkaSettings:
    return stack.kafka(topic_prefix)


@pytest.fixture
def database_url(stack: StackEnv) -> Iterator[str]:
    """A private, migrated database for one test."""
    with private_database(stack) as url:
        yield url


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d
