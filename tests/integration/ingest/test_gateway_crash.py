"""The gateway process killed with SIGKILL (twice) and restarted: every committed reading reaches Kafka once.

The process under test (:mod:`tests.sim.gateway_proc`) is a real OS process with its own virtual strap, buffer,
forwarder and gateway. Run 1 kills itself right after the broker acknowledged a batch and before the buffer
deleted it (the moment a naive store-and-forward duplicates); run 2 is killed from outside mid-stream; run 3
finishes. Each restart continues the strap's deterministic sequence from the buffer's committed ``seq`` counter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.events import SensorHrV1
from ingest.gatt import parse_heart_rate_measurement
from ingest.kafka_config import KafkaSettings
from tests.integration.ingest.readback import assert_exactly_once, read_back
from tests.sim.gateway_proc import DEVICE_ID
from tests.sim.virtual_strap import hr_payload
from tests.support.stack import REPO

log = logging.getLogger(__name__)

TOTAL = 1500  # heart-rate notifications over the three runs (100 per second)


def start(buffer: Path, kafka: KafkaSettings, log_path: Path, *extra: str) -> subprocess.Popen[str]:
    with open(log_path, "a") as stderr:  # the child keeps its own descriptor
        return _popen(buffer, kafka, stderr, *extra)


def _popen(buffer: Path, kafka: KafkaSettings, stderr: Any, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sim.gateway_proc",
            "--buffer",
            str(buffer),
            "--bootstrap",
            kafka.bootstrap,
            "--topic-prefix",
            kafka.topic_prefix,
            "--total",
            str(TOTAL),
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def lines(proc: subprocess.Popen[str], timeout_s: float) -> list[dict[str, Any]]:
    out, _ = proc.communicate(timeout=timeout_s)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def wait_for_line(proc: subprocess.Popen[str], event: str, timeout_s: float) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("{") and json.loads(line)["event"] == event:
            return json.loads(line)  # type: ignore[no-any-return]
    raise AssertionError(f"no {event!r} line from the gateway process")


def counters(buffer: Path) -> tuple[int, int, int]:
    """(first_seq, next_seq, rows waiting) read from the buffer file."""
    conn = sqlite3.connect(f"file:{buffer}?mode=ro", uri=True)
    try:
        first, after = conn.execute(
            "SELECT first_seq, next_seq FROM devices WHERE device_id = ?", (DEVICE_ID,)
        ).fetchone()
        (rows,) = conn.execute("SELECT count(*) FROM readings").fetchone()
    finally:
        conn.close()
    return int(first), int(after), int(rows)


@pytest.mark.integration
@pytest.mark.timeout(240)
async def test_sigkill_and_restart_delivers_every_committed_reading_once(
    gateway_topics: KafkaSettings, tmp_path: Path
) -> None:
    buffer = tmp_path / "buffer.sqlite3"
    stderr = tmp_path / "gateway.log"

    # Run 1: dies by SIGKILL right after the 20th acknowledged batch, before deleting it from the buffer.
    run1 = start(buffer, gateway_topics, stderr, "--kill-after-acks", "20")
    out1 = await asyncio.to_thread(lines, run1, 60)
    assert run1.returncode == -signal.SIGKILL, stderr.read_text()[-2000:]
    assert out1[-1]["event"] == "killing-self"
    first_seq, after1, waiting1 = await asyncio.to_thread(counters, buffer)
    assert waiting1 >= out1[-1]["acked_batch"]  # the acknowledged batch is still in the buffer

    # Run 2: killed from outside while it streams and forwards.
    run2 = start(buffer, gateway_topics, stderr)
    reconciled2 = await asyncio.to_thread(wait_for_line, run2, "reconciled", 60)
    await asyncio.sleep(1.5)
    run2.send_signal(signal.SIGKILL)
    await asyncio.to_thread(run2.wait, 30)
    assert run2.stdout is not None
    run2.stdout.close()
    assert run2.returncode == -signal.SIGKILL
    _, after2, waiting2 = await asyncio.to_thread(counters, buffer)
    assert after2 > after1

    # Run 3: continues to the end and drains.
    run3 = start(buffer, gateway_topics, stderr)
    out3 = await asyncio.to_thread(lines, run3, 120)
    assert run3.returncode == 0, stderr.read_text()[-2000:]
    done = out3[-1]
    assert done["event"] == "done"
    assert done["drained"] is True
    _, after3, waiting3 = await asyncio.to_thread(counters, buffer)
    assert (after3 - first_seq, waiting3) == (TOTAL, 0)

    hr = await read_back(gateway_topics, SensorHrV1)
    assert_exactly_once(hr)
    mine = [e for e in hr.events if e.device_id == DEVICE_ID]
    assert len(mine) == len(hr.events) == TOTAL
    assert [e.seq for e in mine] == list(range(first_seq, first_seq + TOTAL))
    for event in mine:
        expected = parse_heart_rate_measurement(hr_payload(event.seq - first_seq))
        assert (event.hr_bpm, event.rr_ms) == (expected.hr_bpm, expected.rr_ms)
    log.warning(
        "crash: run 1 committed %d readings, %d waiting at its self-kill (after an acked batch of %d); run 2 found %d "
        "of them already in Kafka, committed up to %d, %d waiting at its kill; run 3 found %d already in Kafka and "
        "finished; Kafka holds %d of %d readings, each once",
        after1 - first_seq,
        waiting1,
        out1[-1]["acked_batch"],
        reconciled2["already_in_kafka"],
        after2 - first_seq,
        waiting2,
        next(line for line in out3 if line["event"] == "reconciled")["already_in_kafka"],
        len(mine),
        TOTAL,
    )
