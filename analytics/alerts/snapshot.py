"""What the rules see: one immutable snapshot of a patient at an instant, and the thresholds that apply."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from analytics.alerts import const
from analytics.events import PrescriptionV1

EXERCISE_PHASES = frozenset({"warm_up", "exercise", "cool_down"})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Per-patient thresholds in effect: the prescription's, or the sourced defaults in :mod:`const`."""

    ceiling_bpm: float
    ceiling_grace_s: float
    absolute_limit_bpm: float
    do_not_start_rest_hr_bpm: float
    signal_lost_s: float
    low_battery_pct: int
    beta_blocker: bool


_resolved: dict[int, tuple[PrescriptionV1, Thresholds]] = {}


def resolve_thresholds(rx: PrescriptionV1) -> Thresholds:
    """The thresholds in effect for ``rx`` (memoised per prescription object: it is immutable)."""
    hit = _resolved.get(id(rx))
    if hit is not None and hit[0] is rx:
        return hit[1]
    if len(_resolved) > 50_000:
        _resolved.clear()
    thresholds = _resolve(rx)
    _resolved[id(rx)] = (rx, thresholds)
    return thresholds


def _resolve(rx: PrescriptionV1) -> Thresholds:
    t = rx.thresholds
    absolute = t.absolute_limit_bpm
    if absolute is None:
        peak = rx.peak_hr_bpm if rx.peak_hr_source in ("cpet", "exercise_test") else None
        absolute = min(const.ABSOLUTE_LIMIT_BPM, peak) if peak else const.ABSOLUTE_LIMIT_BPM
    return Thresholds(
        ceiling_bpm=rx.ceiling_bpm,
        ceiling_grace_s=float(const.CEILING_GRACE_S if t.ceiling_grace_s is None else t.ceiling_grace_s),
        absolute_limit_bpm=max(absolute, rx.ceiling_bpm),
        do_not_start_rest_hr_bpm=t.do_not_start_rest_hr_bpm or const.DO_NOT_START_REST_HR_BPM,
        signal_lost_s=t.signal_lost_s or const.SIGNAL_LOST_S,
        low_battery_pct=const.LOW_BATTERY_PCT if t.low_battery_pct is None else t.low_battery_pct,
        beta_blocker=rx.beta_blocker,
    )


class Snapshot(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One patient at ``now_ns`` (the injected clock).

    A frozen msgspec struct rather than a frozen dataclass: the worker builds one per patient per second, and a
    frozen dataclass sets each of its 15 fields through ``object.__setattr__`` (measured: 5.9 µs against 0.4 µs).
    ``gc=False``: it holds no containers that could close a cycle, so the collector need not track it.

    ``hr_bpm`` is the newest valid heart rate (None when the strap sent none or reported no contact) and
    ``last_valid_ns`` when it was measured. ``rest_hr_bpm`` is the session's resting HR (before exercise).
    """

    patient_id: str
    session_id: str | None
    now_ns: int
    session_started_ns: int | None
    phase: str
    hr_bpm: float | None
    last_valid_ns: int | None
    last_reading_ns: int | None
    sensor_contact: bool | None
    battery_pct: int | None
    rest_hr_bpm: float | None
    session_max_hr_bpm: float | None
    rhythm_irregular: bool
    exercise_seen: bool
    thresholds: Thresholds

    @property
    def in_session(self) -> bool:
        return self.session_id is not None

    @property
    def exercising(self) -> bool:
        return self.phase in EXERCISE_PHASES

    @property
    def session_elapsed_s(self) -> float:
        return 0.0 if self.session_started_ns is None else (self.now_ns - self.session_started_ns) / 1e9

    @property
    def valid_age_s(self) -> float | None:
        return None if self.last_valid_ns is None else (self.now_ns - self.last_valid_ns) / 1e9
