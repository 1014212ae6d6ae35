"""`cardiorehab simulate`: simulated patients streaming real strap bytes into Kafka."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from ingest.events import DeadLetterV1, SensorEcgV1, SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.settings_source import load
from ingest.simulate import SimulatorRunner
from ingest.simulator import Fleet, ScenarioError, available_scenarios, load_mix, load_scenario
from ingest.simulator.scenario import Scenario, ScenarioMix
from ingest.topics_admin import ensure_topics
from ingest.wire import Event


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("simulate", help="simulated straps publishing Heart Rate Measurements to Kafka")
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--scenario", default="demo", help="scenario or mix name, or a path to a .json/.toml file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: one session)")
    parser.add_argument("--repeat", action="store_true", help="start a new session when one ends (demo mode)")
    parser.add_argument("--record", type=Path, default=None, help="also write every published HR event as JSON lines")
    parser.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    parser.set_defaults(func=run)


def scenario_source(name: str) -> Scenario | ScenarioMix:
    try:
        return load_mix(name)
    except ScenarioError:
        return load_scenario(name)


async def _main(args: argparse.Namespace) -> int:
    kafka = load(KafkaSettings)
    source = scenario_source(args.scenario)
    await ensure_topics(kafka, [SensorHrV1, SensorEcgV1, DeadLetterV1])
    record = await asyncio.to_thread(open, args.record, "ab") if args.record else None
    try:
        async with EventProducer(kafka) as producer:

            async def publish(events: Sequence[Event]) -> None:
                await producer.send_many(events)

            runner = SimulatorRunner(
                lambda seed, start_ns: Fleet(args.patients, args.seed + seed, source, start_time_ns=start_ns),
                args.patients,
                publish,
                record=record,
            )
            await runner.run(duration_s=args.duration, loop=args.repeat)
            s = runner.stats
            print(
                f"simulate: published {s.hr_published} HR and {s.ecg_published} ECG events, "
                f"{s.dead_letters} dead letters",
                file=sys.stderr,
            )
    finally:
        if record is not None:
            record.close()
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        print("\n".join(available_scenarios()))
        return 0
    if args.patients < 1:
        print("simulate: --patients must be at least 1", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args))
    except ScenarioError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
