"""`cardiorehab sink | api | migrate | seed`: the service processes and database chores."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import signal
import sys

import psycopg
import uvicorn

from analytics.events import PrescriptionV1
from ingest.collector import collect_less_often
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.settings_source import load
from ingest.topics_admin import ensure_topics
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.auth.passwords import hash_password
from services.db import retention
from services.db.migrate import migrate
from services.db.seed import DEMO_PASSWORD, current_prescriptions, mark_published, seed
from services.db.settings import DatabaseSettings, RetentionSettings
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
    sd = subparsers.add_parser(
        "seed", help="create demo clinics, staff, patients and prescriptions, and publish the prescriptions (dev only)"
    )
    sd.add_argument("--patients", type=int, default=12)
    sd.add_argument("--no-publish", action="store_true", help="do not publish prescriptions to Kafka")
    sd.set_defaults(func=run_seed)
    clinic = subparsers.add_parser("clinic", help="operator chores: create a clinic and its first administrator")
    clinic_actions = clinic.add_subparsers(dest="action", required=True)
    create = clinic_actions.add_parser("create", help="create a clinic and a clinic_admin login")
    create.add_argument("--id", required=True, help="clinic id, [A-Za-z0-9_.:-]{1,64}")
    create.add_argument("--name", required=True)
    create.add_argument("--timezone", default="UTC")
    create.add_argument("--admin-username", required=True)
    create.add_argument("--admin-name", default="Clinic administrator")
    create.add_argument(
        "--admin-password-stdin", action="store_true", help="read the password from stdin (default: generate one)"
    )
    create.set_defaults(func=run_clinic_create)
    maint = subparsers.add_parser("retention", help="run retention now (leader-elected like the scheduler)")
    maint.add_argument("--force", action="store_true", help="run even if a run is younger than the interval")
    maint.set_defaults(func=run_retention)


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
    if not args.no_publish:
        events = current_prescriptions(db.dsn(), args.patients)
        asyncio.run(_publish_prescriptions(load(KafkaSettings), events))
        mark_published(db.dsn(), events)
        print(f"published {len(events)} prescriptions to prescriptions.v1")
    return 0


async def _publish_prescriptions(kafka: KafkaSettings, events: list[PrescriptionV1]) -> None:
    await ensure_topics(kafka, [PrescriptionV1])
    async with EventProducer(kafka) as producer:
        await producer.send_many(events)


def run_clinic_create(args: argparse.Namespace) -> int:
    db = load(DatabaseSettings)
    migrate(db.dsn())
    generated = not args.admin_password_stdin
    password = secrets.token_urlsafe(18) if generated else sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("clinic create: the password must have at least 12 characters", file=sys.stderr)
        return 2
    try:
        with psycopg.connect(db.dsn()) as conn, conn.transaction():
            conn.execute(
                "INSERT INTO clinics (id, name, timezone) VALUES (%s, %s, %s)", (args.id, args.name, args.timezone)
            )
            conn.execute(
                "INSERT INTO users (username, password_hash, role, clinic_id, display_name) "
                "VALUES (%s, %s, 'clinic_admin', %s, %s)",
                (args.admin_username.lower(), hash_password(password), args.id, args.admin_name),
            )
    except psycopg.errors.UniqueViolation as exc:
        print(f"clinic create: {exc.diag.message_detail or exc}", file=sys.stderr)
        return 1
    except psycopg.errors.CheckViolation as exc:
        print(f"clinic create: invalid value ({exc.diag.constraint_name})", file=sys.stderr)
        return 2
    print(f"clinic {args.id} created; administrator {args.admin_username.lower()}")
    if generated:
        print(f"one-time password (change it): {password}")
    return 0


def run_retention(args: argparse.Namespace) -> int:
    _logging()
    outcome = asyncio.run(retention.run_once(load(DatabaseSettings).dsn(), load(RetentionSettings), force=args.force))
    print(
        json.dumps({"ran": outcome.ran, "reason": outcome.reason, "pruned": outcome.pruned, "license": outcome.license})
    )
    return 0


async def _sink_main() -> None:
    kafka, db, settings = load(KafkaSettings), load(DatabaseSettings), load(SinkSettings)
    collect_less_often(settings.gc_gen0_threshold)
    await asyncio.to_thread(migrate, db.dsn())
    await ensure_topics(kafka, [spec.event_type for spec in ALL_TABLES])
    scheduler = retention.RetentionScheduler(db.dsn(), load(RetentionSettings))
    scheduler.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with EventProducer(kafka) as producer:
        sink = Sink(settings, kafka, db.dsn(), producer, statement_timeout_ms=db.statement_timeout_ms)
        await sink.start()
        runner = asyncio.create_task(sink.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner.done():
                runner.result()
        finally:
            # Cancel mid-batch rather than commit half of it: uncommitted offsets are simply re-read next time.
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
            await scheduler.stop()
            await sink.stop()


def run_sink(args: argparse.Namespace) -> int:
    _logging()
    asyncio.run(_sink_main())
    return 0


def run_api(args: argparse.Namespace) -> int:
    _logging()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load(ApiSettings, **overrides)
    app = create_app(settings, load(DatabaseSettings), load(KafkaSettings), load(RetentionSettings))
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False, ws_max_size=64 * 1024
    )
    return 0
