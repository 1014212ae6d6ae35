"""Zones of each second and time in zone / in the prescribed band."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.physiology import Prescription, Zone, band_percent, time_in_zones, zones_of
from analytics.physiology.zones import zone_of


def test_zone_edges(prescription: Prescription) -> None:
    p = prescription  # band 99-116, ceiling 124.5, very-light limit 82
    assert zone_of(math.nan, p) == Zone.NO_DATA
    assert zone_of(70.0, p) == Zone.VERY_LIGHT
    assert zone_of(90.0, p) == Zone.BELOW_BAND
    assert zone_of(p.target_low_bpm, p) == Zone.IN_BAND
    assert zone_of(p.target_high_bpm, p) == Zone.IN_BAND
    assert zone_of(p.target_high_bpm + 0.1, p) == Zone.ABOVE_BAND
    assert zone_of(p.ceiling_bpm, p) == Zone.ABOVE_BAND
    assert zone_of(p.ceiling_bpm + 0.1, p) == Zone.ABOVE_CEILING
    assert band_percent(p.target_low_bpm, p) == 0.0 and band_percent(p.target_high_bpm, p) == 100.0


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.floats(30, 220), st.just(math.nan)), max_size=200))
def test_vector_and_scalar_zones_agree(hr: list[float]) -> None:
    from analytics.physiology import PeakHrSource, karvonen_prescription

    p = karvonen_prescription(65.0, 150.0, PeakHrSource.CPET)
    assert zones_of(hr, p).tolist() == [int(zone_of(v, p)) for v in hr]


def test_time_in_zones(prescription: Prescription) -> None:
    hr = np.array([np.nan] * 10 + [70.0] * 20 + [105.0] * 60 + [130.0] * 10)
    t = time_in_zones(hr, prescription)
    assert t.seconds_by_zone[Zone.NO_DATA] == 10 and t.valid_s == 90
    assert t.in_band_s == 60 and t.above_ceiling_s == 10
    assert t.in_band_pct == pytest.approx(100 * 60 / 90)
    assert sum(t.seconds_by_zone) == hr.size
    assert time_in_zones([np.nan] * 5, prescription).in_band_pct is None
