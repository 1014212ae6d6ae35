"""Time-domain heart-rate variability, the 1 Hz heart-rate trace from RR, and resting-window selection."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import BoolArray, FloatArray, as_float_array, as_rr_array
from analytics.physiology.const import (
    MIN_HRV_BEATS,
    MIN_REST_WINDOW_S,
    MS_PER_MIN,
    MS_PER_S,
    NN50_THRESHOLD_MS,
    REST_WINDOW_S,
)
from analytics.physiology.errors import InsufficientDataError, InvalidInputError


@dataclass(frozen=True, slots=True)
class TimeDomainHrv:
    """Time-domain HRV of one window of NN intervals."""

    n_beats: int
    duration_s: float
    mean_nn_ms: float
    sdnn_ms: float
    rmssd_ms: float
    pnn50_pct: float
    mean_hr_bpm: float


def time_domain_hrv(nn_ms: npt.ArrayLike) -> TimeDomainHrv:
    """Mean NN, SDNN, RMSSD, pNN50 and mean HR of artefact-corrected (NN) intervals.

    Parameters
    ----------
    nn_ms : array_like
        Corrected RR (NN) intervals in milliseconds; at least ``MIN_HRV_BEATS``.

    Returns
    -------
    TimeDomainHrv

    Notes
    -----
    SDNN is the sample standard deviation (ddof = 1), RMSSD = sqrt(mean((NN[i+1] - NN[i])^2)), pNN50 the share of
    successive differences greater than 50 ms, and mean HR the mean of the instantaneous rates 60000 / NN (the
    convention of hrv-analysis and NeuroKit2, so results are directly comparable).

    References
    ----------
    .. [1] Task Force of the ESC and NASPE. Heart rate variability: standards of measurement, physiological
       interpretation and clinical use. Circulation 1996;93(5):1043-1065.
    """
    nn = as_rr_array(nn_ms, "nn_ms")
    if nn.size < MIN_HRV_BEATS:
        raise InsufficientDataError(f"time-domain HRV needs >= {MIN_HRV_BEATS} intervals, got {nn.size}")
    diffs = np.diff(nn)
    sdnn, rmssd = sdnn_rmssd_ms(nn)
    return TimeDomainHrv(
        n_beats=int(nn.size),
        duration_s=float(nn.sum() / MS_PER_S),
        mean_nn_ms=float(nn.mean()),
        sdnn_ms=sdnn,
        rmssd_ms=rmssd,
        pnn50_pct=float(100.0 * np.count_nonzero(np.abs(diffs) > NN50_THRESHOLD_MS) / diffs.size),
        mean_hr_bpm=float(np.mean(MS_PER_MIN / nn)),
    )


def sdnn_rmssd_ms(nn: FloatArray) -> tuple[float, float]:
    """SDNN (ddof = 1) and RMSSD (ms) of at least two validated NN intervals, as :func:`time_domain_hrv` reports them.

    The arithmetic of ``nn.std(ddof=1)`` and ``sqrt(mean(diff(nn) ** 2))`` spelled out (numpy's pairwise sums, one
    division, a correctly rounded square root), so the values are the same floats without numpy's per-call
    overhead of ``std`` and ``mean``: the live path recomputes resting HRV once per block of corrected beats.
    """
    n = nn.size
    dev = nn - float(nn.sum()) / n
    diffs = nn[1:] - nn[:-1]
    return math.sqrt(float((dev * dev).sum()) / (n - 1)), math.sqrt(float((diffs * diffs).sum()) / (n - 1))


def beat_times_s(rr_ms: npt.ArrayLike, start_s: float = 0.0) -> FloatArray:
    """Time (s) of the beat that ends each interval, the first interval starting at ``start_s``."""
    rr = as_rr_array(rr_ms)
    return np.asarray(start_s + np.cumsum(rr) / MS_PER_S, dtype=np.float64)


def hr_trace_from_rr(rr_ms: npt.ArrayLike) -> FloatArray:
    """1 Hz heart rate (bpm) from RR: second ``k`` holds the instantaneous rate interpolated at ``k + 0.5`` s.

    The trace covers the whole seconds spanned by the beats; seconds before the second beat take its rate.
    """
    rr = as_rr_array(rr_ms)
    if rr.size == 0:
        return np.empty(0)
    t = beat_times_s(rr)
    n_s = math.floor(t[-1])
    return np.asarray(np.interp(np.arange(n_s) + 0.5, t, MS_PER_MIN / rr), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RestWindow:
    """A window of beats recorded at rest, with its HRV."""

    start_s: float
    end_s: float
    first_beat: int
    last_beat: int
    short: bool
    """True when no full 5-minute window existed and a shorter one (>= 60 s) was used."""
    hrv: TimeDomainHrv


def select_rest_window(
    nn_ms: npt.ArrayLike,
    beat_time_s: npt.ArrayLike,
    at_rest_per_s: npt.ArrayLike,
    *,
    window_s: float = REST_WINDOW_S,
    min_window_s: float = MIN_REST_WINDOW_S,
) -> RestWindow | None:
    """Pick the HRV window: the earliest run of ``window_s`` seconds at rest, else the longest rest run >= 60 s.

    Parameters
    ----------
    nn_ms : array_like
        Corrected intervals (ms).
    beat_time_s : array_like
        Time of the beat ending each interval, on the same clock as ``at_rest_per_s`` (second ``k`` = [k, k+1)).
    at_rest_per_s : array_like of bool
        Per second: the patient was at rest (rest or recovery phase), never during exercise.
    window_s, min_window_s : float
        Preferred and shortest window lengths.

    Returns
    -------
    RestWindow or None
        None when no rest run reaches ``min_window_s`` or holds too few beats.

    References
    ----------
    .. [1] Task Force of the ESC and NASPE. Circulation 1996;93:1043-1065 (5-min short-term recordings at rest).
    """
    nn = as_rr_array(nn_ms, "nn_ms")
    bt = as_float_array(beat_time_s, "beat_time_s")
    rest: BoolArray = np.asarray(at_rest_per_s, dtype=np.bool_)
    if bt.size != nn.size:
        raise InvalidInputError(f"beat_time_s has {bt.size} values for {nn.size} intervals")
    sec = np.floor(bt - nn / MS_PER_S).astype(np.int64)
    sec_end = np.floor(bt).astype(np.int64)
    inside = (sec >= 0) & (sec_end < rest.size)
    beat_rest = np.zeros(nn.size, dtype=np.bool_)
    beat_rest[inside] = rest[sec[inside]] & rest[sec_end[inside]]
    runs = _true_runs(beat_rest)
    best: tuple[int, int] | None = None
    full = False
    for a, b in runs:
        span = float(bt[b - 1] - (bt[a] - nn[a] / MS_PER_S))
        if span >= window_s:
            start = float(bt[a] - nn[a] / MS_PER_S)
            end_idx = int(np.searchsorted(bt, start + window_s, side="right"))
            best = (a, max(end_idx, a + 1))
            full = True
            break
        if span >= min_window_s and (best is None or b - a > best[1] - best[0]):
            best = (a, b)
    if best is None or best[1] - best[0] < MIN_HRV_BEATS:
        return None
    a, b = best
    start_s = float(bt[a] - nn[a] / MS_PER_S)
    return RestWindow(
        start_s=start_s,
        end_s=float(bt[b - 1]),
        first_beat=a,
        last_beat=b - 1,
        short=not full,
        hrv=time_domain_hrv(nn[a:b]),
    )


def _true_runs(mask: BoolArray) -> list[tuple[int, int]]:
    """Half-open [start, end) index ranges where ``mask`` is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
