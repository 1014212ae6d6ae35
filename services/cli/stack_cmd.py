"""`cardiorehab stack up|down|status`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.stack import StackConfig, StackManager
from services.stack.config import DEFAULT_KAFKA_CONTROLLER_PORT, DEFAULT_KAFKA_PORT, DEFAULT_PG_PORT
from services.stack.errors import StackError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("stack", help="start, stop or inspect the local Kafka + TimescaleDB stack")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", type=Path, default=None, help="stack folder (default: <checkout>/.stack)")
    parser.add_argument("--kafka-port", type=int, default=DEFAULT_KAFKA_PORT)
    parser.add_argument("--kafka-controller-port", type=int, default=DEFAULT_KAFKA_CONTROLLER_PORT)
    parser.add_argument("--pg-port", type=int, default=DEFAULT_PG_PORT)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> StackConfig:
    kwargs: dict[str, object] = {
        "kafka_port": args.kafka_port,
        "kafka_controller_port": args.kafka_controller_port,
        "pg_port": args.pg_port,
    }
    if args.state_dir is not None:
        kwargs["state_dir"] = args.state_dir.resolve()
    return StackConfig(**kwargs)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    manager = StackManager(config_from_args(args))
    try:
        status = {"up": manager.up, "down": manager.down, "status": manager.status}[args.action]()
    except StackError as exc:
        print(f"cardiorehab stack {args.action}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print(status.render())
    if args.action == "down":
        return 0
    return 0 if status.healthy else 1
