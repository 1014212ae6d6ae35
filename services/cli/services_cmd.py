"""`cardiorehab sink | api | migrate | seed`: the service processes and database chores."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

import uvicorn

from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.settings_source import load
from ingest.topics_admin import ensure_topics
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.db.migrate import migrate
from services.db.pool import create_pool
from services.db.seed import DEMO_PASSWORD, seed
from services.db.settings import DatabaseSettings
from services.settings import RuntimeSettings
from services.sink.runner import Sink
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sink = subparsers.add_parser("sink", help="write Kafka topics into TimescaleDB (idempotent, at-least-once)")
    sink.set_defaults(func=run_sink)
    api = subparsers.add_parser("api", help="serve the REST API, the live websocket and the dashboard")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.set_defaults(func=run_api)
    mig = subparsers.add_parser("migrate", help="apply database migrations")
    mig.set_defaults(func=run_migrate)
    sd = subparsers.add_parser("seed", help="create demo clinics, staff and patients (development only)")
    sd.add_argument("--patients", type=int, default=12)
    sd.set_defaults(func=run_seed)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_migrate(args: argparse.Namespace) -> int:
    applied = migrate(load(DatabaseSettings).dsn())
    print("migrations applied: " + (", ".join(applied) if applied else "none (up to date)"))
    return 0


def run_seed(args: argparse.Namespace) -> int:
    db = load(DatabaseSettings)
    migrate(db.dsn())
    logins = seed(db.dsn(), patients=args.patients, environment=load(RuntimeSettings).environment)
    for login in logins:
        print(f"{login.role:<13} {login.username:<10} password {DEMO_PASSWORD}  ({login.display_name})")
    return 0


async def _sink_main() -> None:
    kafka, db, settings = load(KafkaSettings), load(DatabaseSettings), load(SinkSettings)
    await asyncio.to_thread(migrate, db.dsn())
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    pool = create_pool(db, name="cardiorehab-sink")
    await pool.open(wait=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with EventProducer(kafka) as producer:
        sink = Sink(settings, kafka, pool, producer)
        await sink.start()
        runner = asyncio.create_task(sink.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner.done():
                runner.result()
        finally:
            await sink.stop()
            runner.cancel()
            await pool.close()


def run_sink(args: argparse.Namespace) -> int:
    _logging()
    asyncio.run(_sink_main())
    return 0


def run_api(args: argparse.Namespace) -> int:
    _logging()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load(ApiSettings, **overrides)
    app = create_app(settings, load(DatabaseSettings), load(KafkaSettings))
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False, ws_max_size=64 * 1024
    )
    return 0
