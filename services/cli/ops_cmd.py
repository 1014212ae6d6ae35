"""`cardiorehab topics ensure` and `cardiorehab health <process>`: chores for deployments."""

from __future__ import annotations

import argparse
import asyncio
import sys

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.settings_source import load
from ingest.topics_admin import ensure_topics
from ingest.wire import Event
from services import health
from services.live.events import AlertStateV1

ALL_EVENTS: tuple[type[Event], ...] = (
    SensorHrV1,
    SensorEcgV1,
    SensorAccV1,
    PrescriptionV1,
    FeaturesV1,
    AlertV1,
    SessionV1,
    AlertStateV1,
    DeadLetterV1,
)


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    topics = subparsers.add_parser("topics", help="create every topic of ARCHITECTURE.md with its settings")
    topics.add_argument("action", choices=["ensure", "list"])
    topics.set_defaults(func=run_topics)
    check = subparsers.add_parser("health", help="exit 0 if a process's heartbeat is fresh (container checks)")
    check.add_argument("process", choices=["sink", "worker", "dispatcher"])
    check.set_defaults(func=run_health)


def run_topics(args: argparse.Namespace) -> int:
    kafka = load(KafkaSettings)
    if args.action == "list":
        for event in ALL_EVENTS:
            print(f"{kafka.topic(event.TOPIC):<24} {'compacted' if event.COMPACTED else 'delete'}")
        return 0
    created = asyncio.run(ensure_topics(kafka, ALL_EVENTS))
    print("topics created: " + (", ".join(created) if created else "none (all exist)"))
    return 0


def run_health(args: argparse.Namespace) -> int:
    if args.process == "worker":
        from analytics.stream.settings import WorkerSettings

        worker = load(WorkerSettings)
        path = worker.data_dir / worker.name / "alive"
    else:
        path = health.heartbeat_path(args.process)
    age = health.age_s(path)
    if age is None:
        print(f"{args.process}: no heartbeat at {path}", file=sys.stderr)
        return 1
    if age > health.STALE_AFTER_S:
        print(f"{args.process}: heartbeat {age:.0f} s old (limit {health.STALE_AFTER_S:.0f} s)", file=sys.stderr)
        return 1
    print(f"{args.process}: alive ({age:.1f} s ago)")
    return 0
