"""Runs simulated straps in real time and publishes what they send, through the gateway's own decoders.

The :class:`~ingest.simulator.Fleet` produces the exact bytes real straps notify; this module decodes them with
:mod:`ingest.gatt` / :mod:`ingest.pmd` (as the BLE gateway does), numbers them per device, stamps the gateway clock
and publishes ``sensor.hr.v1`` / ``sensor.ecg.v1`` events. A payload the decoder rejects becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from ingest.errors import MalformedPayloadError
from ingest.events import DeadLetterV1, SensorEcgV1, SensorHrV1
from ingest.gatt import parse_battery_level, parse_heart_rate_measurement
from ingest.pmd import parse_pmd_frame, polar_to_unix_ns
from ingest.simulator import Fleet, SimNotification
from ingest.wire import Event, encode

ECG_FS_HZ = 130.0  # Polar H10 ECG sample rate (BLE.md section 2)


def patient_id_of(index: int) -> str:
    """Simulated patient ids are 1-based: sim-001, sim-002, ... (the demo seed uses the same ids)."""
    return f"sim-{index + 1:03d}"


def device_id_of(index: int) -> str:
    return f"sim-strap-{index + 1:03d}"


@dataclass
class Numbering:
    """Per-device sequence numbers for one simulator run.

    A run's numbers start at its start time in milliseconds, so a restarted simulator keeps numbering above the
    previous run (a strap notifies about once a second, far fewer times than milliseconds pass) and downstream
    de-duplication by (device, seq) never mistakes a new reading for a replay.
    """

    base: int
    next_hr: dict[int, int] = field(default_factory=dict)
    next_ecg: dict[int, int] = field(default_factory=dict)

    def take(self, counters: dict[int, int], patient: int) -> int:
        seq = counters.get(patient, self.base)
        counters[patient] = seq + 1
        return seq


@dataclass
class SimulatorStats:
    hr_published: int = 0
    ecg_published: int = 0
    dead_letters: int = 0
    ticks: int = 0


class Translator:
    """Turns fleet notifications into events, the way the gateway would (pure apart from its counters)."""

    def __init__(self, patient_ids: Sequence[str], device_ids: Sequence[str], numbering: Numbering) -> None:
        self._patients = patient_ids
        self._devices = device_ids
        self._numbering = numbering
        self._battery: dict[int, int] = {}

    def translate(self, n: SimNotification) -> Event | None:
        pid, did = self._patients[n.patient_index], self._devices[n.patient_index]
        try:
            if n.kind == "battery":
                self._battery[n.patient_index] = parse_battery_level(n.payload)
                return None
            if n.kind == "hrm":
                m = parse_heart_rate_measurement(n.payload)
                return SensorHrV1(
                    patient_id=pid,
                    device_id=did,
                    seq=self._numbering.take(self._numbering.next_hr, n.patient_index),
                    gateway_time_ns=n.time_ns,
                    hr_bpm=m.hr_bpm,
                    rr_ms=tuple(m.rr_ms),
                    sensor_contact=m.sensor_contact,
                    energy_expended_kj=m.energy_expended_kj,
                    battery_pct=self._battery.get(n.patient_index),
                )
            frame = parse_pmd_frame(n.payload)
            return SensorEcgV1(
                patient_id=pid,
                device_id=did,
                seq=self._numbering.take(self._numbering.next_ecg, n.patient_index),
                gateway_time_ns=n.time_ns,
                device_time_ns=polar_to_unix_ns(frame.timestamp_ns),
                fs_hz=ECG_FS_HZ,
                samples_uv=tuple(s for s in frame.samples if isinstance(s, int)),
            )
        except MalformedPayloadError as exc:
            return DeadLetterV1(
                stage="simulator",
                origin=f"ble:{did}:{n.kind}@{n.time_ns}",
                reason=str(exc),
                received_time_ns=n.time_ns,
                key=pid,
                payload_b64=base64.b64encode(n.payload).decode(),
            )


Publish = Callable[[Sequence[Event]], Awaitable[None]]


class SimulatorRunner:
    """Advances a fleet with the wall clock (or faster) and publishes each tick's events as one acknowledged batch."""

    def __init__(
        self,
        make_fleet: Callable[[int, int], Fleet],
        n_patients: int,
        publish: Publish,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        record: IO[bytes] | None = None,
    ) -> None:
        self._make_fleet = make_fleet
        self._publish = publish
        self._clock_ns = clock_ns
        self._record = record
        self.patient_ids = [patient_id_of(i) for i in range(n_patients)]
        self.device_ids = [device_id_of(i) for i in range(n_patients)]
        self.stats = SimulatorStats()

    async def run(self, *, duration_s: float | None, loop: bool, tick_s: float = 0.2, seed: int = 0) -> None:
        start = self._clock_ns()
        translator = Translator(self.patient_ids, self.device_ids, Numbering(base=start // 1_000_000))
        fleet = self._make_fleet(seed, start)
        session_end = start + int(max(fleet.scenario(i).duration_s for i in range(len(self.patient_ids))) * 1e9)
        end = None if duration_s is None else start + int(duration_s * 1e9)
        while True:
            now = self._clock_ns()
            horizon = now if end is None else min(now, end)
            notifications = fleet.advance_to(horizon)
            events = [e for e in map(translator.translate, notifications) if e is not None]
            if events:
                await self._publish(events)
                self._count(events)
            self.stats.ticks += 1
            if end is not None and now >= end:
                return
            if now >= session_end + 1_000_000_000:
                if not loop:
                    return
                seed += 1
                fleet = self._make_fleet(seed, now)
                session_end = now + int(max(fleet.scenario(i).duration_s for i in range(len(self.patient_ids))) * 1e9)
            await asyncio.sleep(tick_s)

    def _count(self, events: Sequence[Event]) -> None:
        for e in events:
            if isinstance(e, SensorHrV1):
                self.stats.hr_published += 1
            elif isinstance(e, SensorEcgV1):
                self.stats.ecg_published += 1
            else:
                self.stats.dead_letters += 1
            if self._record is not None and not isinstance(e, SensorEcgV1):
                self._record.write(encode(e) + b"\n")
        if self._record is not None:
            self._record.flush()
