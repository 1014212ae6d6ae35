"""Session phases (rest, warm-up, exercise, cool-down, recovery) from a 1 Hz heart-rate trace.

A causal state machine on the 15-s trailing mean heart rate, so the live processor and the batch function
label every second identically (:class:`PhaseTracker` is shared). Thresholds are fractions of the patient's
heart-rate reserve from the prescription:

- below the rest level (20 % HRR) the patient is resting, or recovering once exercise has happened;
- at or above the exercise level (35 % HRR, never above the band's lower edge) the patient is exercising;
- exercise ends when HR falls 5 % HRR below the exercise level (hysteresis), which starts the cool-down;
- between the two levels before any exercise is the warm-up.

An interval session's dips are labelled cool-down and then exercise again; recovery is measured after the
last exercise bout (:mod:`analytics.physiology.recovery`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import as_float_array
from analytics.physiology.const import (
    PHASE_EXERCISE_HRR_FRACTION,
    PHASE_EXIT_HYSTERESIS_HRR_FRACTION,
    PHASE_REST_HRR_FRACTION,
    PHASE_SMOOTHING_S,
)
from analytics.physiology.prescription import Prescription

PhaseArray = npt.NDArray[np.int8]


class Phase(IntEnum):
    """Session phase of one second; :attr:`label` matches ``features.v1``."""

    REST = 0
    WARM_UP = 1
    EXERCISE = 2
    COOL_DOWN = 3
    RECOVERY = 4
    UNKNOWN = 5

    @property
    def label(self) -> str:
        """Lower-case name used on the wire (``warm_up``, ``cool_down``, ...)."""
        return self.name.lower()


AT_REST_PHASES: frozenset[Phase] = frozenset({Phase.REST, Phase.RECOVERY})


@dataclass(frozen=True, slots=True)
class PhaseThresholds:
    """Heart-rate levels (bpm) separating the phases, on the 15-s mean."""

    rest_level_bpm: float
    exercise_entry_bpm: float
    exercise_exit_bpm: float


def phase_thresholds(p: Prescription) -> PhaseThresholds:
    """Derive the phase levels from the prescription.

    With a peak HR: rest level = HRrest + 20 % HRR (at most exit - 5 % HRR); exercise entry =
    min(HRrest + 35 % HRR, band low); exit = entry - 5 % HRR. Without one (flagged fallback band): entry = band
    low, exit = entry - 5 bpm, rest level half-way from HRrest to the exit level.

    References
    ----------
    .. [1] JCM 2021;10:3071, Table 3 (CR training starts at 40 % HRR).
    .. [2] Joo KC, et al. 2004 (RHR+20 bpm is already ~40 % VO2R, i.e. light exercise).
    """
    rest = p.rest_hr_bpm
    hrr = p.heart_rate_reserve_bpm
    if hrr is not None:
        entry = min(rest + PHASE_EXERCISE_HRR_FRACTION * hrr, p.target_low_bpm)
        exit_ = entry - PHASE_EXIT_HYSTERESIS_HRR_FRACTION * hrr
        rest_level = min(rest + PHASE_REST_HRR_FRACTION * hrr, exit_ - PHASE_EXIT_HYSTERESIS_HRR_FRACTION * hrr)
    else:
        entry = p.target_low_bpm
        exit_ = entry - 5.0
        rest_level = 0.5 * (rest + exit_)
    return PhaseThresholds(rest_level_bpm=rest_level, exercise_entry_bpm=entry, exercise_exit_bpm=exit_)


_REST, _WARM_UP, _EXERCISE = Phase.REST, Phase.WARM_UP, Phase.EXERCISE
_COOL_DOWN, _RECOVERY, _UNKNOWN = Phase.COOL_DOWN, Phase.RECOVERY, Phase.UNKNOWN
"""Module-level aliases: ``Phase.X`` is an enum class attribute lookup (~0.15 us), and :meth:`PhaseTracker.step`
runs once per patient-second on the live path."""


class PhaseTracker:
    """Causal phase state machine; :meth:`step` takes one second's HR (NaN allowed) and returns its phase."""

    __slots__ = ("_count", "_index", "_seen_data", "_state", "_sum", "_window", "last_exit_index", "thresholds")

    def __init__(self, thresholds: PhaseThresholds, smoothing_s: int = PHASE_SMOOTHING_S) -> None:
        self.thresholds = thresholds
        self._window: deque[float | None] = deque(maxlen=smoothing_s)  # None: a second without data
        self._sum = 0.0
        self._count = 0
        self._state = _REST
        self._seen_data = False
        self.last_exit_index: int | None = None
        """Second at which the most recent exercise bout ended (first cool-down second)."""
        self._index = 0

    @property
    def state(self) -> Phase:
        """Current phase (carried through seconds without data)."""
        return self._state if self._seen_data else _UNKNOWN

    def step(self, hr_bpm: float) -> Phase:
        """Advance one second (the 15-s mean is kept as a running sum, identical in batch and streaming)."""
        win = self._window
        total, count = self._sum, self._count
        if len(win) == win.maxlen:
            old = win[0]
            if old is not None:
                total -= old
                count -= 1
        if hr_bpm == hr_bpm:  # not NaN
            win.append(hr_bpm)
            total += hr_bpm
            count += 1
        else:
            win.append(None)
        idx = self._index
        self._index = idx + 1
        self._count = count
        if count == 0:
            self._sum = 0.0  # resynchronise: no valid values left in the window
            return _UNKNOWN
        self._sum = total
        self._seen_data = True
        s = total / count
        th = self.thresholds
        st = self._state  # always a Phase member (a singleton), so identity tests are exact
        if s >= th.exercise_entry_bpm and st is not _EXERCISE:
            st = _EXERCISE
        elif st is _EXERCISE:
            if s < th.exercise_exit_bpm:
                st = _COOL_DOWN
                self.last_exit_index = idx
        elif st is _REST or st is _WARM_UP:
            st = _WARM_UP if s >= th.rest_level_bpm else _REST
        elif st is _COOL_DOWN and s < th.rest_level_bpm:
            st = _RECOVERY
        self._state = st
        return st

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state (NaN written as None)."""
        return {
            "th": [
                self.thresholds.rest_level_bpm,
                self.thresholds.exercise_entry_bpm,
                self.thresholds.exercise_exit_bpm,
            ],
            "maxlen": self._window.maxlen,
            "window": list(self._window),
            "state": int(self._state),
            "seen": self._seen_data,
            "exit": self.last_exit_index,
            "index": self._index,
            "sum": self._sum,
            "count": self._count,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PhaseTracker:
        """Rebuild from :meth:`to_state` output."""
        th = state["th"]
        obj = cls(PhaseThresholds(float(th[0]), float(th[1]), float(th[2])), int(state["maxlen"]))
        obj._window.extend(None if v is None else float(v) for v in state["window"])
        obj._state = Phase(int(state["state"]))
        obj._seen_data = bool(state["seen"])
        obj.last_exit_index = None if state["exit"] is None else int(state["exit"])
        obj._index = int(state["index"])
        obj._sum = float(state["sum"])
        obj._count = int(state["count"])
        return obj


@dataclass(frozen=True, eq=False, slots=True)
class SessionPhases:
    """Phase of every second, and where the last exercise bout ended."""

    phases: PhaseArray
    thresholds: PhaseThresholds
    last_exit_index: int | None

    def seconds_in(self, phase: Phase) -> int:
        """Seconds labelled ``phase``."""
        return int(np.count_nonzero(self.phases == phase))

    def at_rest(self) -> npt.NDArray[np.bool_]:
        """Per second: rest or recovery (where resting HRV may be reported)."""
        return np.isin(self.phases, [int(p) for p in AT_REST_PHASES])


def detect_phases(hr_bpm: npt.ArrayLike, p: Prescription) -> SessionPhases:
    """Label each second of a 1 Hz heart-rate trace with its session phase (see the module docstring)."""
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    tracker = PhaseTracker(phase_thresholds(p))
    phases = np.fromiter((tracker.step(v) for v in hr.tolist()), dtype=np.int8, count=hr.size)
    return SessionPhases(phases=phases, thresholds=tracker.thresholds, last_exit_index=tracker.last_exit_index)
