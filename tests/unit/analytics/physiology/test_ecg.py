"""R-peak detection on single-lead ECG at the Polar H10's 130 Hz, against NeuroKit2, and ECG snippets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from analytics.physiology import InsufficientDataError, detect_r_peaks, extract_ecg_snippet

TOLERANCE_S = 0.05


def _match(reference_s: np.ndarray, detected_s: np.ndarray) -> tuple[float, float]:
    """Sensitivity and PPV with one-to-one matching within 50 ms."""
    used = np.zeros(detected_s.size, dtype=bool)
    tp = 0
    for t in reference_s:
        k = np.searchsorted(detected_s, t)
        for c in (k - 1, k):
            if 0 <= c < detected_s.size and not used[c] and abs(detected_s[c] - t) <= TOLERANCE_S:
                used[c] = True
                tp += 1
                break
    return tp / reference_s.size, tp / max(detected_s.size, 1)


def _to_130_hz(x: np.ndarray, fs_hz: float) -> np.ndarray:
    assert fs_hz == 1000.0
    return signal.resample_poly(x, 13, 100)


@pytest.mark.parametrize(("hr_bpm", "noise"), [(60, 0.02), (100, 0.05), (150, 0.05), (75, 0.15)])
def test_simulated_ecg_at_130_hz(hr_bpm: int, noise: float) -> None:
    import neurokit2 as nk

    ecg = nk.ecg_simulate(duration=60, sampling_rate=1000, heart_rate=hr_bpm, noise=noise, random_state=hr_bpm)
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=1000), sampling_rate=1000)
    reference = np.asarray(info["ECG_R_Peaks"]) / 1000.0
    reference = reference[(reference > 0.3) & (reference < 59.7)]
    peaks = detect_r_peaks(np.round(_to_130_hz(ecg, 1000.0) * 1000.0), 130.0)  # mV -> µV integers
    se, ppv = _match(reference, peaks.times_s)
    rr_err = abs(np.median(peaks.rr_ms) - np.median(np.diff(reference) * 1000.0))
    print(
        f"\n[ecg] simulated {hr_bpm} bpm, noise {noise}: sensitivity={se:.4f} PPV={ppv:.4f} "
        f"({reference.size} beats), median RR error={rr_err:.2f} ms"
    )
    assert se >= 0.99 and ppv >= 0.99
    assert rr_err < 2.0  # sub-sample refinement: one 130 Hz sample is 7.7 ms


def test_real_ecg_from_pyhrv_at_130_hz(pyhrv_ecg: tuple[np.ndarray, float]) -> None:
    import neurokit2 as nk

    ecg, fs = pyhrv_ecg
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)
    reference = np.asarray(info["ECG_R_Peaks"]) / fs
    duration = ecg.size / fs
    reference = reference[(reference > 0.3) & (reference < duration - 0.3)]
    peaks = detect_r_peaks(_to_130_hz(ecg, fs), 130.0)
    se, ppv = _match(reference, peaks.times_s)
    print(
        f"\n[ecg] pyhrv SampleECG (real, {duration:.0f} s) at 130 Hz vs NeuroKit2 at 1000 Hz: "
        f"sensitivity={se:.4f} PPV={ppv:.4f} ({reference.size} beats)"
    )
    assert se >= 0.99 and ppv >= 0.95


def test_inverted_lead_is_handled() -> None:
    import neurokit2 as nk

    ecg = nk.ecg_simulate(duration=60, sampling_rate=1000, heart_rate=80, random_state=2)
    up = detect_r_peaks(_to_130_hz(ecg, 1000.0), 130.0)
    down = detect_r_peaks(-_to_130_hz(ecg, 1000.0), 130.0)
    assert abs(up.indices.size - down.indices.size) <= 1


def test_flat_signal_has_no_peaks_and_short_signal_is_refused() -> None:
    assert detect_r_peaks(np.zeros(1300), 130.0).indices.size == 0
    with pytest.raises(InsufficientDataError):
        detect_r_peaks(np.zeros(5), 130.0)


def test_snippet_around_a_flag() -> None:
    ecg = np.arange(130 * 120, dtype=float)
    s = extract_ecg_snippet(ecg, 130.0, 1000.0, 1060.0)
    assert s.duration_s == pytest.approx(30.0, abs=0.02) and not s.truncated
    assert s.start_s == pytest.approx(1045.0, abs=0.01)
    assert s.samples_uv[0] == pytest.approx((1045.0 - 1000.0) * 130.0, abs=1)
    early = extract_ecg_snippet(ecg, 130.0, 1000.0, 1005.0)
    assert early.truncated and early.start_s == 1000.0
    with pytest.raises(InsufficientDataError):
        extract_ecg_snippet(ecg, 130.0, 1000.0, 5000.0)
