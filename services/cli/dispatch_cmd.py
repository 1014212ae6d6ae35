"""`cardiorehab dispatcher`: deliver the hospital outbox (MLLP, FHIR rest-hooks), send heartbeats, escalate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from ingest.kafka_config import KafkaSettings
from ingest.settings_source import load
from services.db.migrate import migrate
from services.db.settings import DatabaseSettings
from services.integrations.dispatch.service import Dispatcher
from services.integrations.dispatch.settings import DispatcherSettings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dispatcher",
        help="deliver queued hospital messages (PCD-04/PCD-01 over MLLP, FHIR notifications), send subscription "
        "heartbeats and escalate unacknowledged alerts; run several for availability",
    )
    parser.add_argument("--name", help="replica name in logs and delivery records (default: host:pid)")
    parser.add_argument("--no-escalation", action="store_true", help="do not take part in escalation")
    parser.set_defaults(func=run)


async def _main(settings: DispatcherSettings) -> None:
    db, kafka = load(DatabaseSettings), load(KafkaSettings)
    await asyncio.to_thread(migrate, db.dsn())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    dispatcher = Dispatcher(settings, db, kafka)
    await dispatcher.start()
    try:
        await dispatcher.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await dispatcher.stop()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides: dict[str, object] = {}
    if args.name:
        overrides["name"] = args.name
    if args.no_escalation:
        overrides["escalation"] = False
    asyncio.run(_main(load(DispatcherSettings, **overrides)))
    return 0
