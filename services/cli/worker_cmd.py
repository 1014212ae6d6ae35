"""`cardiorehab worker`: one analytics stream worker."""

from __future__ import annotations

import argparse

from analytics.stream.settings import WorkerSettings
from ingest.kafka_config import KafkaSettings
from ingest.settings_source import load


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("worker", help="run a faust worker computing per-patient features and alerts")
    parser.add_argument("--name", help="unique worker name (default: CARDIO_WORKER_NAME or worker-1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # faust parses sys.argv when imported (it looks for --loop/-L), so only the worker process imports it.
    from analytics.stream.worker import run_worker

    overrides = {"name": args.name} if args.name else {}
    run_worker(load(WorkerSettings, **overrides), load(KafkaSettings))
