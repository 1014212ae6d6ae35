"""Signal quality: contact, data age, gaps, artefact rate and implausible values, as one typed state.

Priority, highest first: ``lost`` (no data for 30 s: technical inability to monitor), ``stale`` (no data for
5 s), ``no_contact`` (strap reports no skin contact for 3 s), ``degraded`` (too many corrected beats,
implausible values or missing seconds in the last minute), ``ok``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import as_float_array
from analytics.physiology.const import (
    DEGRADED_ARTEFACT_FRACTION,
    DEGRADED_IMPLAUSIBLE_FRACTION,
    DEGRADED_MISSING_FRACTION,
    LOST_SIGNAL_S,
    MAX_PLAUSIBLE_HR_BPM,
    MIN_PLAUSIBLE_HR_BPM,
    NO_CONTACT_S,
    QUALITY_WINDOW_S,
    STALE_SIGNAL_S,
)
from analytics.physiology.errors import InvalidInputError


class SignalState(StrEnum):
    """Overall signal state (values match ``features.v1``)."""

    OK = "ok"
    DEGRADED = "degraded"
    NO_CONTACT = "no_contact"
    STALE = "stale"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class SignalQuality:
    """Signal state and the measurements it was decided from."""

    state: SignalState
    data_age_s: float
    """Seconds since the last reading (inf if none yet)."""
    no_contact_s: float
    """How long the strap has continuously reported no skin contact (0 if it has contact or does not say)."""
    missing_fraction: float
    implausible_fraction: float
    artefact_fraction: float
    reasons: tuple[str, ...]


def classify_signal(
    *,
    data_age_s: float,
    no_contact_s: float,
    missing_fraction: float,
    implausible_fraction: float,
    artefact_fraction: float,
) -> SignalQuality:
    """Decide the signal state from its measurements (shared by batch and streaming).

    References
    ----------
    .. [1] ACSM: "technical inability to monitor" is an absolute exercise-termination criterion
       (https://exrx.net/Testing/TestTermination).
    .. [2] CLINICAL.md 4-5: stale-data alarms in seconds, not minutes (Nightscout #418, #4492, #5720).
    .. [3] Lipponen & Tarvainen 2019: HRV error < 2 % after correction at low artefact rates.
    """
    reasons: list[str] = []
    if missing_fraction > DEGRADED_MISSING_FRACTION:
        reasons.append(f"{100 * missing_fraction:.0f}% of the last minute without heart rate")
    if implausible_fraction > DEGRADED_IMPLAUSIBLE_FRACTION:
        reasons.append(f"{100 * implausible_fraction:.0f}% implausible values")
    if artefact_fraction > DEGRADED_ARTEFACT_FRACTION:
        reasons.append(f"{100 * artefact_fraction:.0f}% corrected beats")
    if data_age_s >= LOST_SIGNAL_S:
        state = SignalState.LOST
        reasons.insert(0, "no data: monitoring lost, check the strap and the phone")
    elif data_age_s >= STALE_SIGNAL_S:
        state = SignalState.STALE
        reasons.insert(0, f"no data for {data_age_s:.0f} s")
    elif no_contact_s >= NO_CONTACT_S:
        state = SignalState.NO_CONTACT
        reasons.insert(0, "strap reports no skin contact: moisten the electrodes, tighten the strap")
    elif reasons:
        state = SignalState.DEGRADED
    else:
        state = SignalState.OK
    return SignalQuality(
        state, data_age_s, no_contact_s, missing_fraction, implausible_fraction, artefact_fraction, tuple(reasons)
    )


def assess_signal_quality(
    now_s: float,
    reading_time_s: npt.ArrayLike,
    hr_bpm: npt.ArrayLike,
    contact: npt.ArrayLike | None,
    artefact_fraction: float,
    *,
    start_s: float = 0.0,
    window_s: float = QUALITY_WINDOW_S,
) -> SignalQuality:
    """Signal quality at ``now_s`` from the readings so far.

    Parameters
    ----------
    now_s : float
        Evaluation time.
    reading_time_s : array_like
        Reading times (s), non-decreasing.
    hr_bpm : array_like
        Heart rate per reading (NaN = none).
    contact : array_like of float, optional
        Per reading: 1 contact, 0 no contact, NaN unknown.
    artefact_fraction : float
        Share of recent beats changed by artefact correction.
    start_s : float
        Session start: seconds are counted from it, as in :mod:`analytics.physiology.timebase`.
    window_s : float
        Window for the missing and implausible fractions: the whole session seconds before ``now_s``
        (fewer at the start of a session).
    """
    t = as_float_array(reading_time_s, "reading_time_s")
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    if hr.size != t.size:
        raise InvalidInputError(f"{hr.size} heart rates for {t.size} reading times")
    c = np.full(t.size, np.nan) if contact is None else as_float_array(contact, "contact", allow_nan=True)
    past = t <= now_s
    t, hr, c = t[past], hr[past], c[past]
    age = float(now_s - t[-1]) if t.size else math.inf
    no_contact = 0.0
    if c.size and c[-1] == 0.0:
        good = np.flatnonzero(c != 0.0)
        first_bad = int(good[-1]) + 1 if good.size else 0
        no_contact = float(now_s - t[first_bad])
    end_sec = math.floor(now_s - start_s)
    first_sec = max(end_sec - int(window_s), 0)
    n_win = end_sec - first_sec
    sec = np.floor(t - start_s)
    in_win = (sec >= first_sec) & (sec < end_sec) & ~np.isnan(hr)
    plausible = (hr >= MIN_PLAUSIBLE_HR_BPM) & (hr <= MAX_PLAUSIBLE_HR_BPM)
    seconds = np.unique(sec[in_win & plausible])
    missing = 1.0 - seconds.size / n_win if n_win > 0 else 0.0
    n_hr = int(np.count_nonzero(in_win))
    implausible = float(np.count_nonzero(in_win & ~plausible)) / n_hr if n_hr else 0.0
    return classify_signal(
        data_age_s=age,
        no_contact_s=no_contact,
        missing_fraction=missing,
        implausible_fraction=implausible,
        artefact_fraction=artefact_fraction,
    )
