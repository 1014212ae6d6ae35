"""Counters the gateway keeps for operators (logged on exit, printed by the CLI, read by tests)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class GatewayStats:
    scans: int = 0
    straps_not_found: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    hr_readings: int = 0
    ecg_frames: int = 0
    acc_frames: int = 0
    # Input rejected and written to deadletter.v1, by what it was ("hrm", "pmd-data", "pmd-cp", ...).
    dead_letters: Counter[str] = field(default_factory=Counter)
    pmd_starts: int = 0
    pmd_stops: int = 0
    # PMD commands that failed, by reason ("status 10 INVALID_MTU", "timeout", ...).
    pmd_failures: Counter[str] = field(default_factory=Counter)
    pmd_stopped_by_strap: int = 0
    pmd_unexpected_responses: int = 0
    clock_reanchors: int = 0
    battery_reads: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            name: dict(value) if isinstance(value, Counter) else value
            for name in self.__slots__
            if isinstance(name, str) and (value := getattr(self, name)) is not None
        }
