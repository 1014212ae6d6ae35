"""Training load: Banister TRIMP, Edwards TRIMP and session-RPE load.

Each is a sum over samples, so the streaming form adds one increment per second with the scalar helpers here.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import as_float_array
from analytics.physiology.const import (
    BANISTER_A,
    BORG_MAX,
    BORG_MIN,
    CR10_MAX,
    CR10_MIN,
    EDWARDS_ZONE_LOWER_FRACTIONS,
    HR_SAMPLE_PERIOD_S,
    S_PER_MIN,
)
from analytics.physiology.errors import InvalidInputError


def _check_rest_max(rest_hr_bpm: float, max_hr_bpm: float) -> None:
    if not max_hr_bpm > rest_hr_bpm > 0:
        raise InvalidInputError(f"need 0 < rest HR ({rest_hr_bpm}) < max HR ({max_hr_bpm})")


def banister_increment(hr_bpm: float, rest_hr_bpm: float, max_hr_bpm: float, k: float, dt_s: float) -> float:
    """Banister TRIMP of one sample: dt(min) * x * 0.64 * exp(k * x), x = HRR fraction clipped at 0; NaN -> 0."""
    if hr_bpm != hr_bpm:  # NaN
        return 0.0
    x = max((hr_bpm - rest_hr_bpm) / (max_hr_bpm - rest_hr_bpm), 0.0)
    return dt_s / S_PER_MIN * x * BANISTER_A * math.exp(k * x)


def banister_trimp(
    hr_bpm: npt.ArrayLike,
    rest_hr_bpm: float,
    max_hr_bpm: float,
    k: float,
    sample_period_s: float = HR_SAMPLE_PERIOD_S,
) -> float:
    """Banister training impulse of a heart-rate trace.

    Parameters
    ----------
    hr_bpm : array_like
        Heart rate per sample (NaN = no data, contributes nothing).
    rest_hr_bpm, max_hr_bpm : float
        Resting and maximal (measured peak) heart rate.
    k : float
        1.92 for men, 1.67 for women (:attr:`Prescription.banister_k`).
    sample_period_s : float
        Seconds per sample.

    Returns
    -------
    float
        TRIMP in arbitrary units: sum of dt(min) * x * 0.64 * exp(k x), x = (HR - HRrest) / (HRmax - HRrest),
        with x clipped at 0 (HR below rest adds nothing).

    References
    ----------
    .. [1] Banister EW. Modeling elite athletic performance. In: Physiological Testing of Elite Athletes.
       Human Kinetics; 1991. p. 403-424.
    .. [2] Morton RH, Fitz-Clarke JR, Banister EW. Modeling human performance in running. J Appl Physiol
       1990;69:1171-1177 (k = 1.92 men, 1.67 women).
    """
    _check_rest_max(rest_hr_bpm, max_hr_bpm)
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    hr = hr[~np.isnan(hr)]
    x = np.maximum((hr - rest_hr_bpm) / (max_hr_bpm - rest_hr_bpm), 0.0)
    return float(np.sum(sample_period_s / S_PER_MIN * x * BANISTER_A * np.exp(k * x)))


def edwards_zone(hr_bpm: float, max_hr_bpm: float) -> int:
    """Edwards zone 1..5 (50-60 ... 90-100+ % HRmax), 0 below 50 % or without data."""
    if hr_bpm != hr_bpm:  # NaN
        return 0
    return bisect.bisect_right(EDWARDS_ZONE_LOWER_FRACTIONS, hr_bpm / max_hr_bpm)


@dataclass(frozen=True, slots=True)
class EdwardsTrimp:
    """Edwards TRIMP and the minutes spent in each of its five zones."""

    minutes_by_zone: tuple[float, float, float, float, float]
    trimp: float


def edwards_from_counts(counts: list[int] | tuple[int, ...], sample_period_s: float) -> EdwardsTrimp:
    """Build :class:`EdwardsTrimp` from per-zone sample counts (index 0 = below 50 %, ignored)."""
    mins = tuple(float(c) * sample_period_s / S_PER_MIN for c in counts[1:6])
    return EdwardsTrimp(
        minutes_by_zone=(mins[0], mins[1], mins[2], mins[3], mins[4]),
        trimp=edwards_trimp_from_counts(counts, sample_period_s),
    )


def edwards_trimp_from_counts(counts: list[int] | tuple[int, ...], sample_period_s: float) -> float:
    """Edwards TRIMP alone from per-zone sample counts (the streaming hot path; same sum as the batch one)."""
    return float(sum(w * float(c) * sample_period_s / S_PER_MIN for w, c in enumerate(counts[1:6], start=1)))


def edwards_trimp(
    hr_bpm: npt.ArrayLike, max_hr_bpm: float, sample_period_s: float = HR_SAMPLE_PERIOD_S
) -> EdwardsTrimp:
    """Edwards summated-heart-rate-zone TRIMP: sum of minutes in zone times weight 1..5.

    Zones are 50-60, 60-70, 70-80, 80-90 and 90-100 % of HRmax (HR at or above HRmax counts in zone 5).

    References
    ----------
    .. [1] Edwards S. The Heart Rate Monitor Book. Sacramento: Fleet Feet Press; 1993.
    """
    if max_hr_bpm <= 0:
        raise InvalidInputError(f"max HR must be positive, got {max_hr_bpm}")
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    frac = hr[~np.isnan(hr)] / max_hr_bpm
    zones = np.searchsorted(np.asarray(EDWARDS_ZONE_LOWER_FRACTIONS), frac, side="right")
    counts = np.bincount(zones, minlength=6).tolist()
    return edwards_from_counts(counts, sample_period_s)


class RpeScale(StrEnum):
    """Rating-of-perceived-exertion scale."""

    CR10 = "cr10"
    BORG_6_20 = "borg_6_20"


@dataclass(frozen=True, slots=True)
class SessionRpeLoad:
    """Session-RPE load in arbitrary units (RPE x minutes)."""

    rpe: float
    scale: RpeScale
    duration_min: float
    load_au: float


def session_rpe_load(rpe: float, duration_min: float, scale: RpeScale = RpeScale.CR10) -> SessionRpeLoad:
    """Session-RPE load = RPE x session minutes.

    Foster's method uses the CR-10 scale; a Borg 6-20 rating is accepted but gives a load on its own scale
    (not comparable with CR-10 loads).

    References
    ----------
    .. [1] Foster C, et al. A new approach to monitoring exercise training. J Strength Cond Res
       2001;15(1):109-115.
    .. [2] GoldenCheetah ``SessionRPE`` metric (CLINICAL.md 2.2).
    """
    lo, hi = (CR10_MIN, CR10_MAX) if scale == RpeScale.CR10 else (BORG_MIN, BORG_MAX)
    if not lo <= rpe <= hi:
        raise InvalidInputError(f"RPE {rpe} is outside the {scale.value} scale {lo}-{hi}")
    if duration_min < 0 or math.isnan(duration_min):
        raise InvalidInputError(f"duration must be >= 0 minutes, got {duration_min}")
    return SessionRpeLoad(rpe=rpe, scale=scale, duration_min=duration_min, load_au=rpe * duration_min)
