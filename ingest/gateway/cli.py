"""``cardiorehab gateway``: stream the patient's chest strap to Kafka through the store-and-forward buffer.

Settings come from ``CARDIO_GATEWAY_*`` and ``CARDIO_KAFKA_*`` (environment, then the env file); the options
below override the non-secret ones. The device token is only ever read from the environment or the env file.
Runs until SIGINT/SIGTERM (or ``--duration``), then stops the strap's streams, drains and exits.
Exit codes: 0 done, 1 the buffer cannot be used (another process, another patient), 2 bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from pydantic import ValidationError

from ingest.gateway.errors import BufferOwnershipError
from ingest.gateway.service import GatewayReport, run_gateway
from ingest.gateway.settings import GatewaySettings
from ingest.kafka_config import KafkaSettings
from ingest.settings_source import load

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gateway", help="stream a chest strap (HRS or Polar H10) to Kafka through a durable local buffer"
    )
    parser.add_argument("--patient-id", help="override CARDIO_GATEWAY_PATIENT_ID")
    parser.add_argument("--device-address", help="only this strap (BLE address)")
    parser.add_argument("--device-name", help="only straps whose advertised name starts with this")
    parser.add_argument("--buffer-path", type=Path, help="override CARDIO_GATEWAY_BUFFER_PATH")
    parser.add_argument("--ecg", action=argparse.BooleanOptionalAction, default=None, help="stream Polar ECG")
    parser.add_argument("--acc", action=argparse.BooleanOptionalAction, default=None, help="stream Polar ACC")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--drain-timeout", type=float, default=10.0, help="seconds to forward the rest at exit")
    parser.add_argument("--json", action="store_true", help="print the final counters as JSON")
    parser.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    pairs = {
        "patient_id": args.patient_id,
        "device_address": args.device_address,
        "device_name": args.device_name,
        "buffer_path": args.buffer_path,
        "ecg_enabled": args.ecg,
        "acc_enabled": args.acc,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def _settings_problem(exc: ValidationError) -> str:
    # Never echo input values: one of them is the device token.
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors())


def run(
    args: argparse.Namespace,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
    client_backend: type[BaseBleakClient] | None = None,
) -> int:
    """Entry point of ``cardiorehab gateway``; the backends are for tests (default: the platform's)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load(GatewaySettings, **_overrides(args))
        kafka = load(KafkaSettings)
    except ValidationError as exc:
        print(f"cardiorehab gateway: invalid settings: {_settings_problem(exc)}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_main(settings, kafka, args, scanner_backend, client_backend))
    except BufferOwnershipError as exc:
        print(f"cardiorehab gateway: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_as_json(report), indent=2, sort_keys=True))
    else:
        print(
            f"gateway stopped: {report.gateway.hr_readings} HR, {report.gateway.ecg_frames} ECG and "
            f"{report.gateway.acc_frames} ACC readings; {sum(report.forwarder.forwarded.values())} forwarded; "
            f"{report.buffer.rows} left in the buffer"
        )
    return 0


async def _main(
    settings: GatewaySettings,
    kafka: KafkaSettings,
    args: argparse.Namespace,
    scanner_backend: type[BaseBleakScanner] | None,
    client_backend: type[BaseBleakClient] | None,
) -> GatewayReport:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    try:
        return await run_gateway(
            settings,
            kafka,
            stop=stop,
            scanner_backend=scanner_backend,
            client_backend=client_backend,
            drain_timeout_s=args.drain_timeout,
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _as_json(report: GatewayReport) -> dict[str, object]:
    return {
        "gateway": report.gateway.as_dict(),
        "forwarder": {
            "forwarded": dict(report.forwarder.forwarded),
            "batches": report.forwarder.batches,
            "failures": report.forwarder.failures,
            "reconciles": report.forwarder.reconciles,
            "already_in_kafka": report.forwarder.already_in_kafka,
            "last_error": report.forwarder.last_error,
        },
        "buffer": {
            "rows": report.buffer.rows,
            "payload_bytes": report.buffer.payload_bytes,
            "dropped": dict(report.buffer.dropped),
        },
        "drained": report.drained,
    }
