"""PatientStream gives the batch functions' results on the same data (hypothesis), with plain-data state."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.physiology import (
    InvalidInputError,
    PatientStream,
    PeakHrSource,
    Phase,
    Prescription,
    Sex,
    Zone,
    assess_signal_quality,
    banister_trimp,
    correct_rr,
    detect_phases,
    edwards_trimp,
    heart_rate_recovery,
    hr_per_second,
    karvonen_prescription,
    phase_thresholds,
    recent_rest_hrv,
    screen_rhythm,
    time_in_zones,
    zones_of,
)
from analytics.physiology.snapshot import ARTEFACT_WINDOW_BEATS
from analytics.physiology.timebase import reading_hr_bpm
from tests.unit.analytics.physiology.simulate import session_readings

PRESCRIPTION = karvonen_prescription(65.0, 150.0, PeakHrSource.CPET, sex=Sex.FEMALE)


def _perturb(readings, seed: int, drop: float, no_hr: float, artefacts: float, no_contact: float):
    """Drop readings, remove hr_bpm, add extra/missed beats, lose contact, jitter times within the second."""
    rng = np.random.default_rng(seed)
    out = []
    for t, hr, rr, _contact in readings:
        if rng.random() < drop:
            continue
        rr = list(rr)
        if rr and rng.random() < artefacts:
            i = int(rng.integers(len(rr)))
            rr[i : i + 1] = [0.45 * rr[i], 0.55 * rr[i]] if rng.random() < 0.5 else [2 * rr[i]]
        out.append(
            (
                t + float(rng.uniform(-0.45, 0.45)),
                None if rng.random() < no_hr else hr,
                rr,
                None if rng.random() < 0.1 else bool(rng.random() >= no_contact),
            )
        )
    return out


def _run_stream(p: Prescription, readings, roundtrip_every: int, snapshot_every: int):
    ps = PatientStream(p, start_s=0.0)
    for k, (t, hr, rr, contact) in enumerate(readings):
        ps.update(t, hr, rr, contact)
        if snapshot_every and k % snapshot_every == 0:
            ps.snapshot(t)  # never closes the second a later reading falls in
        if roundtrip_every and k % roundtrip_every == 0:
            ps = PatientStream.from_state(json.loads(json.dumps(ps.to_state(), allow_nan=False)))
    return ps


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    duration=st.integers(60, 900),
    seed=st.integers(0, 1000),
    drop=st.sampled_from([0.0, 0.05, 0.3]),
    no_hr=st.sampled_from([0.0, 0.2]),
    artefacts=st.sampled_from([0.0, 0.05]),
    no_contact=st.sampled_from([0.0, 0.1]),
    roundtrip_every=st.sampled_from([0, 37]),
    snapshot_every=st.sampled_from([0, 1, 13]),
    tail_s=st.floats(0.0, 40.0),
)
def test_stream_equals_batch(
    duration, seed, drop, no_hr, artefacts, no_contact, roundtrip_every, snapshot_every, tail_s
) -> None:
    p = PRESCRIPTION
    readings = _perturb(session_readings(duration, seed=seed), seed, drop, no_hr, artefacts, no_contact)
    ps = _run_stream(p, readings, roundtrip_every, snapshot_every)
    ps.flush()
    now = (readings[-1][0] if readings else 0.0) + tail_s
    snap = ps.snapshot(now)

    times = np.array([r[0] for r in readings])
    hr_reading = np.array([reading_hr_bpm(r[1], r[2]) for r in readings])
    n_s = math.floor(now)
    trace = hr_per_second(times, hr_reading, 0.0, n_s)
    assert snap.t_s == n_s
    # zones, load, phases, recovery on the 1 Hz trace
    tiz = time_in_zones(trace, p)
    assert snap.time_in_zones == tiz
    assert snap.trimp_banister == pytest.approx(
        banister_trimp(trace, p.rest_hr_bpm, 150.0, p.banister_k), rel=1e-9, abs=1e-12
    )
    assert snap.trimp_edwards == pytest.approx(edwards_trimp(trace, 150.0).trimp, rel=1e-9, abs=1e-12)
    phases = detect_phases(trace, p)
    known = phases.phases[phases.phases != Phase.UNKNOWN]
    assert snap.phase == (Phase(int(known[-1])) if known.size else Phase.UNKNOWN)  # carried through gaps
    assert snap.zone == (Zone(int(zones_of(trace[-1:], p)[0])) if n_s else Zone.NO_DATA)
    assert snap.recovery == heart_rate_recovery(trace, phases.phases, phases.last_exit_index)
    valid = trace[~np.isnan(trace)]
    assert snap.session_peak_hr_bpm == (float(valid.max()) if valid.size else None)
    # corrected RR, HRV, rhythm
    all_rr = [v for r in readings for v in r[2]]
    batch = correct_rr(all_rr)
    assert snap.artefacts == batch.counts and snap.rr_pending_beats == 0
    rmssd, sdnn, n_hrv = recent_rest_hrv(batch.rr_ms.tolist(), phase_thresholds(p).rest_level_bpm)
    assert snap.hrv_n_beats == n_hrv
    if n_hrv:
        assert snap.rmssd_ms == pytest.approx(rmssd, rel=1e-12) and snap.sdnn_ms == pytest.approx(sdnn, rel=1e-12)
    screen = screen_rhythm(batch.rr_ms, batch.corrected_mask)
    assert snap.rhythm_irregular == screen.flagged_now and snap.rhythm_windows == len(screen.windows)
    # signal quality
    contact = np.array([np.nan if r[3] is None else float(r[3]) for r in readings])
    mask = batch.corrected_mask[-ARTEFACT_WINDOW_BEATS:]
    q = assess_signal_quality(now, times, hr_reading, contact, float(mask.mean()) if mask.size else 0.0)
    assert snap.signal.state == q.state
    assert snap.signal.missing_fraction == pytest.approx(q.missing_fraction)
    assert snap.signal.implausible_fraction == pytest.approx(q.implausible_fraction)
    assert snap.signal.artefact_fraction == pytest.approx(q.artefact_fraction)
    assert snap.signal.no_contact_s == pytest.approx(q.no_contact_s)
    assert snap.readings == len(readings) and snap.late_readings == 0


def test_live_snapshot_during_a_session() -> None:
    readings = session_readings(1800, seed=1)
    ps = PatientStream(PRESCRIPTION, start_s=0.0)
    snaps = []
    for t, hr, rr, contact in readings:
        ps.update(t, hr, rr, contact)
        snaps.append(ps.snapshot(t + 0.5))
    s = snaps[-1]
    assert s.t_s == 1800 and s.hr_bpm is not None and s.signal.state.value == "ok"
    assert [x.phase for x in snaps[:300:60]] == [Phase.REST] * 5
    assert any(x.phase == Phase.EXERCISE for x in snaps) and s.phase in (Phase.COOL_DOWN, Phase.RECOVERY)
    assert s.time_in_zones.in_band_s > 0 and s.trimp_banister is not None and s.trimp_banister > 0
    assert 64 <= s.rr_pending_beats < 64 + 128
    # resting HRV exists once a rest window's beats are final, and not during exercise
    assert any(x.rmssd_ms is not None for x in snaps[400:700])
    assert all(x.rmssd_ms is None for x in snaps[1000:1200])
    assert not any(x.rhythm_irregular for x in snaps)
    # data age drives stale/lost
    assert ps.snapshot(1806.0).signal.state.value == "stale"
    assert ps.snapshot(1840.0).signal.state.value == "lost"


def test_state_is_plain_json_and_resumes_identically() -> None:
    readings = session_readings(400, seed=2)
    a = PatientStream(PRESCRIPTION, start_s=0.0)
    b = PatientStream(PRESCRIPTION, start_s=0.0)
    for k, (t, hr, rr, contact) in enumerate(readings):
        a.update(t, hr, rr, contact)
        b.update(t, hr, rr, contact)
        if k == 250:
            text = json.dumps(b.to_state(), allow_nan=False)
            b = PatientStream.from_state(json.loads(text))
    assert a.snapshot(401.0) == b.snapshot(401.0)


def test_late_and_invalid_readings() -> None:
    ps = PatientStream(PRESCRIPTION, start_s=100.0)
    ps.update(105.2, 80.0, [750.0])
    ps.update(107.0, 81.0, [740.0])
    ps.update(104.0, 500.0, [760.0])  # late: its HR is ignored, its RR kept
    s = ps.snapshot(108.0)
    assert s.late_readings == 1 and ps._rr.n_received == 3
    assert s.session_peak_hr_bpm == 81.0
    with pytest.raises(InvalidInputError):
        ps.update(99.0, 80.0)


def test_bad_rr_reading_changes_nothing() -> None:
    ps = PatientStream(PRESCRIPTION, start_s=0.0)
    ps.update(0.5, 70.0, [850.0, 860.0])
    before = json.dumps(ps.to_state())
    with pytest.raises(InvalidInputError):
        ps.update(1.5, 70.0, [850.0, -3.0])
    assert json.dumps(ps.to_state()) == before
