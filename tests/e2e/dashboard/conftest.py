"""One running service for the whole dashboard suite (starting it takes most of a minute on 2 cores).

The API, the sink and a worker run as real processes on a private topic prefix and database (``live_system``),
seeded with the demo clinic and 51 patients. 50 of them exercise from the start:

- sim-001 (login ``patient1``) stays above its 130-bpm ceiling (cue "ease off");
- sim-002 (``patient2``) has a finished, summarised session (backfilled by its gateway) and a live one;
- sim-003 (``patient3``) wears a Polar H10 (ECG);
- sim-004..050 follow the standard rehab session.

sim-051 stays idle until the wall test starts its ceiling breach, so the alert can be timed from its start.
The suite's tests share this system; each is written to work in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser

from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.simulator.scenario import Scenario
from services.db.seed import current_prescriptions
from tests.e2e.dashboard.observe import Observed, observe
from tests.e2e.dashboard.sim import BACKFILL_S, NS, REPORTED, FleetRun, live_fleet
from tests.support.browser import chromium
from tests.support.stack import StackEnv, delete_prefixed_topics, private_database, read_env, unique
from tests.support.system import LiveSystem, live_system

PATIENTS = 51
LIVE = 50
# A short replay buffer, so that a client kept away for ~8 s gets a real `gap` (docs/api.md) in the resume test.
REPLAY_PER_PARTITION = 64


def rx_body(ceiling: float, **thresholds: Any) -> dict[str, Any]:
    """A Karvonen prescription for the scenarios' 70/160-bpm heart: band 106-124 bpm."""
    return {
        "method": "karvonen",
        "resting_hr_bpm": 70,
        "peak_hr_bpm": 160,
        "peak_hr_source": "cpet",
        "intensity_low": 0.4,
        "intensity_high": 0.6,
        "ceiling_bpm": ceiling,
        "thresholds": thresholds,
        "note": "dashboard e2e",
    }


@dataclass
class Dashboard:
    system: LiveSystem
    database_url: str
    work: Path
    observed: Observed
    producer: EventProducer
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.system.base_url

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = await self.system.token(username)
        return self.tokens[username]

    async def api(self, method: str, path: str, username: str | None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"} if username else {}
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            return await http.request(method, path, headers=headers, **kw)

    def start_fleet(self, ids: Sequence[str], scenarios: Sequence[Scenario], *, seed: int, start_ns: int) -> FleetRun:
        run = FleetRun(ids, scenarios, seed=seed, start_ns=start_ns)
        self.tasks.append(asyncio.create_task(run.run(self.producer, self.stop)))
        return run


async def _wait_for_worker(work: Path, system: LiveSystem, timeout_s: float = 90) -> None:
    alive = work / "faust" / "w1" / "alive"
    deadline = time.monotonic() + timeout_s
    while not alive.exists():
        worker = system.processes["worker1"]
        if not worker.running:
            raise RuntimeError(f"worker exited:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker not ready after {timeout_s} s:\n{worker.log_tail()}")
        await asyncio.sleep(0.25)


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def dashboard(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dashboard]:
    stack = StackEnv(read_env())
    prefix = unique("t") + "-"
    kafka = stack.kafka(prefix)
    work = tmp_path_factory.mktemp("dashboard")
    with private_database(stack) as url:
        try:
            replay = str(REPLAY_PER_PARTITION)
            async with (
                live_system(
                    stack, kafka, url, work, patients=PATIENTS, CARDIO_API_LIVE_REPLAY_PER_PARTITION=replay
                ) as system,
                EventProducer(kafka) as producer,
            ):
                d = await _started(system, url, work, kafka, producer)
                try:
                    yield d
                finally:
                    d.stop.set()
                    for task in d.tasks:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(task, 10)
        finally:
            await delete_prefixed_topics(stack.bootstrap, prefix)


async def _started(
    system: LiveSystem, url: str, work: Path, kafka: KafkaSettings, producer: EventProducer
) -> Dashboard:
    """Publish the prescriptions, wait for the worker, start the fleets; the Dashboard stops them at teardown."""
    d = Dashboard(system, url, work, Observed(), producer)
    # What `cardiorehab seed` does: the seeded prescriptions go to the stream ...
    await producer.send_many(current_prescriptions(url, PATIENTS))
    # ... and nurses prescribe new versions through the API: a short ceiling grace for the alert tests, and a stop
    # limit above the scenarios' peak so that only the ceiling rule fires.
    # (sim-002 keeps its seeded version 1: its first session is backfilled from before these prescriptions.)
    for pid, ceiling, grace_s in (("sim-001", 130, 2), ("sim-003", 135, 2), ("sim-051", 130, 1)):
        body = rx_body(ceiling, ceiling_grace_s=grace_s, absolute_limit_bpm=175)
        r = await d.api("POST", f"/api/v1/patients/{pid}/prescriptions", "nurse1", json=body)
        assert r.status_code == 201, r.text
    d.tasks.append(asyncio.create_task(observe(kafka, d.observed, d.stop)))
    await _wait_for_worker(work, system)
    await asyncio.sleep(1.5)  # let the worker read the prescriptions before the first reading
    now = time.time_ns()
    d.start_fleet(["sim-002"], [REPORTED], seed=2, start_ns=now - BACKFILL_S * NS)
    ids, scenarios = live_fleet(LIVE)
    d.start_fleet(ids, scenarios, seed=1, start_ns=now)
    return d


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b
