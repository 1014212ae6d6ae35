"""Rhythm irregularity screening on artefact-corrected RR at rest or in steady state.

Worded as a screen ("irregular rhythm, record an ECG"), never a diagnosis (CLINICAL.md 2.7). Consecutive
non-overlapping windows of ``RHYTHM_WINDOW_BEATS`` corrected intervals are scored with the three Dash et al.
(2009) statistics and the coefficient of sample entropy (COSEn, Lake & Moorman 2011); a window is irregular
when normalised RMSSD, Shannon entropy and COSEn all exceed their thresholds (the turning-point ratio is
reported but not required, see ``const.DASH_TPR_LOW``). Windows with a trend (not
steady state) or with too many corrected beats are skipped. The flag is raised after
``RHYTHM_DEBOUNCE_WINDOWS`` consecutive irregular windows and cleared after as many regular ones.
:class:`RhythmDebouncer` is shared with the streaming form.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import FloatArray, as_rr_array
from analytics.physiology.const import (
    COSEN_MIN,
    COSEN_TOLERANCE_MS,
    DASH_HIST_BINS,
    DASH_NRMSSD_MIN,
    DASH_OUTLIERS_PER_SIDE,
    DASH_REFERENCE_WINDOW_BEATS,
    DASH_SHANNON_MIN,
    MS_PER_S,
    RHYTHM_DEBOUNCE_WINDOWS,
    RHYTHM_MAX_CORRECTED_FRACTION,
    RHYTHM_MAX_TREND_FRACTION,
    RHYTHM_SCREEN_MESSAGE,
    RHYTHM_WINDOW_BEATS,
)
from analytics.physiology.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class RhythmWindow:
    """Irregularity statistics of one window of corrected intervals."""

    first_beat: int
    n_beats: int
    mean_rr_ms: float
    normalised_rmssd: float
    turning_point_ratio: float
    shannon_entropy: float
    cosen: float
    corrected_fraction: float
    steady: bool
    eligible: bool
    irregular: bool


def turning_point_ratio(x: FloatArray) -> float:
    """Share of interior points that are a local maximum or minimum (about 2/3 for a random series)."""
    if x.size < 3:
        return math.nan
    d = x[1:] - x[:-1]
    return int(np.count_nonzero(d[:-1] * d[1:] < 0)) / (x.size - 2)


def shannon_entropy_normalised(x: FloatArray, n_bins: int = DASH_HIST_BINS) -> float:
    """Shannon entropy of a 16-bin histogram, after trimming outliers, normalised to [0, 1] by log(n_bins).

    Dash 2009 drops the 8 largest and 8 smallest of 128 intervals; the trim is scaled to the window length.
    """
    trim = round(DASH_OUTLIERS_PER_SIDE * x.size / DASH_REFERENCE_WINDOW_BEATS)
    s = np.sort(x)[trim : x.size - trim] if x.size > 2 * trim else np.sort(x)
    if s.size == 0 or s[-1] == s[0]:
        return 0.0
    # equal-width bins over [min, max], the maximum in the last bin (np.histogram's convention)
    idx = np.minimum(((s - s[0]) * (n_bins / (s[-1] - s[0]))).astype(np.int64), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    p = counts[counts > 0] / s.size
    return -float(p @ np.log(p)) / math.log(n_bins)


@functools.lru_cache(maxsize=8)
def _upper_mask(n: int) -> npt.NDArray[np.bool_]:
    mask = np.triu(np.ones((n, n), dtype=np.bool_), k=1)
    mask.flags.writeable = False
    return mask


def coefficient_of_sample_entropy(
    x: FloatArray, r_ms: float = COSEN_TOLERANCE_MS, mean_ms: float | None = None
) -> float:
    """COSEn = SampEn(m=1, r) + ln(2r) - ln(mean RR), r and RR in seconds.

    When no template pair matches at length m + 1, SampEn takes its largest defined value
    ln((N - m)(N - m - 1) / 2), the usual convention for short series.

    References
    ----------
    .. [1] Lake DE, Moorman JR. Accurate estimation of entropy in very short physiological time series: the
       problem of atrial fibrillation detection in implanted ventricular devices. Am J Physiol Heart Circ
       Physiol 2011;300:H319-H325.
    """
    n = x.size
    if n < 4:
        return math.nan
    close = np.abs(x[:, None] - x[None, :]) <= r_ms
    upper = _upper_mask(n - 1)
    b_pairs = close[:-1, :-1] & upper
    b = np.count_nonzero(b_pairs)
    a = np.count_nonzero(b_pairs & close[1:, 1:])
    sampen = -math.log(a / b) if a > 0 else math.log((n - 1) * (n - 2) / 2)
    mean = float(x.sum()) / n if mean_ms is None else mean_ms
    return sampen + math.log(2.0 * r_ms / MS_PER_S) - math.log(mean / MS_PER_S)


def score_window(rr_ms: FloatArray, corrected: npt.NDArray[np.bool_], first_beat: int) -> RhythmWindow:
    """Score one window of corrected intervals.

    Irregular when RMSSD / mean RR > 0.1, normalised Shannon entropy > 0.7 and COSEn > -1.4.

    References
    ----------
    .. [1] Dash S, Chon KH, Lu S, Raeder EA. Automatic real time detection of atrial fibrillation. Ann Biomed
       Eng 2009;37(9):1701-1709 (RMSSD/mean, TPR and Shannon entropy; thresholds as implemented in
       KhanhLinh-2904/Automatic_AF_Detection).
    .. [2] Lake DE, Moorman JR. Am J Physiol Heart Circ Physiol 2011;300:H319-H325 (COSEn > -1.4).
    """
    n = rr_ms.size
    mean, trend = _mean_and_trend(rr_ms)
    nrmssd, d = _normalised_rmssd(rr_ms, mean)
    tpr = int(np.count_nonzero(d[:-1] * d[1:] < 0)) / (n - 2)
    she = shannon_entropy_normalised(rr_ms)
    cosen = coefficient_of_sample_entropy(rr_ms, mean_ms=mean)
    steady = trend < RHYTHM_MAX_TREND_FRACTION
    corrected_fraction = int(np.count_nonzero(corrected)) / n
    eligible = steady and corrected_fraction <= RHYTHM_MAX_CORRECTED_FRACTION
    irregular = nrmssd > DASH_NRMSSD_MIN and she > DASH_SHANNON_MIN and cosen > COSEN_MIN
    return RhythmWindow(first_beat, n, mean, nrmssd, tpr, she, cosen, corrected_fraction, steady, eligible, irregular)


def window_verdict(rr_ms: FloatArray, corrected: npt.NDArray[np.bool_]) -> bool | None:
    """What :func:`score_window` tells the debouncer: None for an ineligible window, else ``irregular``.

    The same values and tests as :func:`score_window`, in an order that stops as soon as the answer is known:
    eligibility first, then the normalised RMSSD, and the Shannon entropy and COSEn (most of the cost) only
    when the RMSSD test passes, which sinus rhythm rarely does. The live screen calls it for every window.
    """
    n = rr_ms.size
    mean, trend = _mean_and_trend(rr_ms)
    if not trend < RHYTHM_MAX_TREND_FRACTION or int(np.count_nonzero(corrected)) / n > RHYTHM_MAX_CORRECTED_FRACTION:
        return None
    return (
        _normalised_rmssd(rr_ms, mean)[0] > DASH_NRMSSD_MIN
        and shannon_entropy_normalised(rr_ms) > DASH_SHANNON_MIN
        and coefficient_of_sample_entropy(rr_ms, mean_ms=mean) > COSEN_MIN
    )


def _mean_and_trend(rr_ms: FloatArray) -> tuple[float, float]:
    """Mean RR and the relative difference between the means of the window's two halves (steady-state test)."""
    # plain sums and dot products: np.mean's overhead dominates on 64 values, and this runs per window live
    n = rr_ms.size
    mean = float(rr_ms.sum()) / n
    half = n // 2
    return mean, abs(float(rr_ms[:half].sum()) / half - float(rr_ms[half:].sum()) / (n - half)) / mean


