"""Per-patient incremental physiology state for the live processor.

:class:`PatientStream` takes sensor readings as they arrive (:meth:`PatientStream.update`) and answers what the
live view needs every second (:meth:`PatientStream.snapshot`). Its state is plain data
(:meth:`PatientStream.to_state` / :meth:`PatientStream.from_state`), so it can live in a faust table.

Equivalence with the batch functions (tested with hypothesis):

- the 1 Hz trace is :func:`analytics.physiology.timebase.hr_per_second`; zones, time in zone, Banister and
  Edwards TRIMP, phases and heart-rate recovery equal the batch functions on that trace;
- corrected RR equals :func:`analytics.physiology.artefacts.correct_rr` on all RR received, with a bounded
  delay (:mod:`analytics.physiology.artefact_stream`): HRV and rhythm use finalised beats only, so they lag
  64-191 beats; :meth:`PatientStream.flush` finalises the rest at the end of a session;
- rhythm windows equal :func:`analytics.physiology.rhythm.screen_rhythm` on the corrected series.

Cost is O(1) amortised per second and per beat: each closed second does constant work, RR is corrected in
fixed-size blocks, and HRV and rhythm are recomputed only when a block of corrected beats arrives.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from analytics.physiology.artefact_stream import StreamingRrCorrector
from analytics.physiology.beat_features import BeatFeatures
from analytics.physiology.const import (
    BANISTER_A,
    EDWARDS_ZONE_LOWER_FRACTIONS,
    HR_SAMPLE_PERIOD_S,
    QUALITY_WINDOW_S,
    RECOVERY_SAMPLE_HALF_WIDTH_S,
    S_PER_MIN,
)
from analytics.physiology.errors import InvalidInputError
from analytics.physiology.phases import Phase, PhaseTracker, phase_thresholds
from analytics.physiology.prescription import Prescription
from analytics.physiology.quality import classify_signal
from analytics.physiology.recovery import (
    HRR1_DELAY_S,
    HRR2_DELAY_S,
    RECOVERY_SPAN_S,
    HeartRateRecovery,
    heart_rate_recovery,
)
from analytics.physiology.snapshot import (
    StreamSnapshot,
    prescription_from_state,
    prescription_to_state,
)
from analytics.physiology.timebase import plausible_hr, reading_hr_bpm, second_index
from analytics.physiology.zones import (
    N_ZONES,
    Zone,
    band_percent,
    time_in_zones_from_counts,
    very_light_limit_bpm,
    zone_of,
)

_STATE_VERSION = 1
_ZONES = tuple(Zone)
_EDWARDS_MIN_PER_SAMPLE = HR_SAMPLE_PERIOD_S / S_PER_MIN


def _nan_to_none(v: float) -> float | None:
    return None if math.isnan(v) else v


def _none_to_nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


class PatientStream:
    """Incremental physiology for one patient's session; see the module docstring."""

    # slots: faster attribute access on the per-second path; a word list keeps 39 names on five lines
    __slots__ = tuple(
        "_band_high _band_low _banister _banister_scale _beats _ceiling _edwards_counts _edwards_weighted "  # noqa: SIM905
        "_has_peak _hrr _k _last_reading_s _last_zone _late _n_closed _no_contact_since _open_hr _open_n_bad "
        "_open_n_hr _open_sec _peak _peak_hr _phase _q_bad _q_data _q_hr _quality_secs _readings _recent_hr "
        "_recent_phase _recovery _recovery_due _recovery_final _rest _rr _very_light _zone_counts "
        "prescription start_s".split()
    )

    def __init__(self, prescription: Prescription, start_s: float) -> None:
        self.prescription = prescription
        self.start_s = float(start_s)
        p = prescription
        self._ceiling, self._band_high, self._band_low = p.ceiling_bpm, p.target_high_bpm, p.target_low_bpm
        self._very_light = very_light_limit_bpm(p)
        self._has_peak = p.peak_hr_bpm is not None
        self._peak = p.peak_hr_bpm or math.nan
        self._rest = p.rest_hr_bpm
        self._hrr = self._peak - self._rest
        self._k = p.banister_k
        self._banister_scale = HR_SAMPLE_PERIOD_S / S_PER_MIN * BANISTER_A
        self._rr = StreamingRrCorrector()
        self._phase = PhaseTracker(phase_thresholds(prescription))
        self._beats = BeatFeatures(phase_thresholds(prescription).rest_level_bpm)
        # open second
        self._open_sec = 0
        self._open_hr = math.nan
        self._open_n_hr = 0
        self._open_n_bad = 0
        # closed-second accumulators
        self._n_closed = 0
        self._zone_counts = [0] * N_ZONES
        self._edwards_counts = [0] * 6
        self._edwards_weighted = 0
        self._last_zone = int(Zone.NO_DATA)
        self._banister = 0.0
        self._peak_hr = math.nan
        self._recent_hr: deque[float] = deque(maxlen=RECOVERY_SPAN_S)
        self._recent_phase: deque[int] = deque(maxlen=RECOVERY_SPAN_S)
        self._recovery: HeartRateRecovery | None = None
        self._recovery_final = True
        self._recovery_due: int | None = None
        # signal quality over the last minute of closed seconds: (has plausible HR, readings with HR, implausible)
        self._quality_secs: deque[tuple[int, int, int]] = deque(maxlen=int(QUALITY_WINDOW_S))
        self._q_data = self._q_hr = self._q_bad = 0
        self._last_reading_s = math.nan
        self._no_contact_since = math.nan
        self._readings = 0
        self._late = 0
        # corrected beats

    # --- input ---------------------------------------------------------------------------------------------

    def update(
        self, t_s: float, hr_bpm: float | None = None, rr_ms: Sequence[float] = (), contact: bool | None = None
    ) -> None:
        """Add one sensor reading (event time ``t_s`` in s, same clock as ``start_s``).

        Readings must arrive in time order per patient (Kafka keeps one patient on one partition). A reading
        for a second already closed by a later reading or by :meth:`snapshot` is counted as late: its RR
        intervals are still used, its heart rate is not. A reading with an RR value that is not a finite
        positive number raises :class:`InvalidInputError` before changing any state (dead-letter it).
        """
        sec = second_index(t_s, self.start_s)
        if sec < 0:
            raise InvalidInputError(f"reading at {t_s} is before the session start {self.start_s}")
        if rr_ms:
            beats = self._rr.push(rr_ms)
            if beats.rr_ms.size:
                self._beats.add(beats)
        self._readings += 1
        hr = float(hr_bpm) if hr_bpm is not None and hr_bpm == hr_bpm else reading_hr_bpm(hr_bpm, rr_ms)
        if sec < self._open_sec:
            self._late += 1
            return
        if sec > self._open_sec:
            self._close_until(sec)
        if not t_s <= self._last_reading_s:
            self._last_reading_s = t_s
        if contact is False:
            if math.isnan(self._no_contact_since):
                self._no_contact_since = t_s
        else:
            self._no_contact_since = math.nan
        if hr == hr:
            self._open_n_hr += 1
            if plausible_hr(hr):
                self._open_hr = hr
            else:
                self._open_n_bad += 1

    def flush(self) -> None:
        """End of session: finalise the RR still held back by the correction delay."""
        self._beats.add(self._rr.flush())

    def _close_until(self, sec: int) -> None:
        while self._open_sec < sec:
            self._close_second()

    def _close_second(self) -> None:
        hr = self._open_hr
        has_hr = hr == hr  # not NaN
        # zone_of(), banister_increment() and edwards_zone() inlined: this runs once per patient-second
        if not has_hr:
            zone = 0
        elif hr > self._ceiling:
            zone = 5
        elif hr > self._band_high:
            zone = 4
        elif hr >= self._band_low:
            zone = 3
        elif hr >= self._very_light:
            zone = 2
        else:
            zone = 1
        self._last_zone = zone
        self._zone_counts[zone] += 1
        if self._has_peak:
            if has_hr:
                x = (hr - self._rest) / self._hrr
                if x > 0.0:
                    self._banister += self._banister_scale * x * math.exp(self._k * x)
                ez = bisect.bisect_right(EDWARDS_ZONE_LOWER_FRACTIONS, hr / self._peak)
            else:
                ez = 0
            self._edwards_counts[ez] += 1
            self._edwards_weighted += ez
        if has_hr and not hr <= self._peak_hr:
            self._peak_hr = hr
        previous_exit = self._phase.last_exit_index
        phase = self._phase.step(hr)
        self._recent_hr.append(hr)
        self._recent_phase.append(int(phase))
        if self._phase.last_exit_index != previous_exit:
            self._recovery, self._recovery_final, self._recovery_due = None, False, None
        qs = self._quality_secs
        if len(qs) == qs.maxlen:
            old = qs[0]
            self._q_data -= old[0]
            self._q_hr -= old[1]
            self._q_bad -= old[2]
        q = (int(has_hr), self._open_n_hr, self._open_n_bad)
        qs.append(q)
        self._q_data += q[0]
        self._q_hr += q[1]
        self._q_bad += q[2]
        self._n_closed += 1
        self._open_sec += 1
        self._open_hr, self._open_n_hr, self._open_n_bad = math.nan, 0, 0
        if not self._recovery_final:
            self._update_recovery()

    def _update_recovery(self) -> None:
        """Recompute recovery only when its inputs can have changed (see below); exact, and rare."""
        exit_idx = self._phase.last_exit_index
        n = self._n_closed
        if exit_idx is None:
            return
        # The result depends on the 5-s smoothing around the exit (complete at exit + 3), and on the HR around
        # peak + 60 s and peak + 120 s (complete at peak + 63 and peak + 123); between those moments it is constant.
        settled = exit_idx + RECOVERY_SAMPLE_HALF_WIDTH_S + 1
        if n > settled and (self._recovery_due is None or n < self._recovery_due):
            return
        offset = n - len(self._recent_hr)
        rec = heart_rate_recovery(
            np.fromiter(self._recent_hr, dtype=np.float64, count=len(self._recent_hr)),
            np.fromiter(self._recent_phase, dtype=np.int8, count=len(self._recent_phase)),
            exit_idx - offset,
        )
        if rec is not None:
            rec = replace(rec, peak_index_s=rec.peak_index_s + offset)
        self._recovery = rec
        due = [settled]
        if rec is not None:
            due += [rec.peak_index_s + d + RECOVERY_SAMPLE_HALF_WIDTH_S + 1 for d in (HRR1_DELAY_S, HRR2_DELAY_S)]
        later = [d for d in due if d > n]
        self._recovery_due = min(later) if later else None
        self._recovery_final = not later

    # --- output --------------------------------------------------------------------------------------------

    def snapshot(self, now_s: float) -> StreamSnapshot:
        """Close every second before ``now_s`` and return the features the live view needs."""
        sec = math.floor(now_s - self.start_s)
        if sec > self._open_sec:
            self._close_until(sec)
        p = self.prescription
        hr = self._recent_hr[-1] if self._recent_hr else math.nan
        tiz = time_in_zones_from_counts(self._zone_counts, p)
        quality_n = len(self._quality_secs)
        n_with_data, n_hr, n_bad = self._q_data, self._q_hr, self._q_bad
        age = now_s - self._last_reading_s if not math.isnan(self._last_reading_s) else math.inf
        artefact = self._beats.artefact_rate
        quality = classify_signal(
            data_age_s=age,
            no_contact_s=0.0 if math.isnan(self._no_contact_since) else now_s - self._no_contact_since,
            missing_fraction=1.0 - n_with_data / quality_n if quality_n else 0.0,
            implausible_fraction=n_bad / n_hr if n_hr else 0.0,
            artefact_fraction=artefact,
        )
        rmssd, sdnn, n_hrv = self._beats.rest_hrv()
        has_peak = p.peak_hr_bpm is not None
        return StreamSnapshot(
            t_s=self._n_closed,
            elapsed_s=float(self._n_closed),
            hr_bpm=_nan_to_none(hr),
            zone=_ZONES[self._last_zone],
            band_pct=None if math.isnan(hr) else band_percent(hr, p),
            time_in_zones=tiz,
            trimp_banister=self._banister if has_peak else None,
            trimp_edwards=self._edwards_weighted * _EDWARDS_MIN_PER_SAMPLE if has_peak else None,
            phase=self._phase.state if self._n_closed else Phase.UNKNOWN,
            session_peak_hr_bpm=_nan_to_none(self._peak_hr),
            rmssd_ms=None if n_hrv == 0 else rmssd,
            sdnn_ms=None if n_hrv == 0 else sdnn,
            hrv_n_beats=n_hrv,
            rhythm_irregular=self._beats.rhythm_irregular,
            rhythm_windows=self._beats.windows,
            artefacts=self._rr.counts(),
            rr_pending_beats=self._rr.pending_beats,
            recovery=self._recovery,
            signal=quality,
            readings=self._readings,
            late_readings=self._late,
        )

    @property
    def zone_now(self) -> Zone:
        """Zone of the last closed second."""
        return zone_of(self._recent_hr[-1] if self._recent_hr else math.nan, self.prescription)

    # --- plain-data state ----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state (dicts, lists, str, int, float, bool, None; no NaN)."""
        rec = self._recovery
        return {
            "v": _STATE_VERSION,
            "prescription": prescription_to_state(self.prescription),
            "start_s": self.start_s,
            "rr": self._rr.to_state(),
            "phase": self._phase.to_state(),
            "beats": self._beats.to_state(),
            "open": [self._open_sec, _nan_to_none(self._open_hr), self._open_n_hr, self._open_n_bad],
            "n_closed": self._n_closed,
            "zone_counts": list(self._zone_counts),
            "edwards_counts": list(self._edwards_counts),
            "banister": self._banister,
            "peak_hr": _nan_to_none(self._peak_hr),
            "recent_hr": [_nan_to_none(v) for v in self._recent_hr],
            "recent_phase": list(self._recent_phase),
            "recovery": None if rec is None else [rec.peak_index_s, *_recovery_tail(rec)],
            "recovery_final": self._recovery_final,
            "recovery_due": self._recovery_due,
            "quality_secs": [list(q) for q in self._quality_secs],
            "last_reading_s": _nan_to_none(self._last_reading_s),
            "no_contact_since": _nan_to_none(self._no_contact_since),
            "readings": self._readings,
            "late": self._late,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PatientStream:
        """Rebuild from :meth:`to_state` output."""
        if state.get("v") != _STATE_VERSION:
            raise InvalidInputError(f"unsupported stream state version {state.get('v')!r}")
        obj = cls(prescription_from_state(state["prescription"]), float(state["start_s"]))
        obj._rr = StreamingRrCorrector.from_state(state["rr"])
        obj._phase = PhaseTracker.from_state(state["phase"])
        obj._beats = BeatFeatures.from_state(state["beats"])
        o = state["open"]
        obj._open_sec, obj._open_hr, obj._open_n_hr, obj._open_n_bad = (
            int(o[0]),
            _none_to_nan(o[1]),
            int(o[2]),
            int(o[3]),
        )
        obj._n_closed = int(state["n_closed"])
        obj._zone_counts = [int(x) for x in state["zone_counts"]]
        obj._edwards_counts = [int(x) for x in state["edwards_counts"]]
        obj._edwards_weighted = sum(i * c for i, c in enumerate(obj._edwards_counts))
        obj._banister = float(state["banister"])
        obj._peak_hr = _none_to_nan(state["peak_hr"])
        obj._recent_hr.extend(_none_to_nan(v) for v in state["recent_hr"])
        obj._recent_phase.extend(int(v) for v in state["recent_phase"])
        obj._last_zone = int(zone_of(obj._recent_hr[-1] if obj._recent_hr else math.nan, obj.prescription))
        r = state["recovery"]
        obj._recovery = None if r is None else HeartRateRecovery(int(r[0]), *r[1:])
        obj._recovery_final = bool(state["recovery_final"])
        obj._recovery_due = None if state["recovery_due"] is None else int(state["recovery_due"])
        obj._quality_secs.extend((int(q[0]), int(q[1]), int(q[2])) for q in state["quality_secs"])
        obj._q_data, obj._q_hr, obj._q_bad = (sum(q[i] for q in obj._quality_secs) for i in range(3))
        obj._last_reading_s = _none_to_nan(state["last_reading_s"])
        obj._no_contact_since = _none_to_nan(state["no_contact_since"])
        obj._readings, obj._late = int(state["readings"]), int(state["late"])
        return obj


def _recovery_tail(rec: HeartRateRecovery) -> tuple[Any, ...]:
    return (
        rec.peak_hr_bpm,
        rec.hr_60s_bpm,
        rec.hr_120s_bpm,
        rec.hrr1_bpm,
        rec.hrr2_bpm,
        rec.hrr1_abnormal,
        rec.hrr2_abnormal,
    )
