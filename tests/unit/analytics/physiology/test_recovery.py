"""Heart-rate recovery (HRR1, HRR2) and the chronotropic response."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.physiology import (
    Phase,
    Prescription,
    chronotropic_response,
    detect_phases,
    heart_rate_recovery,
)


def _exercise_then_recovery(tau_s: float, *, noise: float = 0.0) -> np.ndarray:
    """10 min at 120 bpm, then exponential recovery towards 70 bpm with time constant ``tau_s``."""
    t = np.arange(400)
    rec = 70 + 50 * np.exp(-t / tau_s)
    hr = np.concatenate([np.full(300, 65.0), np.full(600, 120.0), rec])
    return hr + np.random.default_rng(1).normal(0, noise, hr.size)


@pytest.mark.parametrize(("tau_s", "abnormal"), [(40.0, False), (400.0, True)])
def test_hrr_matches_the_recovery_curve(prescription: Prescription, tau_s: float, abnormal: bool) -> None:
    hr = _exercise_then_recovery(tau_s)
    ph = detect_phases(hr, prescription)
    rec = heart_rate_recovery(hr, ph.phases, ph.last_exit_index)
    assert rec is not None
    assert rec.peak_hr_bpm == pytest.approx(120.0)
    # timed at the last second within 2 bpm of the peak: the decay's first seconds
    assert 899 <= rec.peak_index_s <= 900 + tau_s * np.log(50 / 48) + 1
    lag = rec.peak_index_s - 900
    # HR at 60 s after that second, averaged over 5 s, on the known curve
    expected_1 = 50 * (1 - np.exp(-(lag + 60 + np.arange(-2, 3)) / tau_s)).mean()
    assert rec.hrr1_bpm == pytest.approx(expected_1, abs=0.1)
    true_hrr1 = 50 * (1 - np.exp(-60 / tau_s))  # from the true end of effort
    assert abs(rec.hrr1_bpm - true_hrr1) < 2.0
    assert rec.hrr2_bpm is not None and rec.hrr2_bpm > rec.hrr1_bpm
    assert rec.hrr1_abnormal is abnormal


def test_hrr_with_noise_is_close(prescription: Prescription) -> None:
    hr = _exercise_then_recovery(60.0, noise=1.5)
    ph = detect_phases(hr, prescription)
    rec = heart_rate_recovery(hr, ph.phases, ph.last_exit_index)
    assert rec is not None and rec.hrr1_bpm == pytest.approx(50 * (1 - np.exp(-1)), abs=4.0)


def test_hrr_is_none_when_recording_stops_or_exercise_resumes(prescription: Prescription) -> None:
    hr = _exercise_then_recovery(60.0)[:1000]
    ph = detect_phases(hr, prescription)
    rec = heart_rate_recovery(hr, ph.phases, ph.last_exit_index)
    assert rec is not None and rec.hrr1_bpm is not None and rec.hrr2_bpm is None  # stops before 2 min
    assert heart_rate_recovery(hr[:940], *_phases_and_exit(hr[:940], prescription)) is None  # no exit yet
    phases = np.full(hr.size, Phase.COOL_DOWN, dtype=np.int8)
    phases[930:] = Phase.EXERCISE
    assert heart_rate_recovery(hr, phases, 905) is not None
    assert heart_rate_recovery(np.full(10, np.nan), np.zeros(10, np.int8), None) is None


def _phases_and_exit(hr: np.ndarray, p: Prescription) -> tuple[np.ndarray, int | None]:
    ph = detect_phases(hr, p)
    return ph.phases, ph.last_exit_index


def test_chronotropic_response() -> None:
    c = chronotropic_response(140.0, 60.0, 160.0, "cpet")
    assert c.fraction_of_reserve == pytest.approx(0.8) and not c.incompetent
    assert chronotropic_response(120.0, 60.0, 160.0, "age_predicted").incompetent
