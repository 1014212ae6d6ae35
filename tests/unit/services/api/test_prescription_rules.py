"""Prescription validation: incoherent inputs are refused with the reason (CLINICAL.md 2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.api.routes.prescriptions import PrescriptionCreate, resolve_band

BASE: dict[str, Any] = {
    "method": "karvonen",
    "resting_hr_bpm": 60,
    "peak_hr_bpm": 160,
    "peak_hr_source": "cpet",
    "intensity_low": 0.4,
    "intensity_high": 0.6,
    "ceiling_bpm": 130,
}


def test_karvonen_band_is_rest_plus_fraction_of_reserve() -> None:
    assert resolve_band(PrescriptionCreate(**BASE)) == pytest.approx((100.0, 120.0))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"peak_hr_bpm": None}, "null exactly when"),
        ({"peak_hr_bpm": 55}, "must exceed resting"),
        ({"intensity_low": 0.7}, "above intensity_high"),
        ({"intensity_high": 60}, "fractions"),
        ({"ceiling_bpm": 110}, "below the band top"),
        ({"ceiling_bpm": 170}, "above the peak"),
        ({"method": "threshold"}, "threshold_hr_bpm"),
        ({"rpe_low": 15, "rpe_high": 13}, "rpe_low"),
        ({"ischaemic_threshold_bpm": 135}, "ischaemic"),
        ({"unknown": 1}, "Extra inputs"),
        ({"method": "bpm", "intensity_low": 50, "intensity_high": 70, "ceiling_bpm": 80}, "at or above the resting"),
    ],
)
def test_incoherent_prescriptions_are_refused(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        PrescriptionCreate(**(BASE | change))


def test_a_band_without_a_measured_peak_is_possible_in_bpm() -> None:
    rx = PrescriptionCreate(
        **(
            BASE
            | {
                "method": "bpm",
                "peak_hr_bpm": None,
                "peak_hr_source": "none",
                "intensity_low": 80,
                "intensity_high": 90,
                "ceiling_bpm": 100,
            }
        )
    )
    assert resolve_band(rx) == (80, 90)