def _normalised_rmssd(rr_ms: FloatArray, mean: float) -> tuple[float, FloatArray]:
    """RMSSD / mean RR, and the successive differences."""
    d = rr_ms[1:] - rr_ms[:-1]
    return math.sqrt(float(d @ d) / d.size) / mean, d


class RhythmDebouncer:
    """Raise after N consecutive irregular eligible windows, clear after N regular ones; skip ineligible ones."""

    def __init__(self, n_windows: int = RHYTHM_DEBOUNCE_WINDOWS) -> None:
        self.n_windows = n_windows
        self.flagged = False
        self._run = 0

    def step(self, window: RhythmWindow) -> bool:
        """Feed one window; returns the flag state after it."""
        return self.observe(window.irregular if window.eligible else None)

    def observe(self, irregular: bool | None) -> bool:
        """Feed one window's verdict (None: ineligible, see :func:`window_verdict`); returns the flag state."""
        if irregular is None:
            return self.flagged
        if irregular != self.flagged:
            self._run += 1
            if self._run >= self.n_windows:
                self.flagged = irregular
                self._run = 0
        else:
            self._run = 0
        return self.flagged

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state."""
        return {"n": self.n_windows, "flagged": self.flagged, "run": self._run}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RhythmDebouncer:
        """Rebuild from :meth:`to_state` output."""
        obj = cls(int(state["n"]))
        obj.flagged = bool(state["flagged"])
        obj._run = int(state["run"])
        return obj


@dataclass(frozen=True, slots=True)
class RhythmEpisode:
    """A run of windows during which the screen was raised (beat indices into the corrected series)."""

    first_beat: int
    last_beat: int
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RhythmScreen:
    """Result of screening a corrected RR series."""

    windows: tuple[RhythmWindow, ...]
    flag_after_window: tuple[bool, ...]
    episodes: tuple[RhythmEpisode, ...]
    flagged_now: bool
    message: str | None
    """``RHYTHM_SCREEN_MESSAGE`` while flagged or if any episode occurred, else None."""

    @property
    def n_eligible(self) -> int:
        """Windows that were steady and clean enough to score."""
        return sum(w.eligible for w in self.windows)

    @property
    def n_irregular(self) -> int:
        """Eligible windows scored irregular."""
        return sum(w.eligible and w.irregular for w in self.windows)


def screen_rhythm(
    rr_ms: npt.ArrayLike,
    corrected: npt.ArrayLike | None = None,
    *,
    window_beats: int = RHYTHM_WINDOW_BEATS,
    debounce_windows: int = RHYTHM_DEBOUNCE_WINDOWS,
) -> RhythmScreen:
    """Screen a corrected RR series for an irregular rhythm (see the module docstring).

    Parameters
    ----------
    rr_ms : array_like
        Artefact-corrected intervals (ms), at rest or in steady state.
    corrected : array_like of bool, optional
        Per interval, whether artefact correction changed it (windows with > 20 % corrected are skipped).
    window_beats, debounce_windows : int
        Window length and the number of consecutive windows needed to raise or clear the flag.

    References
    ----------
    .. [1] Dash S, et al. Ann Biomed Eng 2009;37:1701-1709.
    .. [2] CLINICAL.md 2.7: corrected RR, rest or steady state only, debounced over several windows.
    """
    rr = as_rr_array(rr_ms)
    mask = np.zeros(rr.size, dtype=np.bool_) if corrected is None else np.asarray(corrected, dtype=np.bool_)
    if mask.size != rr.size:
        raise InvalidInputError(f"corrected has {mask.size} values for {rr.size} intervals")
    if window_beats < 8:
        raise InvalidInputError(f"window_beats must be >= 8, got {window_beats}")
    deb = RhythmDebouncer(debounce_windows)
    windows: list[RhythmWindow] = []
    flags: list[bool] = []
    for start in range(0, rr.size - window_beats + 1, window_beats):
        w = score_window(rr[start : start + window_beats], mask[start : start + window_beats], start)
        windows.append(w)
        flags.append(deb.step(w))
    t_end = np.cumsum(rr) / MS_PER_S
    episodes = episodes_from_flags(windows, flags, t_end)
    return RhythmScreen(
        windows=tuple(windows),
        flag_after_window=tuple(flags),
        episodes=episodes,
        flagged_now=deb.flagged,
        message=RHYTHM_SCREEN_MESSAGE if episodes else None,
    )


def episodes_from_flags(
    windows: list[RhythmWindow], flags: list[bool], beat_end_s: FloatArray
) -> tuple[RhythmEpisode, ...]:
    """Group consecutive flagged windows into episodes with start/end times."""
    out: list[RhythmEpisode] = []
    start: int | None = None
    last = 0
    for w, f in zip(windows, flags, strict=True):
        if f and start is None:
            start = w.first_beat
        if f:
            last = w.first_beat + w.n_beats - 1
        if not f and start is not None:
            out.append(_episode(start, last, beat_end_s))
            start = None
    if start is not None:
        out.append(_episode(start, last, beat_end_s))
    return tuple(out)


def _episode(first: int, last: int, beat_end_s: FloatArray) -> RhythmEpisode:
    start_s = float(beat_end_s[first - 1]) if first > 0 else 0.0
    return RhythmEpisode(first, last, start_s, float(beat_end_s[last]))
