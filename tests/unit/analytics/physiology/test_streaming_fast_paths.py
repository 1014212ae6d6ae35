"""The live path's shortcuts give exactly what the plain computations give.

Each fast path (lazy Lipponen-Tarvainen thresholds, the early exit of the resting-HRV window, the rhythm window
verdict, the spelled-out SDNN/RMSSD, snapshots built without ``__init__``, the compact stream state) is checked
against the straightforward computation it replaces, bit for bit where floats are involved.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.physiology import (
    PatientStream,
    StreamSnapshot,
    TimeInZones,
    correct_rr,
    detect_phases,
    heart_rate_recovery,
    hr_per_second,
    time_domain_hrv,
)
from analytics.physiology.artefact_segment import (
    LT_C1,
    LT_C2,
    LT_DRR_LIMIT,
    LT_MIN_THRESHOLD_FRACTION,
    SEGMENT_MARGIN_BEATS,
    SegmentFeatures,
    _pad2,
    _rolling_median,
    _rolling_threshold,
    classify_segment,
    correct_segment,
    segment_features,
)
from analytics.physiology.const import MS_PER_MIN
from analytics.physiology.hrv import sdnn_rmssd_ms
from analytics.physiology.recovery import RECOVERY_SPAN_S
from analytics.physiology.rhythm import RhythmDebouncer, score_window, window_verdict
from analytics.physiology.snapshot import (
    HRV_WINDOW_BEATS,
    MIN_STREAM_HRV_BEATS,
    REST_CHECK_BEATS,
    recent_rest_hrv,
)
from tests.unit.analytics.physiology.simulate import af_rr, inject_artefacts, session_readings, sinus_rr
from tests.unit.analytics.physiology.test_streaming import PRESCRIPTION, _perturb

SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
V1_STATES = Path(__file__).parent / "data" / "stream_state_v1.json"


def _rr_series(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "sinus":
        return sinus_rr(n, seed=seed)
    if kind == "lively":  # large respiratory arrhythmia: many beats above the threshold floor
        return sinus_rr(n, rsa_ms=90.0, noise_ms=25.0, seed=seed)
    if kind == "artefacts":
        return np.abs(inject_artefacts(sinus_rr(n, seed=seed), max(n // 40, 1), seed=seed).rr_ms)
    if kind == "af":
        return af_rr(n, seed=seed)
    if kind == "h10":  # whole 1/1024-s ticks, many equal values
        return np.round(sinus_rr(n, noise_ms=2.0, seed=seed) * 1.024) / 1.024
    return rng.uniform(300.0, 1500.0, n)


series = st.builds(
    _rr_series,
    kind=st.sampled_from(["sinus", "lively", "artefacts", "af", "h10", "uniform"]),
    n=st.integers(4, 400),
    seed=st.integers(0, 10_000),
)


# --- lazy thresholds --------------------------------------------------------------------------------------


def _full_features(rr: np.ndarray, *, at_start: bool, at_end: bool) -> SegmentFeatures:
    """segment_features with every threshold computed (what it did before the floor shortcut)."""
    n = rr.size
    drr = np.empty(n)
    if n:
        drr[0] = 0.0 if at_start else np.nan
        drr[1:] = np.diff(rr)
    med = _rolling_median(rr, 5, at_start, at_end)
    floor_ms = LT_MIN_THRESHOLD_FRACTION * med
    everywhere = np.ones(n, dtype=np.bool_)
    th1 = _rolling_threshold(np.abs(drr), floor_ms, at_start, at_end, everywhere)
    drr_n = drr / th1
    mrr = rr - med
    mrr = np.where(mrr < 0, 2.0 * mrr, mrr)
    th2 = _rolling_threshold(np.abs(mrr), floor_ms, at_start, at_end, everywhere)
    p = _pad2(drr_n, at_start, at_end)
    prev, nxt, nxt2 = p[1 : n + 1], p[3 : n + 3], p[4 : n + 4]
    with np.errstate(invalid="ignore"):
        s12 = np.where(drr_n > 0, np.maximum(prev, nxt), np.where(drr_n < 0, np.minimum(prev, nxt), 0.0))
        s22 = np.where(drr_n >= 0, np.minimum(nxt, nxt2), np.maximum(nxt, nxt2))
        ectopic = ((drr_n > LT_DRR_LIMIT) & (s12 < -LT_C1 * drr_n - LT_C2)) | (
            (drr_n < -LT_DRR_LIMIT) & (s12 > -LT_C1 * drr_n + LT_C2)
        )
    return SegmentFeatures(drr_n=drr_n, mrr_n=mrr / th2, th2_ms=th2, median_ms=med, s22=s22, ectopic=ectopic)


@SETTINGS
@given(rr=series, at_start=st.booleans(), at_end=st.booleans(), pending=st.sampled_from([0, 2, 5, 100]))
def test_lazy_thresholds_give_the_same_labels_and_corrections(
    rr: np.ndarray, at_start: bool, at_end: bool, pending: int
) -> None:
    lazy = segment_features(rr, at_start=at_start, at_end=at_end)
    full = _full_features(rr, at_start=at_start, at_end=at_end)
    assert np.array_equal(lazy.median_ms, full.median_ms, equal_nan=True)
    assert np.array_equal(lazy.ectopic, full.ectopic)
    # labels only where they are defined: a true boundary, or SEGMENT_MARGIN_BEATS inside the segment
    begin = 0 if at_start else min(SEGMENT_MARGIN_BEATS, rr.size)
    end = rr.size if at_end else max(rr.size - SEGMENT_MARGIN_BEATS, begin)
    got, carry = classify_segment(rr, lazy, begin=begin, end=end, pending=pending)
    want, want_carry = classify_segment(rr, full, begin=begin, end=end, pending=pending)
    assert np.array_equal(got, want) and carry == want_carry
    if at_start and at_end:
        a = correct_segment(rr, lazy.median_ms, got, labels_offset=0, begin=0, end=rr.size)
        b = correct_segment(rr, full.median_ms, want, labels_offset=0, begin=0, end=rr.size)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_lazy_thresholds_are_exact_where_a_label_reads_them() -> None:
    rr = np.abs(inject_artefacts(sinus_rr(600, rsa_ms=60.0, seed=3), 12, seed=3).rr_ms)
    lazy = segment_features(rr, at_start=True, at_end=True)
    full = _full_features(rr, at_start=True, at_end=True)
    hot = np.abs(full.drr_n) > 0.99 * LT_DRR_LIMIT
    assert 0 < hot.sum() < rr.size  # the case is not trivial
    assert np.array_equal(lazy.drr_n[hot], full.drr_n[hot])
    assert np.array_equal(lazy.th2_ms[hot], full.th2_ms[hot])
    assert (np.abs(lazy.drr_n[~hot]) <= 1.0).all()
    assert (lazy.th2_ms >= LT_MIN_THRESHOLD_FRACTION * lazy.median_ms).all()
    assert np.array_equal(correct_rr(rr).labels, classify_segment(rr, full, begin=0, end=rr.size, pending=0)[0])


# --- resting HRV ------------------------------------------------------------------------------------------


def _recent_rest_hrv_reference(nn_ms: list[float], rest_level_bpm: float) -> tuple[float, float, int]:
    """recent_rest_hrv as first written: vectorised throughout, time_domain_hrv on the tail."""
    nn = np.asarray(nn_ms[-HRV_WINDOW_BEATS:], dtype=np.float64)
    if nn.size < MIN_STREAM_HRV_BEATS:
        return math.nan, math.nan, 0
    csum = np.concatenate([[0.0], np.cumsum(nn)])
    idx = np.arange(1, nn.size + 1)
    lo = np.maximum(idx - REST_CHECK_BEATS, 0)
    mean_hr = MS_PER_MIN * (idx - lo) / (csum[idx] - csum[lo])
    active = np.flatnonzero(mean_hr > rest_level_bpm)
    tail = nn[int(active[-1]) + 1 :] if active.size else nn
    if tail.size < MIN_STREAM_HRV_BEATS:
        return math.nan, math.nan, 0
    h = time_domain_hrv(tail)
    return h.rmssd_ms, h.sdnn_ms, int(tail.size)


@SETTINGS
@given(
    base=st.floats(500.0, 1200.0),
    n=st.integers(0, 420),
    seed=st.integers(0, 10_000),
    step_at=st.floats(0.0, 1.0),
    tie=st.integers(0, 420),
)
def test_recent_rest_hrv_equals_the_vectorised_definition(
    base: float, n: int, seed: int, step_at: float, tie: int
) -> None:
    rng = np.random.default_rng(seed)
    nn = base + rng.normal(0, 40, n)
    nn[: int(step_at * n)] *= 0.7  # an exercise stretch, then rest
    nn = np.abs(nn) + 1.0
    values = nn.tolist()
    want_levels = [60000.0 / base, 70.0, 95.0]
    if n >= REST_CHECK_BEATS:  # a rest level equal to one of the trailing means, to exercise the ties
        w = np.asarray(values[-HRV_WINDOW_BEATS:])
        csum = np.concatenate([[0.0], np.cumsum(w)])
        i = tie % w.size + 1
        lo = max(i - REST_CHECK_BEATS, 0)
        want_levels.append(float(MS_PER_MIN * (i - lo) / (csum[i] - csum[lo])))
    for level in want_levels:
        got = recent_rest_hrv(values, level)
        want = _recent_rest_hrv_reference(values, level)
        assert got[2] == want[2]
        assert (got[0] == want[0] and got[1] == want[1]) or (math.isnan(got[0]) and math.isnan(want[0]))


@SETTINGS
@given(rr=series)
def test_sdnn_rmssd_are_numpys_std_and_rmssd(rr: np.ndarray) -> None:
    if rr.size < 2:
        return
    d = np.diff(rr)
    assert sdnn_rmssd_ms(rr) == (float(rr.std(ddof=1)), float(np.sqrt(np.mean(d * d))))


# --- rhythm -------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    rr=st.builds(
        _rr_series,
        kind=st.sampled_from(["sinus", "lively", "af", "h10", "uniform"]),
        n=st.just(64),
        seed=st.integers(0, 10_000),
    ),
    ramp=st.sampled_from([0.0, 0.05, 0.3]),
    corrected_share=st.sampled_from([0.0, 0.1, 0.2, 0.21, 0.5]),
    seed=st.integers(0, 1000),
)
def test_window_verdict_is_what_score_window_tells_the_debouncer(
    rr: np.ndarray, ramp: float, corrected_share: float, seed: int
) -> None:
    rr = rr * np.linspace(1.0, 1.0 - ramp, rr.size)
    corrected = np.random.default_rng(seed).random(rr.size) < corrected_share
    w = score_window(rr, corrected, 0)
    assert window_verdict(rr, corrected) == (w.irregular if w.eligible else None)


def test_debouncer_observe_is_step() -> None:
    rng = np.random.default_rng(5)
    a, b = RhythmDebouncer(), RhythmDebouncer()
    for k in range(60):
        rr = af_rr(64, seed=k) if rng.random() < 0.5 else sinus_rr(64, seed=k)
        w = score_window(rr, np.zeros(64, dtype=np.bool_), 0)
        assert a.step(w) == b.observe(window_verdict(rr, np.zeros(64, dtype=np.bool_)))


# --- snapshots and state ------------------------------------------------------------------------------------


def test_snapshots_built_without_init_equal_the_constructed_ones() -> None:
    ps = PatientStream(PRESCRIPTION, start_s=0.0)
    for t, hr, rr, contact in session_readings(700, seed=4):
        ps.update(t, hr, rr, contact)
        s = ps.snapshot(t)
    for obj, cls in ((s, StreamSnapshot), (s.time_in_zones, TimeInZones)):
        names = [f.name for f in dataclasses.fields(cls)]
        assert sorted(vars(obj)) == sorted(names)
        rebuilt = cls(**{name: getattr(obj, name) for name in names})
        assert rebuilt == obj and hash(rebuilt) == hash(obj) and repr(rebuilt) == repr(obj)
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.readings = 0  # type: ignore[misc]


@pytest.mark.parametrize("whole_bpm", [False, True])
def test_state_is_compact_plain_json(whole_bpm: bool) -> None:
    ps = PatientStream(PRESCRIPTION, start_s=0.0)
    readings = _perturb(session_readings(900, seed=8), 8, 0.05, 0.2, 0.05, 0.1)
    for t, hr, rr, contact in readings:
        ps.update(t, None if hr is None else (float(round(hr)) if whole_bpm else hr), rr, contact)
    state = ps.to_state()
    text = json.dumps(state, allow_nan=False)
    assert state["v"] == 2 and "recent_phase" not in state
    assert len(state["quality_secs"]) == 3 * 60 and all(type(x) is int for x in state["quality_secs"])
    minutes = state["recent_hr"]  # whole session minutes, then the current one; None for a second without data
    assert [len(m) for m in minutes[:-1]] == [60] * (len(minutes) - 1) and len(minutes[-1]) == state["n_closed"] % 60
    assert sum(map(len, minutes)) >= RECOVERY_SPAN_S and any(v is None for m in minutes for v in m)
    # whole-number rates are written as ints in finished minutes: the same values, shorter JSON
    assert any(type(v) is int for m in minutes[:-1] for v in m) == whole_bpm
    back = PatientStream.from_state(json.loads(text))
    assert json.dumps(back.to_state(), allow_nan=False) == text
    assert back.snapshot(901.0) == ps.snapshot(901.0)
    for n_closed in (840, 841):  # the current minute empty (the last HR in a frozen minute) or not
        state = _state_at(session_readings(900, seed=8), n_closed, whole_bpm)
        resumed = PatientStream.from_state(json.loads(json.dumps(state)))
        assert type(resumed.snapshot(n_closed).hr_bpm) is float


def _state_at(readings: list, n_closed: int, whole_bpm: bool) -> dict:
    ps = PatientStream(PRESCRIPTION, start_s=0.0)
    for t, hr, rr, contact in readings:
        if t >= n_closed + 1:
            break
        ps.update(t, None if hr is None else (float(round(hr)) if whole_bpm else hr), rr, contact)
    ps.snapshot(n_closed)
    return ps.to_state()


@pytest.mark.parametrize("case", range(2))
def test_version_1_state_still_loads_and_continues_identically(case: int) -> None:
    spec = json.loads(V1_STATES.read_text())["cases"][case]
    readings = session_readings(spec["duration"], seed=spec["seed"])
    if spec["perturb"]:
        readings = _perturb(readings, spec["seed"], *spec["perturb"])
    at = spec["at"]
    live = PatientStream(PRESCRIPTION, start_s=0.0)
    for t, hr, rr, contact in readings[: at + 1]:
        live.update(t, hr, rr, contact)
    resumed = PatientStream.from_state(spec["state"])
    assert resumed.to_state() == live.to_state()
    for t, hr, rr, contact in readings[at + 1 :]:
        live.update(t, hr, rr, contact)
        resumed.update(t, hr, rr, contact)
        assert resumed.snapshot(t) == live.snapshot(t)
    live.flush()
    resumed.flush()
    assert resumed.snapshot(readings[-1][0] + 30.0) == live.snapshot(readings[-1][0] + 30.0)


def _interval_readings(seed: int, dips_s: list[int]) -> list[tuple[float, float, list[float], bool]]:
    """Bouts at ~118 bpm separated by dips below the exercise level of ``dips_s`` seconds, then recovery."""
    rng = np.random.default_rng(seed)
    levels = [(120, 66.0), (60, 105.0)]
    for dip in dips_s:
        levels += [(200, 118.0), (dip, 84.0)]
    levels += [(150, 120.0), (300, 72.0)]
    hr = np.concatenate([np.full(n, v) for n, v in levels]) + rng.normal(0, 2, sum(n for n, _ in levels))
    hr = np.convolve(hr, np.ones(9) / 9, mode="same")
    return [
        (k + float(rng.uniform(0.05, 0.95)), float(round(v)), [60000.0 / v], True)
        for k, v in enumerate(hr)
        if rng.random() >= 0.03
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_recovery_after_resumed_exercise_equals_batch_every_second(seed: int) -> None:
    # exercise resuming 30-140 s after an exit cuts HR at 60/120 s short; the stream keeps only when it resumed
    readings = _interval_readings(seed, [30 + 25 * seed, 70, 140])
    ps = PatientStream(PRESCRIPTION, start_s=0.0)
    times: list[float] = []
    hrs: list[float] = []
    cut_short = 0
    for k, (t, hr, rr, contact) in enumerate(readings):
        ps.update(t, hr, rr, contact)
        times.append(t)
        hrs.append(hr)
        snap = ps.snapshot(t)
        if k % 2 == 0:
            trace = hr_per_second(np.array(times), np.array(hrs), 0.0, snap.t_s)
            phases = detect_phases(trace, PRESCRIPTION)
            assert snap.recovery == heart_rate_recovery(trace, phases.phases, phases.last_exit_index)
        if k % 97 == 0:
            ps = PatientStream.from_state(json.loads(json.dumps(ps.to_state())))
        if snap.recovery is not None and snap.recovery.hr_120s_bpm is None and snap.phase.name == "EXERCISE":
            cut_short += 1
    assert cut_short > 0
