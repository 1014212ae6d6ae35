"""Rhythm irregularity screen: simulated rhythms and real PhysioNet recordings (AF vs sinus/ectopy).

Sensitivity and specificity are printed: run with ``-s`` to see them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analytics.physiology import RhythmScreen, correct_rr, screen_rhythm
from analytics.physiology.const import RHYTHM_SCREEN_MESSAGE
from analytics.physiology.rhythm import coefficient_of_sample_entropy, turning_point_ratio
from tests.unit.analytics.physiology.simulate import (
    af_rr,
    physionet_names,
    physionet_record,
    sinus_rr,
    sinus_with_ectopy,
)


def _screen(rr: np.ndarray) -> RhythmScreen:
    c = correct_rr(rr)
    return screen_rhythm(c.rr_ms, c.corrected_mask)


def test_simulated_rhythms_sensitivity_specificity() -> None:
    negatives = [sinus_rr(1280, seed=s) for s in range(10)] + [
        sinus_with_ectopy(1280, rate=r, seed=s) for s in range(10) for r in (0.01, 0.03)
    ]
    positives = [af_rr(1280, mean_ms=m, cv=cv, seed=s) for s in range(5) for m, cv in ((550, 0.15), (800, 0.25))]
    neg = [_screen(rr) for rr in negatives]
    pos = [_screen(rr) for rr in positives]
    tn = sum(not w.irregular for s in neg for w in s.windows if w.eligible)
    n_neg = sum(w.eligible for s in neg for w in s.windows)
    tp = sum(w.irregular for s in pos for w in s.windows if w.eligible)
    n_pos = sum(w.eligible for s in pos for w in s.windows)
    print(
        f"\n[rhythm] simulated windows: sensitivity={tp / n_pos:.3f} ({n_pos} AF-like windows), "
        f"specificity={tn / n_neg:.3f} ({n_neg} sinus/ectopy windows)"
    )
    assert tp / n_pos >= 0.95 and tn / n_neg >= 0.99
    assert all(not s.episodes and not s.flagged_now and s.message is None for s in neg)
    assert all(s.flagged_now and s.message == RHYTHM_SCREEN_MESSAGE for s in pos)


def test_message_is_a_screen_not_a_diagnosis() -> None:
    assert RHYTHM_SCREEN_MESSAGE == "irregular rhythm, record an ECG"
    assert "fibrillation" not in RHYTHM_SCREEN_MESSAGE.lower()


def test_ramp_is_not_steady_state_and_is_skipped() -> None:
    # HR rising fast (exercise onset) with irregular noise on top: irregular, but not steady, so not screened
    ramp = np.linspace(1300, 400, 192) + np.random.default_rng(0).normal(0, 40, 192)
    s = screen_rhythm(ramp)
    assert len(s.windows) == 3 and all(not w.steady and not w.eligible for w in s.windows)
    assert any(w.irregular for w in s.windows) and not s.episodes


def test_debounce_needs_consecutive_windows() -> None:
    rr = np.concatenate([sinus_rr(640, seed=1), af_rr(128, seed=1), sinus_rr(640, seed=2)])  # 2 AF windows
    assert not _screen(rr).episodes
    rr = np.concatenate([sinus_rr(640, seed=1), af_rr(640, seed=1), sinus_rr(640, seed=2)])
    s = _screen(rr)
    assert len(s.episodes) == 1 and not s.flagged_now


def test_statistics_behave() -> None:
    rng = np.random.default_rng(0)
    assert turning_point_ratio(rng.normal(800, 50, 5000)) == pytest.approx(2 / 3, abs=0.02)
    assert turning_point_ratio(np.arange(100.0)) == 0.0
    regular = coefficient_of_sample_entropy(np.tile([700.0, 1000.0], 32))  # bigeminy: predictable
    random = coefficient_of_sample_entropy(af_rr(64, seed=3))
    assert random > -1.4 > regular


def _physionet_windows() -> tuple[list[tuple[bool, bool, bool]], dict[str, int], dict[str, dict[str, float]]]:
    """Per window: (is AF, scored irregular, debounced flag); episodes per record; per-record stats."""
    rows: list[tuple[bool, bool, bool]] = []
    episodes: dict[str, int] = {}
    stats: dict[str, dict[str, float]] = {}
    for name in physionet_names():
        rec = physionet_record(name)
        rr = np.array([np.nan if v is None else v for v in rec["rr_ms"]], dtype=float)[1:]
        rhythm = np.array(list(rec["rhythm"]))[1:]
        beat = np.array(list(rec["beat_type"]))[1:]
        stats[name] = {"af": float((rhythm == "A").mean()), "ectopic": float(np.isin(beat, list("AaJSVE")).mean())}
        # annotation gaps (flutter waves, pauses > 3 s) split the record into contiguous segments
        cuts = [-1, *np.flatnonzero(rr > 3000).tolist(), rr.size]
        episodes[name] = 0
        for a, b in itertools.pairwise(cuts):
            seg, lab = rr[a + 1 : b], rhythm[a + 1 : b]
            if seg.size < 64:
                continue
            c = correct_rr(seg)
            s = screen_rhythm(c.rr_ms, c.corrected_mask)
            episodes[name] += len(s.episodes)
            lab_c = lab[c.source_index]
            for w, flag in zip(s.windows, s.flag_after_window, strict=True):
                window_lab = lab_c[w.first_beat : w.first_beat + w.n_beats]
                if (window_lab == "A").mean() >= 0.9:
                    is_af = True
                elif not np.isin(window_lab, ["A", "F", "-"]).any():
                    is_af = False
                else:
                    continue  # transitions, flutter and unlabelled windows are not scored
                if w.eligible:
                    rows.append((is_af, w.irregular, flag))
    return rows, episodes, stats


def test_physionet_af_vs_sinus_and_ectopy() -> None:
    rows, episodes, stats = _physionet_windows()
    arr = np.array(rows, dtype=bool)
    af, irr, flag = arr[:, 0], arr[:, 1], arr[:, 2]
    se, sp = irr[af].mean(), (~irr[~af]).mean()
    se_d, sp_d = flag[af].mean(), (~flag[~af]).mean()
    occasional = [n for n, s in stats.items() if s["af"] == 0 and s["ectopic"] < 0.05]
    heavy = [n for n, s in stats.items() if s["af"] == 0 and s["ectopic"] >= 0.05]
    print(
        f"\n[rhythm] PhysioNet 64-beat windows: sensitivity={se:.3f} ({af.sum()} AF windows), "
        f"specificity={sp:.3f} ({(~af).sum()} non-AF windows)"
    )
    print(f"[rhythm] PhysioNet debounced flag:   sensitivity={se_d:.3f}, specificity={sp_d:.3f}")
    print(
        f"[rhythm] records with AF >= 40 % flagged: "
        f"{sum(episodes[n] > 0 for n, s in stats.items() if s['af'] >= 0.4)}/"
        f"{sum(s['af'] >= 0.4 for s in stats.values())}; sinus records with < 5 % ectopy flagged: "
        f"{sum(episodes[n] > 0 for n in occasional)}/{len(occasional)}; with >= 5 % ectopy flagged: "
        f"{sum(episodes[n] > 0 for n in heavy)}/{len(heavy)} ({[n for n in heavy if episodes[n]]})"
    )
    assert se >= 0.95 and sp >= 0.90
    assert se_d >= 0.85 and sp_d >= 0.93
    assert all(episodes[n] > 0 for n, s in stats.items() if s["af"] >= 0.4)
    assert not [n for n in occasional if episodes[n] > 0]  # occasional ectopy is never flagged
