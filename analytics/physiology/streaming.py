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

The live processor calls :meth:`~PatientStream.update` and :meth:`~PatientStream.snapshot` for every reading of
every patient and :meth:`~PatientStream.to_state` every few seconds, so this path is written for speed (see
``bench/bench_analytics.py``): plain floats and ints rather than numpy for per-second work, the snapshot's
sub-results reused while unchanged (time in zones within a second, the beat-derived fields between correction
blocks, signal quality while its measurements hold), frozen results built without their generated ``__init__``
(:mod:`analytics.physiology.frozen`), and a state made mostly of immutable pieces shared between writes.
"""

from __future__ import annotations

import math
from bisect import bisect_right as _bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from itertools import chain
from typing import Any

import numpy as np

from analytics.physiology.artefact_stream import CorrectedBeats, StreamingRrCorrector
from analytics.physiology.artefacts import ArtefactCounts
from analytics.physiology.beat_features import BeatFeatures
from analytics.physiology.const import (
    BANISTER_A,
    EDWARDS_ZONE_LOWER_FRACTIONS,
    HR_SAMPLE_PERIOD_S,
    MAX_PLAUSIBLE_HR_BPM,
    MIN_PLAUSIBLE_HR_BPM,
    QUALITY_WINDOW_S,
    RECOVERY_SAMPLE_HALF_WIDTH_S,
    S_PER_MIN,
)
from analytics.physiology.errors import InvalidInputError
from analytics.physiology.frozen import build_frozen
from analytics.physiology.phases import Phase, PhaseTracker, phase_thresholds
from analytics.physiology.prescription import Prescription
from analytics.physiology.quality import SignalQuality, classify_signal
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
from analytics.physiology.timebase import reading_hr_bpm
from analytics.physiology.zones import (
    N_ZONES,
    TimeInZones,
    Zone,
    time_in_zones_from_counts,
    very_light_limit_bpm,
    zone_of,
)

_STATE_VERSION = 2
"""2: ``recent_hr`` in minutes, ``recent_phase`` replaced by ``resumed_at``, ``quality_secs`` flat; 1 is still read."""
_ZONES = tuple(Zone)
_EDWARDS_MIN_PER_SAMPLE = HR_SAMPLE_PERIOD_S / S_PER_MIN
_EXERCISE, _UNKNOWN = Phase.EXERCISE, Phase.UNKNOWN  # enum attribute lookups are slow on the per-second path
_HR_CHUNK_S = 60
_BeatFields = tuple[float | None, float | None, int, bool, int, ArtefactCounts, float]
"""What a snapshot takes from the corrected beats: RMSSD, SDNN, HRV beats, rhythm flag, rhythm windows, artefact
counts, and the recent artefact rate (for signal quality)."""
_QUALITY_VALUES = 3 * int(QUALITY_WINDOW_S)
_NAN = math.nan
_NO_BEATS = CorrectedBeats.empty()
_exp, _floor = math.exp, math.floor


def _none_to_nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


class PatientStream:
    """Incremental physiology for one patient's session; see the module docstring."""

    # slots: faster attribute access on the per-second path; a word list keeps 47 names on a few lines
    __slots__ = tuple(
        "_band_high _band_low _band_width _banister _banister_scale _beat_fields _beats _ceiling "  # noqa: SIM905
        "_edwards_counts _edwards_weighted _has_peak _hr_chunks _hr_last _hr_tail _hrr _k _last_reading_s "
        "_last_zone _late _n_closed _no_contact_since _open_hr _open_n_bad _open_n_hr _open_sec _peak "
        "_peak_hr _phase _prescription_state _q_bad _q_data _q_hr _quality_secs _readings _recovery "
        "_recovery_due _recovery_final _rest _resumed_at _rr _signal _signal_inputs _tiz _very_light "
        "_zone_counts prescription start_s".split()
    )

    def __init__(self, prescription: Prescription, start_s: float) -> None:
        self.prescription = prescription
        self.start_s = float(start_s)
        p = prescription
        self._ceiling, self._band_high, self._band_low = p.ceiling_bpm, p.target_high_bpm, p.target_low_bpm
        self._band_width = p.target_high_bpm - p.target_low_bpm
        self._very_light = very_light_limit_bpm(p)
        self._has_peak = p.peak_hr_bpm is not None
        self._peak = p.peak_hr_bpm or math.nan
        self._rest = p.rest_hr_bpm
        self._hrr = self._peak - self._rest
        self._k = p.banister_k
        self._banister_scale = HR_SAMPLE_PERIOD_S / S_PER_MIN * BANISTER_A
        self._prescription_state: dict[str, Any] | None = None
        thresholds = phase_thresholds(prescription)
        self._rr = StreamingRrCorrector()
        self._phase = PhaseTracker(thresholds)
        self._beats = BeatFeatures(thresholds.rest_level_bpm)
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
        # HR of the recent closed seconds (at least RECOVERY_SPAN_S), None for a second without data: whole
        # minutes as tuples, which to_state() shares instead of copying 725 values every write, and the current one
        self._hr_chunks: deque[tuple[float | None, ...]] = deque()
        self._hr_tail: list[float | None] = []
        self._hr_last: float | None = None
        # first second labelled exercise after the last exercise exit: all recovery needs of the phase history
        self._resumed_at: int | None = None
        self._recovery: HeartRateRecovery | None = None
        self._recovery_final = True
        self._recovery_due: int | None = None
        # signal quality over the last minute of closed seconds, three ints a second in one flat list (to_state
        # copies a list much faster than a deque): has plausible HR (0/1), readings with HR, implausible readings
        self._quality_secs: list[int] = []
        self._q_data = self._q_hr = self._q_bad = 0
        self._last_reading_s = math.nan
        self._no_contact_since: float | None = None
        self._readings = 0
        self._late = 0
        # snapshot parts reused while their inputs are unchanged: time in zones until a second closes, the fields
        # derived from corrected beats until a correction block arrives, signal quality while its inputs hold
        self._tiz: TimeInZones | None = None
        self._beat_fields: _BeatFields | None = None
        self._signal: SignalQuality | None = None
        self._signal_inputs: tuple[float, ...] = ()

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
        sec = _floor(t_s - self.start_s)  # timebase.second_index(), inlined: this runs once per reading
        if sec < 0:
            raise InvalidInputError(f"reading at {t_s} is before the session start {self.start_s}")
        if rr_ms:
            beats = self._rr.push(rr_ms)
            if beats is not _NO_BEATS:  # a correction block completed (once per 128 beats)
                self._beats.add(beats)
                self._beat_fields = None
        self._readings += 1
        hr = float(hr_bpm) if hr_bpm is not None and hr_bpm == hr_bpm else reading_hr_bpm(hr_bpm, rr_ms)
        if sec < self._open_sec:
            self._late += 1
            return
        while self._open_sec < sec:
            self._close_second()
        if not t_s <= self._last_reading_s:
            self._last_reading_s = t_s
        if contact is False:
            if self._no_contact_since is None:
                self._no_contact_since = t_s
        else:
            self._no_contact_since = None
        if hr == hr:
            self._open_n_hr += 1
            if MIN_PLAUSIBLE_HR_BPM <= hr <= MAX_PLAUSIBLE_HR_BPM:  # timebase.plausible_hr(), inlined
                self._open_hr = hr
            else:
                self._open_n_bad += 1

    def flush(self) -> None:
        """End of session: finalise the RR still held back by the correction delay."""
        self._beats.add(self._rr.flush())
        self._beat_fields = None

    def _close_second(self) -> None:
        # zone_of(), banister_increment() and edwards_zone() inlined: this runs once per patient-second
        hr = self._open_hr
        if hr == hr:  # not NaN: the second has a plausible HR
            if hr > self._ceiling:
                zone = 5
            elif hr > self._band_high:
                zone = 4
            elif hr >= self._band_low:
                zone = 3
            elif hr >= self._very_light:
                zone = 2
            else:
                zone = 1
            if self._has_peak:
                x = (hr - self._rest) / self._hrr
                if x > 0.0:
                    self._banister += self._banister_scale * x * _exp(self._k * x)
                ez = _bisect_right(EDWARDS_ZONE_LOWER_FRACTIONS, hr / self._peak)
                self._edwards_counts[ez] += 1
                self._edwards_weighted += ez
            if not hr <= self._peak_hr:
                self._peak_hr = hr
            last: float | None = hr
            has_hr = 1
        else:
            zone = 0
            if self._has_peak:
                self._edwards_counts[0] += 1
            last = None
            has_hr = 0
        self._last_zone = zone
        self._zone_counts[zone] += 1
        n = self._n_closed
        tracker = self._phase
        previous_exit = tracker.last_exit_index
        phase = tracker.step(hr)
        if tracker.last_exit_index != previous_exit:
            self._recovery, self._recovery_final, self._recovery_due = None, False, None
            self._resumed_at = None
        elif phase is _EXERCISE and previous_exit is not None and self._resumed_at is None:
            self._resumed_at = n
        self._hr_last = last
        tail = self._hr_tail
        tail.append(last)
        if len(tail) == _HR_CHUNK_S:
            self._close_hr_minute()
        qs = self._quality_secs
        n_hr, n_bad = self._open_n_hr, self._open_n_bad
        if len(qs) == _QUALITY_VALUES:  # the oldest second leaves the window
            self._q_data += has_hr - qs[0]
            self._q_hr += n_hr - qs[1]
            self._q_bad += n_bad - qs[2]
            del qs[:3]
        else:
            self._q_data += has_hr
            self._q_hr += n_hr
            self._q_bad += n_bad
        qs.extend((has_hr, n_hr, n_bad))
        self._n_closed = n + 1
        self._open_sec += 1
        self._open_hr = _NAN
        self._open_n_hr = self._open_n_bad = 0
        self._tiz = None
        if not self._recovery_final:
            self._update_recovery()

    def _close_hr_minute(self) -> None:
        """Freeze the current minute of HR and drop whole minutes no longer needed (keeping RECOVERY_SPAN_S).

        Whole-number rates (what chest straps send) are kept as ints: equal values, and the state's JSON, which
        the worker encodes every few seconds, is shorter and cheaper to write (``73`` rather than ``73.0``).
        """
        chunks = self._hr_chunks
        chunks.append(_frozen_minute(self._hr_tail))
        self._hr_tail.clear()
        kept = sum(map(len, chunks))
        while kept - len(chunks[0]) >= RECOVERY_SPAN_S:
            kept -= len(chunks.popleft())

    def _set_recent_hr(self, recent: list[Any], *, nested: bool) -> None:
        """Restore the HR history: minute chunks (this version), or version 1's flat list of seconds."""
        if nested:
            values = [[None if v is None else float(v) for v in chunk] for chunk in recent]
            self._hr_chunks.extend(_frozen_minute(c) for c in values[:-1])
            self._hr_tail = values[-1] if values else []
        else:  # re-cut at whole session minutes, as a stream that never stopped would hold them
            flat = [None if v is None else float(v) for v in recent]
            cut = len(flat) - min(self._n_closed % _HR_CHUNK_S, len(flat))
            self._hr_tail = flat[cut:]
            first = cut % _HR_CHUNK_S
            if first:
                self._hr_chunks.append(_frozen_minute(flat[:first]))
            self._hr_chunks.extend(_frozen_minute(flat[i : i + _HR_CHUNK_S]) for i in range(first, cut, _HR_CHUNK_S))
        last = self._hr_tail[-1] if self._hr_tail else (self._hr_chunks[-1][-1] if self._hr_chunks else None)
        self._hr_last = None if last is None else float(last)

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
        # None (a second without data) becomes NaN; more history than RECOVERY_SPAN_S changes nothing
        hr = np.array([*chain.from_iterable(self._hr_chunks), *self._hr_tail], dtype=np.float64)
        offset = n - hr.size
        # heart_rate_recovery() reads the phases only to see whether exercise resumed after the exit, and the
        # first such second is all that decides it: a phase array built from it gives the same result
        phases = np.zeros(hr.size, dtype=np.int8)
        if self._resumed_at is not None:
            phases[max(self._resumed_at - offset, 0) :] = _EXERCISE
        rec = heart_rate_recovery(hr, phases, exit_idx - offset)
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
        sec = _floor(now_s - self.start_s)
        while self._open_sec < sec:
            self._close_second()
        n = self._n_closed
        hr = self._hr_last
        tiz = self._tiz
        if tiz is None:
            tiz = self._tiz = time_in_zones_from_counts(self._zone_counts, self.prescription)
        beat_fields = self._beat_fields
        if beat_fields is None:
            beat_fields = self._beat_fields = self._corrected_beat_fields()
        rmssd, sdnn, n_hrv, irregular, windows, artefacts, artefact_rate = beat_fields
        has_peak = self._has_peak
        peak_hr = self._peak_hr
        # build_frozen: a StreamSnapshot per patient per second; the generated __init__ costs ~5 us here
        return build_frozen(
            StreamSnapshot,
            {
                "t_s": n,
                "elapsed_s": float(n),
                "hr_bpm": hr,
                "zone": _ZONES[self._last_zone],
                # zones.band_percent(), same arithmetic
                "band_pct": None if hr is None else 100.0 * (hr - self._band_low) / self._band_width,
                "time_in_zones": tiz,
                "trimp_banister": self._banister if has_peak else None,
                "trimp_edwards": self._edwards_weighted * _EDWARDS_MIN_PER_SAMPLE if has_peak else None,
                "phase": self._phase.state if n else _UNKNOWN,
                "session_peak_hr_bpm": None if peak_hr != peak_hr else peak_hr,
                "rmssd_ms": rmssd,
                "sdnn_ms": sdnn,
                "hrv_n_beats": n_hrv,
                "rhythm_irregular": irregular,
                "rhythm_windows": windows,
                "artefacts": artefacts,
                "rr_pending_beats": self._rr.pending_beats,
                "recovery": self._recovery,
                "signal": self._signal_quality(now_s, artefact_rate),
                "readings": self._readings,
                "late_readings": self._late,
            },
        )

    def _corrected_beat_fields(self) -> _BeatFields:
        """The snapshot fields that change only when a block of corrected beats arrives."""
        beats = self._beats
        rmssd, sdnn, n_hrv = beats.rest_hrv()
        irregular, windows, counts, rate = beats.rhythm_irregular, beats.windows, self._rr.counts(), beats.artefact_rate
        if n_hrv == 0:
            return None, None, 0, irregular, windows, counts, rate
        return rmssd, sdnn, n_hrv, irregular, windows, counts, rate

    def _signal_quality(self, now_s: float, artefact_rate: float) -> SignalQuality:
        """:func:`classify_signal` on the current measurements, reused while they are unchanged (most seconds)."""
        last, since, n_secs = self._last_reading_s, self._no_contact_since, len(self._quality_secs) // 3
        inputs = (
            now_s - last if last == last else math.inf,
            0.0 if since is None else now_s - since,
            1.0 - self._q_data / n_secs if n_secs else 0.0,
            self._q_bad / self._q_hr if self._q_hr else 0.0,
            artefact_rate,
        )
        if self._signal is None or inputs != self._signal_inputs:
            age, no_contact, missing, implausible, artefact = inputs
            self._signal = classify_signal(
                data_age_s=age,
                no_contact_s=no_contact,
                missing_fraction=missing,
                implausible_fraction=implausible,
                artefact_fraction=artefact,
            )
            self._signal_inputs = inputs
        return self._signal

    @property
    def zone_now(self) -> Zone:
        """Zone of the last closed second."""
        hr = self._hr_last
        return zone_of(math.nan if hr is None else hr, self.prescription)

    # --- plain-data state ----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state (dicts, lists and tuples, str, int, float, bool, None; no NaN).

        The live processor writes it every few seconds for every patient, with caches cold, so it copies as few
        values as it can: finished minutes of ``recent_hr`` and the corrected beats are immutable tuples shared
        with the stream (a copy only of the current minute), missing seconds are None already, the phase history
        is reduced to ``resumed_at`` and ``quality_secs`` is one flat list (3 ints a second).
        """
        rec = self._recovery
        open_hr, peak_hr, last_reading = self._open_hr, self._peak_hr, self._last_reading_s
        if self._prescription_state is None:
            self._prescription_state = prescription_to_state(self.prescription)  # immutable: convert once
        prescription = dict(self._prescription_state)
        prescription["flags"] = list(prescription["flags"])
        return {
            "v": _STATE_VERSION,
            "prescription": prescription,
            "start_s": self.start_s,
            "rr": self._rr.to_state(),
            "phase": self._phase.to_state(),
            "beats": self._beats.to_state(),
            "open": [self._open_sec, None if open_hr != open_hr else open_hr, self._open_n_hr, self._open_n_bad],
            "n_closed": self._n_closed,
            "zone_counts": list(self._zone_counts),
            "edwards_counts": list(self._edwards_counts),
            "banister": self._banister,
            "peak_hr": None if peak_hr != peak_hr else peak_hr,
            "recent_hr": [*self._hr_chunks, list(self._hr_tail)],
            "resumed_at": self._resumed_at,
            "recovery": None if rec is None else [rec.peak_index_s, *_recovery_tail(rec)],
            "recovery_final": self._recovery_final,
            "recovery_due": self._recovery_due,
            "quality_secs": list(self._quality_secs),
            "last_reading_s": None if last_reading != last_reading else last_reading,
            "no_contact_since": self._no_contact_since,
            "readings": self._readings,
            "late": self._late,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PatientStream:
        """Rebuild from :meth:`to_state` output (this version's, or version 1 as stored by earlier releases)."""
        version = state.get("v")
        if version not in (1, _STATE_VERSION):
            raise InvalidInputError(f"unsupported stream state version {version!r}")
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
        obj._set_recent_hr(state["recent_hr"], nested=version != 1)
        obj._last_zone = int(obj.zone_now)
        r = state["recovery"]
        obj._recovery = None if r is None else HeartRateRecovery(int(r[0]), *r[1:])
        obj._recovery_final = bool(state["recovery_final"])
        obj._recovery_due = None if state["recovery_due"] is None else int(state["recovery_due"])
        if version == 1:
            obj._resumed_at = _resumed_at_v1(state["recent_phase"], obj._n_closed, obj._phase.last_exit_index)
            flat = [int(x) for q in state["quality_secs"] for x in q]
        else:
            obj._resumed_at = None if state["resumed_at"] is None else int(state["resumed_at"])
            flat = [int(x) for x in state["quality_secs"]]
        if len(flat) % 3:
            raise InvalidInputError(f"quality_secs holds {len(flat)} values, not three per second")
        q = obj._quality_secs = flat[-_QUALITY_VALUES:]
        obj._q_data, obj._q_hr, obj._q_bad = sum(q[0::3]), sum(q[1::3]), sum(q[2::3])
        obj._last_reading_s = _none_to_nan(state["last_reading_s"])
        since = state["no_contact_since"]
        obj._no_contact_since = None if since is None else float(since)
        obj._readings, obj._late = int(state["readings"]), int(state["late"])
        return obj


def _frozen_minute(values: list[float | None]) -> tuple[float | None, ...]:
    """A finished minute of HR as kept and written: whole numbers as ints (the same values, shorter JSON)."""
    return tuple([v if v is None or not v.is_integer() else int(v) for v in values])


def _resumed_at_v1(recent_phase: list[int], n_closed: int, exit_idx: int | None) -> int | None:
    """``resumed_at`` from a version-1 state's per-second phases (the last ``len(recent_phase)`` seconds)."""
    if exit_idx is None:
        return None
    offset = n_closed - len(recent_phase)
    for i in range(max(exit_idx - offset, 0), len(recent_phase)):
        if int(recent_phase[i]) == _EXERCISE:
            return offset + i
    return None


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
