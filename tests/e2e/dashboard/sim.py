"""Simulated patients for the dashboard suite: scenarios, and fleets run against the wall clock with chosen ids.

``ingest.simulate.SimulatorRunner`` numbers patients sim-001.. from its own start; the suite needs fleets for
chosen patients and one that starts in the past (a gateway backfilling a session it buffered), so it drives the
same :class:`~ingest.simulator.Fleet` and :class:`~ingest.simulate.Translator` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from ingest.events import SensorHrV1
from ingest.producer import EventProducer
from ingest.simulate import Numbering, Translator
from ingest.simulator import Fleet, load_scenario, scenario_from_dict
from ingest.simulator.scenario import Scenario

NS = 1_000_000_000


def scenario(
    name: str, phases: list[dict[str, Any]], *, strap: str = "hrs", tau_s: float = 12, **extra: Any
) -> Scenario:
    """A scenario without between-patient variation (70 bpm at rest, a measured peak of 160)."""
    return scenario_from_dict(
        {
            "format": "cardiorehab.scenario/1",
            "name": name,
            "description": "dashboard end-to-end scenario",
            "patient": {
                "resting_hr_bpm": 70,
                "peak_hr_bpm": 160,
                "beta_blocker": False,
                "hrr1_bpm": 20,
                "ectopy_per_min": 0.0,
                "hr_on_tau_s": tau_s,
                "hr_off_tau_s": 15,
            },
            "strap": {"kind": strap, "battery_start_pct": 80, "battery_drain_pct_per_h": 1},
            "phases": phases,
            "episodes": extra.get("episodes", {}),
        },
        name,
    )


# sim-001 (patient1): above the 130-bpm ceiling (about 142 bpm) from ~20 s on, for 10 minutes: cue "ease off".
ABOVE_CEILING = scenario(
    "above_ceiling",
    [
        {"name": "rest", "kind": "rest", "duration_s": 8, "intensity": 0.0},
        {"name": "hard", "kind": "exercise", "duration_s": 900, "intensity": 0.8},
    ],
)
# sim-002 (patient2): a 5-minute session with a cool-down, then the strap is off for 130 s (a new session follows),
# then easy exercise. Started 430 s in the past, so the first session arrives as a gateway's backfill and is split
# off (and summarised) by the first live reading.
BACKFILL_S = 430
REPORTED = scenario(
    "reported",
    [
        {"name": "rest", "kind": "rest", "duration_s": 40, "intensity": 0.0},
        {"name": "warm_up", "kind": "warm_up", "duration_s": 40, "intensity": 0.2, "end_intensity": 0.5},
        {"name": "work", "kind": "exercise", "duration_s": 120, "intensity": 0.6},
        {"name": "cool_down", "kind": "cool_down", "duration_s": 40, "intensity": 0.25},
        {"name": "recovery", "kind": "recovery", "duration_s": 190, "intensity": 0.05},
        {"name": "again", "kind": "exercise", "duration_s": 900, "intensity": 0.4},
    ],
    episodes={"dropout": [{"start_s": 300, "duration_s": 130}]},
)
# sim-003 (patient3): a Polar H10 (ECG) at moderate effort.
WITH_ECG = scenario(
    "with_ecg",
    [
        {"name": "rest", "kind": "rest", "duration_s": 20, "intensity": 0.0},
        {"name": "work", "kind": "exercise", "duration_s": 900, "intensity": 0.5},
    ],
    strap="polar_h10",
)
# The on-demand ceiling breach: a fast heart (time constant 3 s) goes from rest to its peak (160 bpm).
FAST_BREACH = scenario(
    "fast_breach",
    [
        {"name": "rest", "kind": "rest", "duration_s": 1, "intensity": 0.0},
        {"name": "surge", "kind": "exercise", "duration_s": 600, "intensity": 1.0},
    ],
    tau_s=3,
)


def patient_ids(first: int, last: int) -> list[str]:
    return [f"sim-{i:03d}" for i in range(first, last + 1)]


def live_fleet(last: int) -> tuple[list[str], list[Scenario]]:
    """sim-001 and sim-003 as above, sim-004..``last`` the standard rehab session (with between-patient variation);
    sim-002 runs in its own (backfilled) fleet."""
    ids = ["sim-001", *patient_ids(3, last)]
    rehab = load_scenario("rehab_session")
    return ids, [ABOVE_CEILING, WITH_ECG] + [rehab] * (len(ids) - 2)


class FleetRun:
    """Publishes a fleet's readings as the wall clock passes their time, until stopped."""

    def __init__(self, ids: Sequence[str], scenarios: Sequence[Scenario], *, seed: int, start_ns: int) -> None:
        self.ids = list(ids)
        self.fleet = Fleet(len(ids), seed, list(scenarios), start_time_ns=start_ns)
        devices = [i.replace("sim-", "sim-strap-") for i in ids]
        self.translator = Translator(self.ids, devices, Numbering(base=start_ns // 1_000_000))
        self.published: list[SensorHrV1] = []

    async def run(self, producer: EventProducer, stop: asyncio.Event, tick_s: float = 0.2) -> None:
        while not stop.is_set():
            notifications = self.fleet.advance_to(time.time_ns())
            events = [e for e in map(self.translator.translate, notifications) if e is not None]
            if events:
                await producer.send_many(events)
                self.published.extend(e for e in events if isinstance(e, SensorHrV1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick_s)
