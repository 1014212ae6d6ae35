"""The `cardiorehab` command line: one entry point, one module per subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ingest.gateway import cli as gateway_cmd
from services.cli import analyze, dispatch_cmd, ops_cmd, run_cmd, services_cmd, simulate_cmd, stack_cmd, worker_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cardiorehab", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    stack_cmd.add_parser(subparsers)
    worker_cmd.add_parser(subparsers)
    services_cmd.add_parsers(subparsers)
    run_cmd.add_parser(subparsers)
    simulate_cmd.add_parser(subparsers)
    ops_cmd.add_parsers(subparsers)
    analyze.add_parser(subparsers)
    gateway_cmd.add_parser(subparsers)
    dispatch_cmd.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
