"""`cardiorehab stack up|down|status|exec`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from services.stack import StackConfig, StackManager
from services.stack.config import DEFAULT_KAFKA_CONTROLLER_PORT, DEFAULT_KAFKA_PORT, DEFAULT_PG_PORT
from services.stack.errors import StackError
from services.stack.manager import require_healthy


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("stack", help="start, stop or inspect the local Kafka + TimescaleDB stack")
    actions = parser.add_subparsers(dest="action", required=True)
    for action, text in (
        ("up", "start what is not running and wait until healthy (idempotent)"),
        ("down", "stop what `up` started (by pid)"),
        ("status", "say what runs where; exit 1 unless everything is healthy"),
        ("exec", "bring the stack up, run a command with its settings, then stop only what this started"),
    ):
        sub = actions.add_parser(action, help=text, description=text)
        sub.add_argument("--state-dir", type=Path, default=None, help="stack folder (default: <checkout>/.stack)")
        sub.add_argument("--kafka-port", type=int, default=_env_int("CARDIO_STACK_KAFKA_PORT", DEFAULT_KAFKA_PORT))
        sub.add_argument(
            "--kafka-controller-port",
            type=int,
            default=_env_int("CARDIO_STACK_KAFKA_CONTROLLER_PORT", DEFAULT_KAFKA_CONTROLLER_PORT),
        )
        sub.add_argument("--pg-port", type=int, default=_env_int("CARDIO_STACK_PG_PORT", DEFAULT_PG_PORT))
        if action == "exec":
            sub.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
        else:
            sub.add_argument("--json", action="store_true", help="print the status as JSON")
        sub.set_defaults(func=run)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def config_from_args(args: argparse.Namespace) -> StackConfig:
    kwargs: dict[str, object] = {
        "kafka_port": args.kafka_port,
        "kafka_controller_port": args.kafka_controller_port,
        "pg_port": args.pg_port,
    }
    state_dir = args.state_dir or (Path(os.environ["CARDIO_STACK_DIR"]) if os.environ.get("CARDIO_STACK_DIR") else None)
    if state_dir is not None:
        kwargs["state_dir"] = state_dir.resolve()
    return StackConfig(**kwargs)  # type: ignore[arg-type]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _exec(manager: StackManager, command: list[str]) -> int:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("cardiorehab stack exec: give the command after --", file=sys.stderr)
        return 2
    status = manager.up()
    require_healthy(status)
    started = {c.name for c in status.components if c.started_by_this_call}
    env = dict(os.environ)
    env.update(read_env_file(manager.config.env_file))
    env["CARDIO_ENV_FILE"] = str(manager.config.env_file)
    try:
        return subprocess.call(command, env=env)  # noqa: S603 - the developer's own command
    except KeyboardInterrupt:
        return 130
    finally:
        if started:
            manager.down(only=started)
            print(f"cardiorehab stack exec: stopped {', '.join(sorted(started))} (started for this command)")


def run(args: argparse.Namespace) -> int:
    manager = StackManager(config_from_args(args))
    try:
        if args.action == "exec":
            return _exec(manager, list(args.command))
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
