"""`cardiorehab run`: the whole system on this machine, for a demo or for development.

Brings the local stack up (if it is not), migrates and seeds the database, starts the worker, the sink, the API and
the simulated patients as child processes, prints the dashboard URL and the demo logins, and on Ctrl-C stops every
process it started (and the stack, if it started it).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.cli.stack_cmd import config_from_args, read_env_file
from services.db.seed import DEMO_PASSWORD, demo_logins
from services.stack import StackManager
from services.stack.config import DEFAULT_API_PORT
from services.stack.errors import StackError
from services.stack.manager import require_healthy
from services.stack.procs import port_open


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the stack, services and simulated patients until Ctrl-C")
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument(
        "--scenario", default="demo", help="simulator scenario or mix (see `cardiorehab simulate --list`)"
    )
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("CARDIO_API_PORT", DEFAULT_API_PORT)))
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--kafka-port", type=int, default=None)
    parser.add_argument("--kafka-controller-port", type=int, default=None)
    parser.add_argument("--pg-port", type=int, default=None)
    parser.set_defaults(func=run)


def _cardio(*args: str) -> list[str]:
    return [sys.executable, "-m", "services.cli.main", *args]


def _wait_http(port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(port):
            return True
        time.sleep(0.3)
    return False


def run(args: argparse.Namespace) -> int:
    from services.stack.config import DEFAULT_KAFKA_CONTROLLER_PORT, DEFAULT_KAFKA_PORT, DEFAULT_PG_PORT

    args.kafka_port = args.kafka_port or DEFAULT_KAFKA_PORT
    args.kafka_controller_port = args.kafka_controller_port or DEFAULT_KAFKA_CONTROLLER_PORT
    args.pg_port = args.pg_port or DEFAULT_PG_PORT
    manager = StackManager(config_from_args(args))
    print("cardiorehab run: starting the local stack (Kafka, PostgreSQL + TimescaleDB)…", flush=True)
    try:
        status = manager.up()
        require_healthy(status)
    except StackError as exc:
        print(f"cardiorehab run: {exc}", file=sys.stderr)
        return 1
    started_stack = {c.name for c in status.components if c.started_by_this_call}
    env = dict(os.environ)
    env.update(read_env_file(manager.config.env_file))
    env["CARDIO_ENV_FILE"] = str(manager.config.env_file)
    env.setdefault("CARDIO_WORKER_DATA_DIR", str(manager.config.state_dir / "faust"))
    logs = manager.config.logs_dir
    children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(name: str, argv: list[str]) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - our own CLI
        children.append((name, proc))

    try:
        subprocess.run(  # noqa: S603 - our own CLI
            _cardio("seed", "--patients", str(args.patients)),
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        spawn("api", _cardio("api", "--port", str(args.api_port)))
        if not _wait_http(args.api_port, 60):
            print(
                f"cardiorehab run: the API did not open port {args.api_port}; see {logs / 'api.log'}", file=sys.stderr
            )
            return 1
        spawn("sink", _cardio("sink"))
        spawn("worker", _cardio("worker", "--name", "worker-1"))
        spawn("dispatcher", _cardio("dispatcher", "--name", "dispatcher-1"))
        spawn(
            "simulator", _cardio("simulate", "--patients", str(args.patients), "--scenario", args.scenario, "--repeat")
        )
        _banner(args.api_port, args.patients, logs)
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    print(
                        f"cardiorehab run: {name} exited with {proc.returncode}; see {logs / (name + '.log')}",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("\ncardiorehab run: stopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"cardiorehab run: {exc}", file=sys.stderr)
        return 1
    finally:
        for _name, proc in reversed(children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc in reversed(children):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if started_stack:
            manager.down(only=started_stack)
            print(f"cardiorehab run: stopped {', '.join(sorted(started_stack))}")


def _banner(port: int, patients: int, logs: Path) -> None:
    lines = [
        "",
        f"  Dashboard:  http://127.0.0.1:{port}/",
        f"  API docs:   http://127.0.0.1:{port}/api/docs",
        f"  Patients:   {patients} simulated (sim-001 …)",
        f"  Logs:       {logs}",
        "",
        f"  Demo logins (password for all: {DEMO_PASSWORD}):",
    ]
    lines += [f"    {login.username:<10} {login.role:<13} {login.display_name}" for login in demo_logins(patients)]
    lines += ["", "  Ctrl-C stops everything this command started.", ""]
    print("\n".join(lines), flush=True)
