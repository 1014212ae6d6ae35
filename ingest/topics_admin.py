"""Create the topics a process needs, with explicit settings (broker auto-creation is off)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ingest.kafka_config import KafkaSettings
from ingest.wire import Event

log = logging.getLogger(__name__)

# Compacted topics keep the newest message per key forever; the others keep a week of data so that a consumer
# that was down (or a replay after a bug fix) can catch up.
RETENTION_MS = 7 * 24 * 3600 * 1000


RETAINED: dict[str, str] = {"cleanup.policy": "delete", "retention.ms": str(RETENTION_MS)}


def topic_configs(event_type: type[Event]) -> dict[str, str]:
    if event_type.COMPACTED:
        return {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
    return dict(RETAINED)


async def ensure_topics(settings: KafkaSettings, event_types: Iterable[type[Event]]) -> list[str]:
    """Create missing topics for these event types; returns the names that were created."""
    return await ensure_named_topics(settings, {settings.topic(t.TOPIC): topic_configs(t) for t in event_types})


async def ensure_named_topics(settings: KafkaSettings, configs: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Create missing topics by name (``settings.partitions`` each) with these configs; returns the created names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id=f"{settings.client_id}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=name,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=dict(config),
            )
            for name, config in configs.items()
            if name not in existing
        ]
        if not missing:
            return []
        try:
            await admin.create_topics(missing)
        except TopicAlreadyExistsError:
            log.info("topics created concurrently by another process: %s", [t.name for t in missing])
        return [t.name for t in missing]
    finally:
        await admin.close()


async def delete_topics(settings: KafkaSettings, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id=f"{settings.client_id}-admin")
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()
