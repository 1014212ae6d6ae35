"""Banister TRIMP, Edwards TRIMP and session-RPE load."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.physiology import InvalidInputError, RpeScale, banister_trimp, edwards_trimp, session_rpe_load
from analytics.physiology.load import banister_increment


def test_banister_matches_formula_for_constant_hr() -> None:
    # 30 min at x = 0.5: 30 * 0.5 * 0.64 * exp(1.92 * 0.5)
    hr = np.full(1800, 110.0)
    expected = 30 * 0.5 * 0.64 * math.exp(1.92 * 0.5)
    assert banister_trimp(hr, 60.0, 160.0, 1.92) == pytest.approx(expected, rel=1e-9)


def test_banister_sex_and_intensity_relations() -> None:
    hr = np.full(600, 130.0)
    assert banister_trimp(hr, 60, 160, 1.67) < banister_trimp(hr, 60, 160, 1.92)
    assert banister_trimp(hr + 10, 60, 160, 1.92) > banister_trimp(hr, 60, 160, 1.92)
    assert banister_trimp(np.full(600, 50.0), 60, 160, 1.92) == 0.0  # below rest adds nothing
    with_gaps = np.where(np.arange(600) % 2 == 0, 130.0, np.nan)
    assert banister_trimp(with_gaps, 60, 160, 1.92) == pytest.approx(banister_trimp(hr, 60, 160, 1.92) / 2)


def test_banister_scalar_increment_sums_to_batch() -> None:
    hr = np.random.default_rng(0).uniform(40, 190, 500)
    hr[::7] = np.nan
    total = sum(banister_increment(v, 60.0, 170.0, 1.67, 1.0) for v in hr)
    assert total == pytest.approx(banister_trimp(hr, 60.0, 170.0, 1.67), rel=1e-12)


def test_edwards_zones_and_weights() -> None:
    hr_max = 200.0
    # one minute in each Edwards zone, plus a minute below 50 % and a minute above HRmax (counts in zone 5)
    hr = np.concatenate([np.full(60, v) for v in (80.0, 100.0, 130.0, 150.0, 170.0, 190.0, 210.0)])
    e = edwards_trimp(hr, hr_max)
    assert e.minutes_by_zone == pytest.approx((1.0, 1.0, 1.0, 1.0, 2.0))
    assert e.trimp == pytest.approx(1 + 2 + 3 + 4 + 5 * 2)


def test_session_rpe() -> None:
    assert session_rpe_load(5, 40).load_au == 200
    assert session_rpe_load(13, 30, RpeScale.BORG_6_20).load_au == 390
    with pytest.raises(InvalidInputError):
        session_rpe_load(12, 30)  # not CR-10
    with pytest.raises(InvalidInputError):
        session_rpe_load(5, -1)
