"""Session report: every batch feature of one recorded session, and its JSON form.

:func:`build_session_report` is pure (arrays in, typed report out); :func:`report_to_json` turns the report
into plain JSON-compatible data at the boundary (the ``cardiorehab analyze`` command, the API).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import FloatArray, as_float_array
from analytics.physiology.artefacts import BeatLabel, RrCorrection, correct_rr, no_correction
from analytics.physiology.const import MIN_HRV_BEATS, MS_PER_S, RHYTHM_SCREEN_MESSAGE
from analytics.physiology.errors import InsufficientDataError
from analytics.physiology.hrv import RestWindow, TimeDomainHrv, hr_trace_from_rr, select_rest_window, time_domain_hrv
from analytics.physiology.load import EdwardsTrimp, SessionRpeLoad, banister_trimp, edwards_trimp, session_rpe_load
from analytics.physiology.phases import Phase, SessionPhases, detect_phases
from analytics.physiology.prescription import Prescription, Sex, fallback_prescription
from analytics.physiology.recovery import (
    ChronotropicResponse,
    HeartRateRecovery,
    chronotropic_response,
    heart_rate_recovery,
)
from analytics.physiology.rhythm import RhythmScreen, screen_rhythm
from analytics.physiology.zones import TimeInZones, Zone, time_in_zones

_REPORTED_LABELS = (BeatLabel.MISSED, BeatLabel.EXTRA, BeatLabel.ECTOPIC, BeatLabel.LONG, BeatLabel.SHORT)

REST_ESTIMATE_WINDOW_S = 60
"""Without a prescribed resting HR, the lowest 60-s mean HR of the recording is used (flagged)."""


@dataclass(frozen=True, eq=False, slots=True)
class SessionReport:
    """Everything computed for one session."""

    correction: RrCorrection
    corrected: bool
    hr_bpm: FloatArray
    """The 1 Hz trace the zone, load, phase and recovery figures come from."""
    hr_from_rr: bool
    prescription: Prescription
    phases: SessionPhases
    zones: TimeInZones
    banister_trimp: float | None
    edwards: EdwardsTrimp | None
    session_rpe: SessionRpeLoad | None
    recovery: HeartRateRecovery | None
    chronotropic: ChronotropicResponse | None
    rest_window: RestWindow | None
    hrv_whole: TimeDomainHrv | None
    rhythm: RhythmScreen


def estimate_rest_hr_bpm(hr_bpm: FloatArray) -> float:
    """Lowest 60-s mean of a 1 Hz trace (seconds without data ignored); the whole mean if shorter."""
    valid = hr_bpm[~np.isnan(hr_bpm)]
    if valid.size == 0:
        raise InsufficientDataError("no heart rate to estimate the resting rate from")
    if valid.size <= REST_ESTIMATE_WINDOW_S:
        return float(valid.mean())
    kernel = np.ones(REST_ESTIMATE_WINDOW_S) / REST_ESTIMATE_WINDOW_S
    return float(np.convolve(valid, kernel, mode="valid").min())


def build_session_report(
    rr_ms: npt.ArrayLike,
    *,
    hr_bpm: npt.ArrayLike | None = None,
    prescription: Prescription | None = None,
    correct: bool = True,
    rpe_cr10: float | None = None,
    age_years: int | None = None,
    sex: Sex | None = None,
) -> SessionReport:
    """Compute the session report from RR intervals and, optionally, a 1 Hz heart-rate trace.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals (ms) of the session, in order, the first starting at the session start.
    hr_bpm : array_like, optional
        1 Hz heart rate (NaN = no data). Derived from the corrected RR when absent.
    prescription : Prescription, optional
        Without one, the flagged fallback band (RHR+20..+30) is used with the resting HR estimated from the
        recording (:func:`analytics.physiology.prescription.fallback_prescription`).
    correct : bool
        Apply Lipponen-Tarvainen artefact correction (default) or use the raw intervals.
    rpe_cr10 : float, optional
        Session RPE (CR-10) for the session-RPE load.
    age_years, sex : optional
        Used only by the fallback prescription.
    """
    correction = correct_rr(rr_ms) if correct else no_correction(rr_ms)
    nn = correction.rr_ms
    hr_from_rr = hr_bpm is None
    hr = hr_trace_from_rr(nn) if hr_bpm is None else as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    p = prescription or fallback_prescription(
        estimate_rest_hr_bpm(hr), age_years=age_years, sex=sex, rest_hr_estimated=True
    )
    phases = detect_phases(hr, p)
    peak = p.peak_hr_bpm
    valid_hr = hr[~np.isnan(hr)]
    duration_min = hr.size / 60.0
    chrono = None
    if peak is not None and valid_hr.size:
        chrono = chronotropic_response(float(valid_hr.max()), p.rest_hr_bpm, peak, p.peak_hr_source.value)
    beat_t = np.cumsum(nn) / MS_PER_S
    rest_window = select_rest_window(nn, beat_t, phases.at_rest()) if nn.size else None
    return SessionReport(
        correction=correction,
        corrected=correct,
        hr_bpm=hr,
        hr_from_rr=hr_from_rr,
        prescription=p,
        phases=phases,
        zones=time_in_zones(hr, p),
        banister_trimp=None if peak is None else banister_trimp(hr, p.rest_hr_bpm, peak, p.banister_k),
        edwards=None if peak is None else edwards_trimp(hr, peak),
        session_rpe=None if rpe_cr10 is None else session_rpe_load(rpe_cr10, duration_min),
        recovery=heart_rate_recovery(hr, phases.phases, phases.last_exit_index),
        chronotropic=chrono,
        rest_window=rest_window,
        hrv_whole=time_domain_hrv(nn) if nn.size >= MIN_HRV_BEATS else None,
        rhythm=screen_rhythm(nn, correction.corrected_mask) if nn.size else screen_rhythm([], []),
    )


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), nd)


def _hrv_json(h: TimeDomainHrv | None) -> dict[str, Any]:
    keys = ("mean_nn_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "mean_hr_bpm")
    if h is None:
        return {k: None for k in keys} | {"n_beats": 0}
    return {k: _r(getattr(h, k)) for k in keys} | {"n_beats": h.n_beats, "duration_s": _r(h.duration_s, 1)}


def report_to_json(rep: SessionReport) -> dict[str, Any]:
    """Plain JSON-compatible form of a report (the ``cardiorehab analyze`` output)."""
    p = rep.prescription
    c = rep.correction.counts
    rw = rep.rest_window
    hrv = _hrv_json(rw.hrv if rw else None) | {
        "window": None if rw is None else {"start_s": _r(rw.start_s, 1), "end_s": _r(rw.end_s, 1), "short": rw.short},
        "note": "rest window (rest or recovery phase), not exercise"
        if rw
        else "no rest window of >= 60 s: resting HRV not reported",
    }
    z = rep.zones
    rec = rep.recovery
    ch = rep.chronotropic
    rh = rep.rhythm
    return {
        "input": {
            "n_rr": int(rep.correction.raw_rr_ms.size),
            "duration_s": _r(float(rep.correction.raw_rr_ms.sum()) / MS_PER_S, 1),
            "hr_seconds": int(rep.hr_bpm.size),
            "hr_from_rr": rep.hr_from_rr,
            "artefact_correction": rep.corrected,
        },
        "prescription": {
            "method": p.method.value,
            "rest_hr_bpm": _r(p.rest_hr_bpm, 1),
            "peak_hr_bpm": _r(p.peak_hr_bpm, 1),
            "peak_hr_source": p.peak_hr_source.value,
            "target_low_bpm": _r(p.target_low_bpm, 1),
            "target_high_bpm": _r(p.target_high_bpm, 1),
            "ceiling_bpm": _r(p.ceiling_bpm, 1),
            "beta_blocked": p.beta_blocked,
            "rpe_target": [p.rpe_target_low, p.rpe_target_high],
            "sex": None if p.sex is None else p.sex.value,
            "flags": [f.value for f in p.flags],
        },
        "hrv": hrv,
        "hrv_whole_recording": _hrv_json(rep.hrv_whole),
        "artefacts": {
            "missed": c.missed,
            "extra": c.extra,
            "ectopic": c.ectopic,
            "long": c.long,
            "short": c.short,
            "total": c.total,
            "corrected_pct": _r(c.corrected_pct),
            "n_input": c.n_input,
            "n_output": c.n_output,
            "indices": {lab.name.lower(): rep.correction.indices(lab).tolist() for lab in _REPORTED_LABELS},
        },
        "load": {
            "banister_trimp": _r(rep.banister_trimp),
            "edwards_trimp": _r(rep.edwards.trimp if rep.edwards else None),
            "edwards_minutes_by_zone": None if rep.edwards is None else [_r(m) for m in rep.edwards.minutes_by_zone],
            "session_rpe_au": _r(rep.session_rpe.load_au if rep.session_rpe else None),
            "note": None if p.peak_hr_bpm is not None else "no peak HR: HRmax-based load not computed",
        },
        "zones": {
            "seconds_by_zone": {Zone(i).name.lower(): _r(s, 1) for i, s in enumerate(z.seconds_by_zone)},
            "valid_s": _r(z.valid_s, 1),
            "in_band_s": _r(z.in_band_s, 1),
            "in_band_pct": _r(z.in_band_pct, 1),
            "above_ceiling_s": _r(z.above_ceiling_s, 1),
            "band_is_primary": z.band_is_primary,
        },
        "phases": {ph.label: rep.phases.seconds_in(ph) for ph in Phase},
        "recovery": {
            "exercise_end_s": rep.phases.last_exit_index,
            "peak_hr_bpm": _r(rec.peak_hr_bpm if rec else None, 1),
            "hrr1_bpm": _r(rec.hrr1_bpm if rec else None, 1),
            "hrr2_bpm": _r(rec.hrr2_bpm if rec else None, 1),
            "hrr1_abnormal": None if rec is None else rec.hrr1_abnormal,
            "hrr2_abnormal": None if rec is None else rec.hrr2_abnormal,
            "chronotropic_fraction": _r(ch.fraction_of_reserve if ch else None, 3),
            "chronotropic_reference": None if ch is None else ch.reference_source,
            "chronotropic_incompetence": None if ch is None else ch.incompetent,
        },
        "rhythm": {
            "screen": "irregular" if rh.episodes else "no irregularity detected",
            "message": rh.message,
            "windows": len(rh.windows),
            "eligible_windows": rh.n_eligible,
            "irregular_windows": rh.n_irregular,
            "episodes": [{"start_s": _r(e.start_s, 1), "end_s": _r(e.end_s, 1)} for e in rh.episodes],
            "disclaimer": f"screen only, not a diagnosis: {RHYTHM_SCREEN_MESSAGE} to confirm",
        },
    }
