"""The 1 Hz heart-rate trace built from timestamped sensor messages (shared rule for batch and streaming).

Second ``k`` of a session covers ``[start_s + k, start_s + k + 1)``. Its heart rate is the last plausible
reading in it; a reading without ``hr_bpm`` uses 60000 / mean of its RR intervals. Seconds without a
plausible reading are NaN (no data), never filled: gaps are reported, not invented.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import FloatArray, as_float_array
from analytics.physiology.const import MAX_PLAUSIBLE_HR_BPM, MIN_PLAUSIBLE_HR_BPM, MS_PER_MIN
from analytics.physiology.errors import InvalidInputError


def plausible_hr(hr_bpm: float) -> bool:
    """True for a finite heart rate within the plausible human range (20-250 bpm)."""
    return MIN_PLAUSIBLE_HR_BPM <= hr_bpm <= MAX_PLAUSIBLE_HR_BPM


def reading_hr_bpm(hr_bpm: float | None, rr_ms: Sequence[float]) -> float:
    """Heart rate of one reading: ``hr_bpm`` if given, else from its RR intervals; NaN if neither."""
    if hr_bpm is not None and not math.isnan(hr_bpm):
        return float(hr_bpm)
    if rr_ms:
        return MS_PER_MIN / (sum(rr_ms) / len(rr_ms))
    return math.nan


def second_index(t_s: float, start_s: float) -> int:
    """Index of the session second containing ``t_s``."""
    return math.floor(t_s - start_s)


def hr_per_second(t_s: npt.ArrayLike, hr_bpm: npt.ArrayLike, start_s: float, n_seconds: int) -> FloatArray:
    """Bin readings into a 1 Hz trace: last plausible reading per second, NaN where there is none.

    Parameters
    ----------
    t_s : array_like
        Reading times (s), non-decreasing, on the same clock as ``start_s``.
    hr_bpm : array_like
        Heart rate per reading (NaN = none); implausible values are dropped.
    start_s : float
        Session start.
    n_seconds : int
        Length of the trace; readings at or after ``start_s + n_seconds`` or before ``start_s`` are ignored.
    """
    t = as_float_array(t_s, "t_s")
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    if t.size != hr.size:
        raise InvalidInputError(f"t_s has {t.size} values for {hr.size} heart rates")
    if t.size > 1 and bool((np.diff(t) < 0).any()):
        raise InvalidInputError("t_s must be non-decreasing")
    out = np.full(n_seconds, np.nan)
    idx = np.floor(t - start_s).astype(np.int64)
    ok = (idx >= 0) & (idx < n_seconds) & (hr >= MIN_PLAUSIBLE_HR_BPM) & (hr <= MAX_PLAUSIBLE_HR_BPM)
    out[idx[ok]] = hr[ok]  # later readings overwrite earlier ones in the same second
    return out
