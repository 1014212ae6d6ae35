"""Heart-rate recovery after exercise (HRR1, HRR2) and the chronotropic response."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import as_float_array
from analytics.physiology.const import (
    CHRONOTROPIC_INCOMPETENCE_FRACTION,
    HRR1_ABNORMAL_BPM,
    HRR2_ABNORMAL_BPM,
    RECOVERY_PEAK_TOLERANCE_BPM,
    RECOVERY_PEAK_WINDOW_S,
    RECOVERY_SAMPLE_HALF_WIDTH_S,
)
from analytics.physiology.errors import InvalidInputError
from analytics.physiology.phases import Phase

HRR1_DELAY_S = 60
HRR2_DELAY_S = 120
RECOVERY_LOOKBACK_S = RECOVERY_PEAK_WINDOW_S
"""Seconds before the exercise exit searched for the end-of-exercise peak."""
RECOVERY_LAST_OFFSET_S = HRR2_DELAY_S + RECOVERY_SAMPLE_HALF_WIDTH_S
"""The last second read is this many seconds after the peak."""
RECOVERY_SPAN_S = RECOVERY_LOOKBACK_S + RECOVERY_SAMPLE_HALF_WIDTH_S + RECOVERY_LAST_OFFSET_S + 1
"""Seconds of history the streaming form keeps to compute recovery exactly like the batch function."""


@dataclass(frozen=True, slots=True)
class HeartRateRecovery:
    """Heart-rate recovery after the last exercise bout; a trend flag, not an acute alarm (CLINICAL.md 2.4)."""

    peak_index_s: int
    """Second of the end-of-exercise peak, from which recovery is timed."""
    peak_hr_bpm: float
    hr_60s_bpm: float | None
    hr_120s_bpm: float | None
    hrr1_bpm: float | None
    hrr2_bpm: float | None
    hrr1_abnormal: bool | None
    hrr2_abnormal: bool | None


def _mean_around(hr: npt.NDArray[np.float64], centre: int) -> float | None:
    lo, hi = centre - RECOVERY_SAMPLE_HALF_WIDTH_S, centre + RECOVERY_SAMPLE_HALF_WIDTH_S + 1
    if lo < 0 or hi > hr.size:
        return None
    seg = hr[lo:hi]
    seg = seg[~np.isnan(seg)]
    return float(seg.mean()) if seg.size else None


def _centred_mean(hr: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """5-s centred mean ignoring NaN (NaN where a window has no data); partial windows at the ends."""
    k = 2 * RECOVERY_SAMPLE_HALF_WIDTH_S + 1
    ok = ~np.isnan(hr)
    sums = np.convolve(np.where(ok, hr, 0.0), np.ones(k), mode="same")
    counts = np.convolve(ok.astype(np.float64), np.ones(k), mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(counts > 0, sums / counts, np.nan), dtype=np.float64)


def heart_rate_recovery(
    hr_bpm: npt.ArrayLike, phases: npt.ArrayLike, exit_index_s: int | None
) -> HeartRateRecovery | None:
    """HRR1 and HRR2 after the exercise bout that ended at ``exit_index_s`` (first cool-down second).

    The reference is the peak of the 5-s mean HR in the 10 min before the exit, timed at the last second within
    2 bpm of it (the end of effort); HR at 1 and 2 minutes is the mean over 5 s centred 60 s and 120 s after
    that second. Smoothing keeps a single noisy second from becoming the peak. A value is None when the
    recording stops too early or exercise resumes before it.

    References
    ----------
    .. [1] Cole CR, Blackstone EH, Pashkow FJ, Snader CE, Lauer MS. Heart-rate recovery immediately after
       exercise as a predictor of mortality. N Engl J Med 1999;341:1351-1357 (HRR1 <= 12 bpm abnormal).
    .. [2] Cole CR, et al. Heart rate recovery after submaximal exercise testing as a predictor of mortality
       in a cardiovascularly healthy cohort. Ann Intern Med 2000;132:552-555 (HRR2 <= 42 bpm abnormal).
    """
    if exit_index_s is None:
        return None
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    ph = np.asarray(phases, dtype=np.int8)
    if ph.size != hr.size:
        raise InvalidInputError(f"phases has {ph.size} values for {hr.size} seconds")
    lo = max(exit_index_s - RECOVERY_LOOKBACK_S, 0)
    smooth = _centred_mean(hr[max(lo - RECOVERY_SAMPLE_HALF_WIDTH_S, 0) : exit_index_s + RECOVERY_SAMPLE_HALF_WIDTH_S])
    window = smooth[lo - max(lo - RECOVERY_SAMPLE_HALF_WIDTH_S, 0) :][: exit_index_s - lo]
    if window.size == 0 or bool(np.isnan(window).all()):
        return None
    peak = float(np.nanmax(window))
    # the last second still at peak level marks the end of effort (a plateau's first maximum would not)
    peak_idx = lo + int(np.flatnonzero(window >= peak - RECOVERY_PEAK_TOLERANCE_BPM)[-1])
    values: list[float | None] = []
    for delay in (HRR1_DELAY_S, HRR2_DELAY_S):
        t = peak_idx + delay
        resumed = bool((ph[exit_index_s : min(t + RECOVERY_SAMPLE_HALF_WIDTH_S + 1, ph.size)] == Phase.EXERCISE).any())
        values.append(None if resumed else _mean_around(hr, t))
    h60, h120 = values
    hrr1 = None if h60 is None else peak - h60
    hrr2 = None if h120 is None else peak - h120
    return HeartRateRecovery(
        peak_index_s=peak_idx,
        peak_hr_bpm=peak,
        hr_60s_bpm=h60,
        hr_120s_bpm=h120,
        hrr1_bpm=hrr1,
        hrr2_bpm=hrr2,
        hrr1_abnormal=None if hrr1 is None else hrr1 <= HRR1_ABNORMAL_BPM,
        hrr2_abnormal=None if hrr2 is None else hrr2 <= HRR2_ABNORMAL_BPM,
    )


@dataclass(frozen=True, slots=True)
class ChronotropicResponse:
    """Fraction of heart-rate reserve used at peak, against a stated reference maximum."""

    peak_hr_bpm: float
    rest_hr_bpm: float
    reference_max_hr_bpm: float
    reference_source: str
    fraction_of_reserve: float
    incompetent: bool
    """Fraction below 0.80: chronotropic incompetence flag (meaningful for a symptom-limited test)."""


def chronotropic_response(
    peak_hr_bpm: float, rest_hr_bpm: float, reference_max_hr_bpm: float, reference_source: str
) -> ChronotropicResponse:
    """(HRpeak - HRrest) / (HRref - HRrest); below 0.80 flags chronotropic incompetence.

    ``reference_max_hr_bpm`` is the maximum the reserve is measured against (age-predicted for the classic
    index, or the measured CPET peak to show how much of the tested reserve a session used); its source is
    carried in the result. Under beta-blockade the 0.80 cut-off is not validated; interpret with care.

    References
    ----------
    .. [1] Lauer MS, et al. Impaired chronotropic response to exercise stress testing as a predictor of
       mortality. JAMA 1999;281:524-529.
    .. [2] CLINICAL.md 2.3 (chronotropic incompetence = < 80 % of HRR used at peak).
    """
    if reference_max_hr_bpm <= rest_hr_bpm:
        raise InvalidInputError(f"reference max {reference_max_hr_bpm} must exceed rest HR {rest_hr_bpm}")
    frac = (peak_hr_bpm - rest_hr_bpm) / (reference_max_hr_bpm - rest_hr_bpm)
    return ChronotropicResponse(
        peak_hr_bpm=peak_hr_bpm,
        rest_hr_bpm=rest_hr_bpm,
        reference_max_hr_bpm=reference_max_hr_bpm,
        reference_source=reference_source,
        fraction_of_reserve=frac,
        incompetent=frac < CHRONOTROPIC_INCOMPETENCE_FRACTION,
    )
