"""Real workers on the real broker, fed by the real simulator, observed through the real output topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.simulate import SimulatorRunner
from ingest.simulator import Fleet, scenario_from_dict
from ingest.simulator.scenario import Scenario
from ingest.topics_admin import ensure_topics
from ingest.wire import Event, decode
from tests.support.processes import ServiceProcess, service_env
from tests.support.stack import StackEnv, unique


def fast_scenario(name: str, phases: list[dict[str, Any]], episodes: dict[str, Any] | None = None) -> Scenario:
    """A short scenario for real-time tests: no between-patient variation, a strap with contact detection."""
    return scenario_from_dict(
        {
            "format": "cardiorehab.scenario/1",
            "name": name,
            "description": "integration test scenario",
            "patient": {
                "resting_hr_bpm": 70,
                "peak_hr_bpm": 160,
                "beta_blocker": False,
                "hrr1_bpm": 20,
                "ectopy_per_min": 0.0,
                "hr_on_tau_s": 12,
                "hr_off_tau_s": 15,
            },
            "strap": {"kind": "hrs", "battery_start_pct": 80, "battery_drain_pct_per_h": 1},
            "phases": phases,
            "episodes": episodes or {},
        },
        name,
    )


def prescription_for(patient_id: str, **kw: Any) -> PrescriptionV1:
    base: dict[str, Any] = dict(
        patient_id=patient_id,
        clinic_id="test",
        version=1,
        prescribed_by="test",
        prescribed_time_ns=time.time_ns(),
        method="karvonen",
        resting_hr_bpm=70.0,
        peak_hr_bpm=160.0,
        peak_hr_source="cpet",
        intensity_low=0.4,
        intensity_high=0.6,
        ceiling_bpm=130.0,
    )
    base.update(kw)
    return PrescriptionV1(**base)


@dataclass
class Observed:
    features: list[tuple[FeaturesV1, int]] = field(default_factory=list)  # (event, append ms)
    alerts: list[tuple[AlertV1, int]] = field(default_factory=list)
    sessions: list[SessionV1] = field(default_factory=list)


async def observe(kafka: KafkaSettings, into: Observed, stop: asyncio.Event) -> None:
    topics = {
        kafka.topic(FeaturesV1.TOPIC): FeaturesV1,
        kafka.topic(AlertV1.TOPIC): AlertV1,
        kafka.topic(SessionV1.TOPIC): SessionV1,
    }
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        group_id=unique("observer-"),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                kind = topics[tp.topic]
                for r in records:
                    event = decode(kind, r.value or b"")
                    if isinstance(event, FeaturesV1):
                        into.features.append((event, r.timestamp))
                    elif isinstance(event, AlertV1):
                        into.alerts.append((event, r.timestamp))
                    elif isinstance(event, SessionV1):
                        into.sessions.append(event)
    finally:
        await consumer.stop()


@dataclass
class Rig:
    kafka: KafkaSettings
    work: Path
    env: dict[str, str]
    workers: dict[str, ServiceProcess] = field(default_factory=dict)
    published: list[SensorHrV1] = field(default_factory=list)
    observed: Observed = field(default_factory=Observed)

    def start_worker(self, name: str) -> ServiceProcess:
        proc = ServiceProcess(name, ["worker", "--name", name], self.env, self.work).start()
        self.workers[name] = proc
        return proc

    async def wait_ready(self, name: str, timeout_s: float = 60.0) -> None:
        alive = self.work / "faust" / name / "alive"
        deadline = time.monotonic() + timeout_s
        while not alive.exists():
            if not self.workers[name].running:
                raise RuntimeError(f"worker {name} exited:\n{self.workers[name].log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {name} not ready:\n{self.workers[name].log_tail()}")
            await asyncio.sleep(0.5)

    async def publish_prescriptions(self, prescriptions: Sequence[PrescriptionV1]) -> None:
        async with EventProducer(self.kafka) as producer:
            await producer.send_many(prescriptions)

    async def simulate(self, scenario: Scenario | Sequence[Scenario], patients: int, duration_s: float) -> None:
        async with EventProducer(self.kafka) as producer:

            async def publish(events: Sequence[Event]) -> None:
                await producer.send_many(events)
                self.published.extend(e for e in events if isinstance(e, SensorHrV1))

            runner = SimulatorRunner(
                lambda s, start: Fleet(patients, 11 + s, scenario, start_time_ns=start), patients, publish
            )
            await runner.run(duration_s=duration_s, loop=False)


@pytest.fixture
async def rig(stack: StackEnv, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Rig]:
    kafka = stack.kafka(topic_prefix)
    await ensure_topics(kafka, [SensorHrV1, PrescriptionV1, FeaturesV1, AlertV1, SessionV1])
    env = service_env(
        {},
        CARDIO_ENVIRONMENT="test",
        CARDIO_KAFKA_BOOTSTRAP=kafka.bootstrap,
        CARDIO_KAFKA_TOPIC_PREFIX=topic_prefix,
        CARDIO_KAFKA_PARTITIONS=str(kafka.partitions),
        CARDIO_WORKER_APP_ID=unique("stream-"),
        CARDIO_WORKER_DATA_DIR=str(tmp_path / "faust"),
    )
    r = Rig(kafka, tmp_path, env)
    stop = asyncio.Event()
    observer = asyncio.create_task(observe(kafka, r.observed, stop))
    try:
        yield r
    finally:
        stop.set()
        await observer
        for proc in r.workers.values():
            proc.stop()
