"""What the live processor reads every second, and the plain-data form of the prescription.

:class:`StreamSnapshot` is built by :class:`analytics.physiology.streaming.PatientStream`.
:func:`recent_rest_hrv` is the batch definition of its HRV fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np

from analytics.physiology.artefacts import ArtefactCounts
from analytics.physiology.const import MS_PER_MIN
from analytics.physiology.hrv import sdnn_rmssd_ms
from analytics.physiology.phases import Phase
from analytics.physiology.prescription import (
    IntensityMethod,
    PeakHrSource,
    Prescription,
    PrescriptionFlag,
    Sex,
)
from analytics.physiology.quality import SignalQuality
from analytics.physiology.recovery import HeartRateRecovery
from analytics.physiology.zones import TimeInZones, Zone

HRV_WINDOW_BEATS = 300
"""Recent-window HRV uses at most the last 300 corrected beats (5 min at 60 bpm, Task Force 1996)."""
MIN_STREAM_HRV_BEATS = 60
"""...and at least 60 beats at rest (ultra-short RMSSD, about 1 min)."""
REST_CHECK_BEATS = 10
"""A beat counts as at rest while the mean HR of the 10 beats ending with it is at or below the rest level."""
ARTEFACT_WINDOW_BEATS = 64
"""Artefact rate for signal quality: share of the last 64 finalised beats that were corrected."""


@dataclass(frozen=True)  # no slots: built for every patient every second, see analytics.physiology.frozen
class StreamSnapshot:
    """One patient's live features at one second."""

    t_s: int
    """Number of closed session seconds (the snapshot describes second ``t_s - 1``)."""
    elapsed_s: float
    hr_bpm: float | None
    zone: Zone
    band_pct: float | None
    time_in_zones: TimeInZones
    trimp_banister: float | None
    trimp_edwards: float | None
    phase: Phase
    session_peak_hr_bpm: float | None
    rmssd_ms: float | None
    sdnn_ms: float | None
    hrv_n_beats: int
    rhythm_irregular: bool
    rhythm_windows: int
    artefacts: ArtefactCounts
    rr_pending_beats: int
    """Beats received but not yet final (the correction delay)."""
    recovery: HeartRateRecovery | None
    signal: SignalQuality
    readings: int
    late_readings: int

    @property
    def in_band(self) -> bool | None:
        """Whether the current second is in the prescribed band (None without data)."""
        return None if self.zone == Zone.NO_DATA else self.zone == Zone.IN_BAND


def recent_rest_hrv(nn_ms: list[float], rest_level_bpm: float) -> tuple[float, float, int]:
    """RMSSD and SDNN (ms) of the trailing run of at-rest beats among the last ``HRV_WINDOW_BEATS``.

    A beat is at rest when the trailing 10-beat mean HR is at or below ``rest_level_bpm`` (the phase rest
    level). Returns ``(nan, nan, 0)`` when fewer than ``MIN_STREAM_HRV_BEATS`` trailing beats are at rest.

    References
    ----------
    .. [1] Task Force of the ESC and NASPE. Circulation 1996;93:1043-1065 (resting short-term HRV).
    .. [2] CLINICAL.md 2.6: rest windows, not exercise.
    """
    window = nn_ms[-HRV_WINDOW_BEATS:]
    n = len(window)
    if n < MIN_STREAM_HRV_BEATS:
        return math.nan, math.nan, 0
    # prefix sums in np.cumsum's order (sequential), so every mean below is the same float as a vectorised one
    csum = list(accumulate(window, initial=0.0))
    # Fast exit, exact: while exercising, one of the last MIN_STREAM_HRV_BEATS beats is active (usually the last),
    # so the trailing run at rest is too short. Called once per block of finalised beats on the live path.
    for idx in range(n, n - MIN_STREAM_HRV_BEATS, -1):
        lo = max(idx - REST_CHECK_BEATS, 0)
        if MS_PER_MIN * (idx - lo) / (csum[idx] - csum[lo]) > rest_level_bpm:
            return math.nan, math.nan, 0
    sums = np.array(csum)
    idx_a = np.arange(1, n + 1)
    lo_a = np.maximum(idx_a - REST_CHECK_BEATS, 0)
    mean_hr = MS_PER_MIN * (idx_a - lo_a) / (sums[idx_a] - sums[lo_a])  # trailing 10-beat mean HR
    active = np.flatnonzero(mean_hr > rest_level_bpm)
    tail = np.array(window[int(active[-1]) + 1 :] if active.size else window, dtype=np.float64)
    sdnn, rmssd = sdnn_rmssd_ms(tail)  # tail has >= MIN_STREAM_HRV_BEATS beats: the loop above checked them
    return rmssd, sdnn, int(tail.size)


def prescription_to_state(p: Prescription) -> dict[str, Any]:
    """JSON-compatible form of a prescription."""
    return {
        "rest_hr_bpm": p.rest_hr_bpm,
        "peak_hr_bpm": p.peak_hr_bpm,
        "peak_hr_source": p.peak_hr_source.value,
        "method": p.method.value,
        "target_low_bpm": p.target_low_bpm,
        "target_high_bpm": p.target_high_bpm,
        "ceiling_bpm": p.ceiling_bpm,
        "beta_blocked": p.beta_blocked,
        "rpe_target_low": p.rpe_target_low,
        "rpe_target_high": p.rpe_target_high,
        "sex": None if p.sex is None else p.sex.value,
        "vt1_hr_bpm": p.vt1_hr_bpm,
        "age_years": p.age_years,
        "flags": [f.value for f in p.flags],
    }


def prescription_from_state(d: dict[str, Any]) -> Prescription:
    """Inverse of :func:`prescription_to_state`."""
    return Prescription(
        rest_hr_bpm=float(d["rest_hr_bpm"]),
        peak_hr_bpm=None if d["peak_hr_bpm"] is None else float(d["peak_hr_bpm"]),
        peak_hr_source=PeakHrSource(d["peak_hr_source"]),
        method=IntensityMethod(d["method"]),
        target_low_bpm=float(d["target_low_bpm"]),
        target_high_bpm=float(d["target_high_bpm"]),
        ceiling_bpm=float(d["ceiling_bpm"]),
        beta_blocked=bool(d["beta_blocked"]),
        rpe_target_low=int(d["rpe_target_low"]),
        rpe_target_high=int(d["rpe_target_high"]),
        sex=None if d["sex"] is None else Sex(d["sex"]),
        vt1_hr_bpm=None if d["vt1_hr_bpm"] is None else float(d["vt1_hr_bpm"]),
        age_years=None if d["age_years"] is None else int(d["age_years"]),
        flags=tuple(PrescriptionFlag(f) for f in d["flags"]),
    )
