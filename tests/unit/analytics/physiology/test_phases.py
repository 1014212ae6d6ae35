"""Session phases from a 1 Hz heart-rate trace."""

from __future__ import annotations

import itertools

import numpy as np

from analytics.physiology import Phase, Prescription, detect_phases, phase_thresholds
from analytics.physiology.phases import PhaseTracker


def _session_trace(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = [
        np.full(300, 65.0),
        np.linspace(65, 110, 180),
        np.full(1200, 110.0),
        np.linspace(110, 72, 240),
        np.full(300, 70.0),
    ]
    return np.concatenate(parts) + rng.normal(0, 1.5, sum(p.size for p in parts))


def test_phases_follow_a_rehab_session(prescription: Prescription) -> None:
    hr = _session_trace()
    ph = detect_phases(hr, prescription)
    labels = ph.phases
    # runs in order, no going back
    runs = [int(labels[0])] + [int(b) for a, b in itertools.pairwise(labels) if a != b]
    assert runs == [Phase.REST, Phase.WARM_UP, Phase.EXERCISE, Phase.COOL_DOWN, Phase.RECOVERY]
    assert ph.seconds_in(Phase.REST) >= 300
    # exercise from ~94.75 bpm on the ramp up (~54 s) through the plateau to ~90.5 bpm on the way down (~130 s)
    assert abs(ph.seconds_in(Phase.EXERCISE) - (54 + 1200 + 130)) < 30
    assert ph.last_exit_index is not None and 1790 <= ph.last_exit_index <= 1830
    assert ph.at_rest()[:300].all() and not ph.at_rest()[600:1500].any()


def test_thresholds_are_ordered(prescription: Prescription) -> None:
    th = phase_thresholds(prescription)
    assert prescription.rest_hr_bpm < th.rest_level_bpm < th.exercise_exit_bpm < th.exercise_entry_bpm
    assert th.exercise_entry_bpm <= prescription.target_low_bpm


def test_gaps_are_unknown_and_do_not_change_state(prescription: Prescription) -> None:
    hr = _session_trace()
    hr[800:830] = np.nan
    ph = detect_phases(hr, prescription).phases
    assert (ph[815:830] == Phase.UNKNOWN).all()
    assert ph[840] == Phase.EXERCISE


def test_tracker_state_roundtrip_continues_identically(prescription: Prescription) -> None:
    hr = _session_trace(3).tolist()
    a = PhaseTracker(phase_thresholds(prescription))
    out_a = [a.step(v) for v in hr]
    b = PhaseTracker(phase_thresholds(prescription))
    out_b = [b.step(v) for v in hr[:1000]]
    b = PhaseTracker.from_state(b.to_state())
    out_b += [b.step(v) for v in hr[1000:]]
    assert out_a == out_b
