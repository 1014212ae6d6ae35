"""Lipponen-Tarvainen artefact detection and correction."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.physiology import BeatLabel, InvalidInputError, correct_rr, no_correction, time_domain_hrv
from tests.unit.analytics.physiology.simulate import inject_artefacts, physionet_record, sinus_rr

EXPECTED = {"missed": BeatLabel.MISSED, "extra": BeatLabel.EXTRA, "ectopic": BeatLabel.ECTOPIC}


def _reference_clean(rr: np.ndarray, passes: int = 10) -> np.ndarray:
    """A real series made artefact-free by repeated correction (what is left flagged counts against us)."""
    for _ in range(passes):
        c = correct_rr(rr)
        if c.counts.total == 0:
            break
        rr = c.rr_ms
    return rr


def _injection_study(clean: np.ndarray, seed: int) -> dict[str, float]:
    inj = inject_artefacts(clean, clean.size // 50, seed=seed)
    c = correct_rr(inj.rr_ms)
    near = np.zeros(inj.rr_ms.size, dtype=bool)
    detected = typed = 0
    for kind, pos in zip(inj.kinds, inj.positions, strict=True):
        window = c.labels[max(pos - 1, 0) : pos + 3]
        detected += bool((window != BeatLabel.NORMAL).any())
        typed += bool((window == EXPECTED[kind]).any())
        near[max(pos - 2, 0) : pos + 4] = True
    false_pos = np.count_nonzero((c.labels != BeatLabel.NORMAL) & ~near)
    rmssd_clean = time_domain_hrv(clean).rmssd_ms
    return {
        "n_events": len(inj.kinds),
        "sensitivity": detected / len(inj.kinds),
        "type_accuracy": typed / len(inj.kinds),
        "specificity": 1.0 - false_pos / np.count_nonzero(~near),
        "rmssd_error_pct": 100.0 * abs(time_domain_hrv(c.rr_ms).rmssd_ms - rmssd_clean) / rmssd_clean,
        "rmssd_error_uncorrected_pct": 100.0 * abs(time_domain_hrv(inj.rr_ms).rmssd_ms - rmssd_clean) / rmssd_clean,
    }


def _check(name: str, result: dict[str, float]) -> None:
    print(f"\n[artefacts] {name}: " + ", ".join(f"{k}={v:.4g}" for k, v in result.items()))
    assert result["sensitivity"] >= 0.95
    assert result["specificity"] >= 0.99
    assert result["type_accuracy"] >= 0.90
    assert result["rmssd_error_pct"] <= 5.0
    assert result["rmssd_error_uncorrected_pct"] > 5 * result["rmssd_error_pct"]


def test_injected_artefacts_in_real_pyhrv_series(pyhrv_nn_long_ms: np.ndarray) -> None:
    _check("pyhrv SampleNNISeriesLong", _injection_study(_reference_clean(pyhrv_nn_long_ms), seed=1))


@pytest.mark.parametrize("record", ["nsr2db/nsr001", "nsr2db/nsr004", "nsr2db/nsr009"])
def test_injected_artefacts_in_real_physionet_sinus(record: str) -> None:
    rr = np.array(physionet_record(record)["rr_ms"][1:], dtype=float)
    _check(record, _injection_study(_reference_clean(rr), seed=2))


def test_injected_artefacts_in_simulated_sinus() -> None:
    _check("simulated sinus", _injection_study(sinus_rr(5000, seed=3), seed=3))


def test_each_type_is_corrected_as_described() -> None:
    clean = sinus_rr(400, seed=5)
    rr = clean.copy().tolist()
    rr[100], rr[101] = clean[100] * 0.7, clean[101] + clean[100] * 0.3  # ectopic
    rr[200:202] = [clean[200] + clean[201]]  # missed beat: 399 intervals
    a = rr[300]
    rr[300:301] = [0.4 * a, 0.6 * a]  # extra beat: back to 400 intervals
    c = correct_rr(rr)
    assert list(c.indices(BeatLabel.ECTOPIC)) == [100]
    assert c.labels[101] == BeatLabel.ECTOPIC_COMPENSATORY
    assert list(c.indices(BeatLabel.MISSED)) == [200]
    assert list(c.indices(BeatLabel.EXTRA)) == [300]
    assert c.labels[301] == BeatLabel.EXTRA_MERGED
    counts = c.counts
    assert (counts.ectopic, counts.missed, counts.extra) == (1, 1, 1)
    assert c.rr_ms.size == 400  # one split (+1), one merge (-1)
    # missed beat split into two equal halves, extra beat merged back to the original interval
    split = np.flatnonzero(c.source_index == 200)
    assert split.size == 2 and np.allclose(c.rr_ms[split], (clean[200] + clean[201]) / 2)
    assert c.rr_ms[c.source_index == 300][0] == pytest.approx(a)
    # ectopic pair replaced by values between their normal neighbours
    for i in (100, 101):
        v = c.rr_ms[c.source_index == i][0]
        assert min(clean[95:107]) - 1 <= v <= max(clean[95:107]) + 1
    # total duration preserved except for the interpolated pair
    assert abs(c.rr_ms.sum() - sum(rr)) < 0.1 * clean[100]


def test_clean_sinus_is_left_alone() -> None:
    rr = sinus_rr(2000, seed=11)
    c = correct_rr(rr)
    assert c.counts.total <= 0.005 * rr.size
    unchanged = c.labels == BeatLabel.NORMAL
    assert np.array_equal(c.rr_ms[unchanged[c.source_index]], rr[unchanged])


def test_counts_match_labels_and_corrected_pct() -> None:
    c = correct_rr(inject_artefacts(sinus_rr(1500, seed=2), 20, seed=9).rr_ms)
    k = c.counts
    assert k.total == sum(
        int(np.count_nonzero(c.labels == lab))
        for lab in (BeatLabel.MISSED, BeatLabel.EXTRA, BeatLabel.ECTOPIC, BeatLabel.LONG, BeatLabel.SHORT)
    )
    assert k.corrected_pct == pytest.approx(100 * np.count_nonzero(c.labels) / c.labels.size)
    assert c.corrected_mask.sum() >= k.total


def test_short_and_empty_series() -> None:
    assert correct_rr([]).rr_ms.size == 0
    c = correct_rr([800.0, 400.0, 1200.0])
    assert c.counts.total == 0 and np.array_equal(c.rr_ms, [800.0, 400.0, 1200.0])


@pytest.mark.parametrize("bad", [[800, -1, 800], [800, float("nan")], [[800, 800]], [800, 0]])
def test_rejects_invalid_input(bad: list[float]) -> None:
    with pytest.raises(InvalidInputError):
        correct_rr(bad)


def test_no_correction_is_identity() -> None:
    rr = sinus_rr(100)
    c = no_correction(rr)
    assert np.array_equal(c.rr_ms, rr) and c.counts.total == 0
