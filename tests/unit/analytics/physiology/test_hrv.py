"""Time-domain HRV against NeuroKit2 and hrv-analysis on real recordings, and rest-window selection."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from analytics.physiology import (
    InsufficientDataError,
    beat_times_s,
    hr_trace_from_rr,
    select_rest_window,
    time_domain_hrv,
)
from tests.unit.analytics.physiology.simulate import physionet_record, sinus_rr

TOLERANCE = 0.005  # 0.5 %


def _neurokit_time(nn_ms: np.ndarray) -> dict[str, float]:
    import neurokit2 as nk

    peaks = np.concatenate([[0], np.cumsum(np.round(nn_ms))]).astype(np.int64)
    out = nk.hrv_time(peaks, sampling_rate=1000)
    return {k: float(out[f"HRV_{k}"].iloc[0]) for k in ("SDNN", "RMSSD", "MeanNN", "pNN50")}


@pytest.fixture(params=["pyhrv_long", "pyhrv_short", "nsr2db/nsr004"])
def real_nn_ms(request: pytest.FixtureRequest) -> tuple[str, np.ndarray]:
    if request.param == "pyhrv_long":
        return request.param, request.getfixturevalue("pyhrv_nn_long_ms")
    if request.param == "pyhrv_short":
        return request.param, request.getfixturevalue("pyhrv_nn_short_ms")
    # nsr2db RR are at 1/128 s resolution; rounding to whole ms keeps NeuroKit2's sample grid exact
    return request.param, np.round(np.array(physionet_record(request.param)["rr_ms"][1:], dtype=float))


def test_agrees_with_neurokit2_and_hrv_analysis(real_nn_ms: tuple[str, np.ndarray], hrvanalysis: ModuleType) -> None:
    name, nn = real_nn_ms
    ours = time_domain_hrv(nn)
    nk = _neurokit_time(nn)
    ha = hrvanalysis.get_time_domain_features(nn.tolist())
    rows = {
        "SDNN": (ours.sdnn_ms, nk["SDNN"], ha["sdnn"]),
        "RMSSD": (ours.rmssd_ms, nk["RMSSD"], ha["rmssd"]),
        "MeanNN": (ours.mean_nn_ms, nk["MeanNN"], ha["mean_nni"]),
        "pNN50": (ours.pnn50_pct, nk["pNN50"], ha["pnni_50"]),
    }
    for metric, (mine, ref_nk, ref_ha) in rows.items():
        dev = max(abs(mine - ref_nk) / ref_nk, abs(mine - ref_ha) / ref_ha)
        print(
            f"\n[hrv] {name} {metric}: ours={mine:.4f} neurokit2={ref_nk:.4f} hrv-analysis={ref_ha:.4f} "
            f"max deviation={100 * dev:.5f} %"
        )
        assert dev <= TOLERANCE
    assert ours.mean_hr_bpm == pytest.approx(ha["mean_hr"], rel=TOLERANCE)


def test_hand_computed_example() -> None:
    h = time_domain_hrv([800, 810, 790, 820, 805, 800, 900, 800, 810, 805])
    d = np.diff([800, 810, 790, 820, 805, 800, 900, 800, 810, 805])
    assert h.rmssd_ms == pytest.approx(np.sqrt(np.mean(d**2)))
    assert h.sdnn_ms == pytest.approx(np.std([800, 810, 790, 820, 805, 800, 900, 800, 810, 805], ddof=1))
    assert h.pnn50_pct == pytest.approx(100 * 2 / 9)  # +100 and -100
    assert h.mean_nn_ms == pytest.approx(814.0)
    assert h.n_beats == 10 and h.duration_s == pytest.approx(8.14)


def test_more_beat_to_beat_variation_gives_higher_rmssd() -> None:
    calm = time_domain_hrv(sinus_rr(600, rsa_ms=10, seed=1))
    deep = time_domain_hrv(sinus_rr(600, rsa_ms=50, seed=1))
    assert deep.rmssd_ms > 2 * calm.rmssd_ms
    assert deep.sdnn_ms > calm.sdnn_ms


def test_needs_enough_beats() -> None:
    with pytest.raises(InsufficientDataError):
        time_domain_hrv([800] * 5)


def test_hr_trace_from_rr_is_1hz_and_tracks_rate() -> None:
    rr = np.concatenate([np.full(120, 1000.0), np.full(240, 500.0)])  # 2 min at 60, then 2 min at 120 bpm
    hr = hr_trace_from_rr(rr)
    assert hr.size == int(rr.sum() / 1000)
    assert np.allclose(hr[5:115], 60.0) and np.allclose(hr[125:235], 120.0)


def test_rest_window_prefers_first_full_5_min_at_rest() -> None:
    nn = sinus_rr(1500, mean_ms=800, seed=7)
    bt = beat_times_s(nn)
    rest = np.zeros(int(bt[-1]) + 1, dtype=bool)
    rest[:100] = True  # too short
    rest[200:700] = True  # 500 s at rest
    w = select_rest_window(nn, bt, rest)
    assert w is not None and not w.short
    assert 200 <= w.start_s < 202 and w.end_s - w.start_s == pytest.approx(300, abs=1.0)
    assert w.hrv.n_beats == pytest.approx(300 / 0.8, rel=0.05)


def test_rest_window_falls_back_to_longest_short_run_or_none() -> None:
    nn = sinus_rr(600, mean_ms=800, seed=8)
    bt = beat_times_s(nn)
    rest = np.zeros(int(bt[-1]) + 1, dtype=bool)
    rest[10:50] = True
    assert select_rest_window(nn, bt, rest) is None  # 40 s < 60 s
    rest[100:190] = True
    w = select_rest_window(nn, bt, rest)
    assert w is not None and w.short and 100 <= w.start_s < 102
