"""Issue 2, end to end: simulated straps → Kafka → faust worker → sink → TimescaleDB, and live to a websocket.

5 simulated patients stream for 20 s; the worker is SIGKILLed mid-stream and restarted. Afterwards every reading
the simulator published is in TimescaleDB exactly once, every second with a reading has exactly one features row,
and a websocket client received live features for every patient.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets

from ingest.events import SensorHrV1
from ingest.producer import EventProducer
from ingest.simulate import SimulatorRunner
from ingest.simulator import Fleet, load_scenario
from ingest.topics_admin import ensure_topics
from ingest.wire import Event
from services.db.seed import DEMO_PASSWORD, seed
from tests.support.processes import ServiceProcess, free_port, running, service_env, wait_for_port
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PATIENTS = 5
DURATION_S = 20.0
KILL_AT_S = 10.0


async def _live_client(port: int, token: str, seen: dict[str, int], stop: asyncio.Event) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", "scope": "clinic"}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            for event in json.loads(raw)["events"]:
                if event["kind"] == "features":
                    pid = event["data"]["patient_id"]
                    seen[pid] = seen.get(pid, 0) + 1


def _db_counts(url: str) -> tuple[int, int, set[tuple[str, int]], set[tuple[str, int]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT device_id, seq FROM sensor_hr").fetchall()
        feats = conn.execute("SELECT patient_id, extract(epoch FROM time)::bigint FROM features").fetchall()
    return len(rows), len(feats), {(r[0], int(r[1])) for r in rows}, {(f[0], int(f[1])) for f in feats}


async def test_readings_land_exactly_once_across_a_worker_crash(
    stack: StackEnv, topic_prefix: str, database_url: str, log_dir: Path, tmp_path: Path
) -> None:
    kafka = stack.kafka(topic_prefix)
    seed(database_url, patients=PATIENTS, environment="test")
    port = free_port()
    env = service_env(
        {},
        CARDIO_ENVIRONMENT="test",
        CARDIO_KAFKA_BOOTSTRAP=stack.bootstrap,
        CARDIO_KAFKA_TOPIC_PREFIX=topic_prefix,
        CARDIO_KAFKA_PARTITIONS=str(kafka.partitions),
        CARDIO_DB_URL=database_url,
        CARDIO_API_JWT_SECRET=unique("jwt-secret-for-tests-"),
        CARDIO_WORKER_APP_ID=unique("e2e-app-"),
        CARDIO_WORKER_DATA_DIR=str(tmp_path / "faust"),
        CARDIO_SINK_GROUP_ID=unique("e2e-sink-"),
    )
    await ensure_topics(kafka, [SensorHrV1])
    api = ServiceProcess("api", ["api", "--port", str(port)], env, log_dir).start()
    sink = ServiceProcess("sink", ["sink"], env, log_dir).start()
    worker = ServiceProcess("worker", ["worker", "--name", "w1"], env, log_dir).start()
    restarted = ServiceProcess("worker-restarted", ["worker", "--name", "w1"], env, log_dir)
    with running(api, sink, worker, restarted):
        wait_for_port(port, api)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            login = await http.post("/api/v1/auth/token", data={"username": "nurse1", "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]

        seen: dict[str, int] = {}
        stop_client = asyncio.Event()
        client = asyncio.create_task(_live_client(port, token, seen, stop_client))

        published: list[SensorHrV1] = []
        scenario = load_scenario("rehab_session")
        async with EventProducer(kafka) as producer:

            async def publish(events: list[Event]) -> None:
                await producer.send_many(events)
                published.extend(e for e in events if isinstance(e, SensorHrV1))

            runner = SimulatorRunner(
                lambda s, start: Fleet(PATIENTS, 7 + s, scenario, start_time_ns=start), PATIENTS, publish
            )
            sim = asyncio.create_task(runner.run(duration_s=DURATION_S, loop=False))
            await asyncio.sleep(KILL_AT_S)
            worker.kill()
            restarted.start()
            await sim

        expected_readings = {(e.device_id, e.seq) for e in published}
        expected_seconds = {(e.patient_id, e.gateway_time_ns // 1_000_000_000) for e in published}
        assert len(expected_readings) == len(published) >= PATIENTS * (DURATION_S - 3)

        deadline = time.monotonic() + 120
        while True:
            n_rows, n_feats, readings, seconds = await asyncio.to_thread(_db_counts, database_url)
            if (readings >= expected_readings and seconds >= expected_seconds) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        stop_client.set()
        await client

        assert not (expected_readings - readings), f"readings missing from the database: {expected_readings - readings}"
        assert n_rows == len(readings) == len(expected_readings), "a reading was stored more than once"
        assert not (expected_seconds - seconds), (
            f"seconds without features after the crash: {sorted(expected_seconds - seconds)[:10]}\n"
            f"{restarted.log_tail()}"
        )
        assert n_feats == len(seconds), "a features second was stored more than once"
        assert set(seen) == {f"sim-{i:03d}" for i in range(1, PATIENTS + 1)}, f"live features per patient: {seen}"
