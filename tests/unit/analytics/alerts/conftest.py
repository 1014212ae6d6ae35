"""A fake clock and a snapshot builder for alert-rule tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from analytics.alerts import AlertEngineState, Snapshot, Thresholds, evaluate
from analytics.events import AlertV1

NS = 1_000_000_000
T0 = 1_800_000_000 * NS

THRESHOLDS = Thresholds(
    ceiling_bpm=130.0,
    ceiling_grace_s=20.0,
    absolute_limit_bpm=140.0,
    do_not_start_rest_hr_bpm=120.0,
    signal_lost_s=10.0,
    low_battery_pct=15,
    beta_blocker=False,
)


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = T0

    def advance(self, seconds: float) -> int:
        self.now_ns += int(seconds * NS)
        return self.now_ns


def snapshot(now_ns: int, **kw: Any) -> Snapshot:
    base: dict[str, Any] = dict(
        patient_id="p1",
        session_id="s1",
        now_ns=now_ns,
        session_started_ns=T0,
        phase="exercise",
        hr_bpm=110.0,
        last_valid_ns=now_ns,
        last_reading_ns=now_ns,
        sensor_contact=True,
        battery_pct=80,
        rest_hr_bpm=70.0,
        session_max_hr_bpm=120.0,
        rhythm_irregular=False,
        exercise_seen=True,
        thresholds=THRESHOLDS,
    )
    base.update(kw)
    return Snapshot(**base)


class Run:
    """Feeds one snapshot per simulated second and records every alert event."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.state = AlertEngineState()
        self.alerts: list[AlertV1] = []

    def seconds(self, n: int, make: Callable[[int], Snapshot] | None = None, **kw: Any) -> list[AlertV1]:
        out = []
        for _ in range(n):
            now = self.clock.advance(1.0)
            snap = make(now) if make else snapshot(now, **kw)
            self.state, emitted = evaluate(self.state, snap)
            out.extend(emitted)
        self.alerts.extend(out)
        return out

    def of(self, rule: str) -> list[tuple[str, str]]:
        return [(a.event, a.tier) for a in self.alerts if a.rule == rule]


@pytest.fixture
def run() -> Run:
    return Run()


def with_thresholds(**kw: Any) -> Thresholds:
    return dataclasses.replace(THRESHOLDS, **kw)
