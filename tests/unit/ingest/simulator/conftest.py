"""One simulated run of every shipped scenario, shared by the simulator tests (it takes a few seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ingest.simulator import Fleet, GroundTruth, Scenario, SimNotification, load_scenario

SCENARIO_NAMES = (
    "rehab_session",
    "ceiling_breach",
    "signal_dropout",
    "irregular_rhythm",
    "beta_blocker",
    "contact_loss",
    "low_battery",
)
NS_PER_S = 1_000_000_000


@dataclass
class Run:
    fleet: Fleet
    notes: tuple[SimNotification, ...]
    _truth: dict[int, GroundTruth] = field(default_factory=dict)

    def index(self, name: str) -> int:
        return SCENARIO_NAMES.index(name)

    def truth(self, name: str) -> GroundTruth:
        i = self.index(name)
        if i not in self._truth:
            self._truth[i] = self.fleet.truth(i)
        return self._truth[i]

    def of(self, name: str, kind: str | None = None) -> list[SimNotification]:
        i = self.index(name)
        return [n for n in self.notes if n.patient_index == i and (kind is None or n.kind == kind)]

    def local_s(self, name: str, note: SimNotification) -> float:
        """Notification time in seconds since that patient's session start."""
        return (note.time_ns - self.truth(name).start_ns) / NS_PER_S


@pytest.fixture(scope="session")
def scenarios() -> tuple[Scenario, ...]:
    return tuple(load_scenario(n) for n in SCENARIO_NAMES)


@pytest.fixture(scope="session")
def run(scenarios: tuple[Scenario, ...]) -> Run:
    fleet = Fleet(len(scenarios), 11, scenarios, record_truth=True)
    longest = max(s.duration_s for s in scenarios)
    notes = fleet.advance_to(longest * NS_PER_S)
    return Run(fleet, tuple(notes))
