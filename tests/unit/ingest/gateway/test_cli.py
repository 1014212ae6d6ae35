"""`cardiorehab gateway` (``ingest.gateway.cli.run``), tested directly with the simulated radio."""

from __future__ import annotations

import argparse
import fcntl
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ingest.gateway import cli
from tests.sim.bumble_backend import BumbleScanner, SimRadio
from tests.sim.virtual_h10 import VirtualPolarH10
from tests.support.processes import free_port

TOKEN = "cli-test-token-0123456789abcdefghij"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cardiorehab")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["gateway", *argv])


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Settings from the environment only; Kafka points at a port nobody listens on."""
    monkeypatch.setenv("CARDIO_ENV_FILE", "")
    monkeypatch.setenv("CARDIO_ENVIRONMENT", "test")
    monkeypatch.setenv("CARDIO_GATEWAY_PATIENT_ID", "patient-9")
    monkeypatch.setenv("CARDIO_GATEWAY_DEVICE_TOKEN", TOKEN)
    monkeypatch.setenv("CARDIO_GATEWAY_BUFFER_PATH", str(tmp_path / "buffer.sqlite3"))
    monkeypatch.setenv("CARDIO_GATEWAY_SCAN_TIMEOUT_S", "1")
    monkeypatch.setenv("CARDIO_GATEWAY_FORWARD_BACKOFF_INITIAL_S", "0.05")
    monkeypatch.setenv("CARDIO_GATEWAY_FORWARD_BACKOFF_MAX_S", "0.2")
    monkeypatch.setenv("CARDIO_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    return tmp_path / "buffer.sqlite3"


def test_the_subcommand_is_wired_to_run() -> None:
    args = parse("--duration", "2", "--no-ecg", "--acc", "--device-name", "Polar H10")
    assert args.func is cli.run
    assert (args.duration, args.ecg, args.acc, args.device_name) == (2.0, False, True, "Polar H10")


def test_bad_settings_exit_2_without_echoing_the_token(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARDIO_ENVIRONMENT", "production")
    monkeypatch.setenv("CARDIO_GATEWAY_DEVICE_TOKEN", "weak-but-secret-1")
    assert cli.run(parse("--duration", "0.1")) == 2
    err = capsys.readouterr().err
    assert "DEVICE_TOKEN" in err
    assert "weak-but-secret-1" not in err
    monkeypatch.delenv("CARDIO_GATEWAY_DEVICE_TOKEN")
    assert cli.run(parse()) == 2
    assert "device_token" in capsys.readouterr().err


def test_a_buffer_held_by_another_process_exits_1(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{env}.lock", "ab") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cli.run(parse("--duration", "0.5")) == 1
    assert "another gateway process" in capsys.readouterr().err


def test_run_streams_into_the_buffer_while_kafka_is_unreachable(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    radio = SimRadio()
    strap = VirtualPolarH10(radio, hr_interval_s=0.05, time_scale=8.0)

    class StrapScanner(BumbleScanner):
        """Starts the virtual strap inside run()'s own event loop, on first scan."""

        async def start(self) -> None:
            if not strap.started:
                await strap.start()
            await super().start()

    StrapScanner.radio = radio
    _, client_cls = radio.backends()
    code = cli.run(
        parse("--duration", "2.5", "--drain-timeout", "0", "--json"),
        scanner_backend=StrapScanner,
        client_backend=client_cls,
    )
    assert code == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert report["gateway"]["hr_readings"] >= 3  # (timing-tolerant: 20 per second once connected)
    assert report["gateway"]["ecg_frames"] >= 1
    assert report["drained"] is False
    assert report["forwarder"]["failures"] >= 1  # nothing listens on the Kafka port
    assert sum(report["forwarder"]["forwarded"].values()) == 0
    assert strap.streaming == frozenset()  # the exit stopped the strap's streams
    conn = sqlite3.connect(env)
    try:
        counts = dict(conn.execute("SELECT topic, count(*) FROM readings GROUP BY topic").fetchall())
    finally:
        conn.close()
    assert (
        counts["sensor.hr.v1"]
        == report["gateway"]["hr_readings"]
        == report["buffer"]["rows"] - counts.get("sensor.ecg.v1", 0)
    )
