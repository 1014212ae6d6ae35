"""Prescription builders, sourced defaults and the flagged fallback."""

from __future__ import annotations

import pytest

from analytics.physiology import (
    IntensityMethod,
    PeakHrSource,
    PrescriptionError,
    PrescriptionFlag,
    Sex,
    explicit_prescription,
    fallback_prescription,
    karvonen_prescription,
    percent_peak_prescription,
    prescription_from_state,
    prescription_to_state,
    threshold_prescription,
)


def test_karvonen_defaults_are_40_to_60_pct_hrr_with_70_pct_ceiling() -> None:
    p = karvonen_prescription(60.0, 160.0, PeakHrSource.CPET, sex=Sex.FEMALE)
    assert (p.target_low_bpm, p.target_high_bpm, p.ceiling_bpm) == pytest.approx((100.0, 120.0, 130.0))
    assert p.method == IntensityMethod.KARVONEN and p.hr_band_is_primary
    assert PrescriptionFlag.DEFAULT_CEILING in p.flags and PrescriptionFlag.NO_MEASURED_PEAK not in p.flags
    assert p.banister_k == 1.67


def test_percent_peak_and_threshold_methods() -> None:
    p = percent_peak_prescription(60.0, 140.0, PeakHrSource.EXERCISE_TEST)
    assert (p.target_low_bpm, p.target_high_bpm) == pytest.approx((0.65 * 140, 0.75 * 140))
    t = threshold_prescription(60.0, 110.0, 150.0, PeakHrSource.CPET)
    assert (t.target_low_bpm, t.target_high_bpm, t.vt1_hr_bpm) == (100.0, 110.0, 110.0)
    assert t.ceiling_bpm >= t.target_high_bpm


def test_ceiling_stays_10_bpm_below_ischaemic_threshold() -> None:
    p = karvonen_prescription(60.0, 160.0, PeakHrSource.CPET, ischaemic_threshold_bpm=135.0)
    assert p.ceiling_bpm == pytest.approx(125.0)


def test_beta_blocker_makes_rpe_primary_and_keeps_ceiling() -> None:
    p = karvonen_prescription(55.0, 120.0, PeakHrSource.CPET, beta_blocked=True)
    assert not p.hr_band_is_primary and p.ceiling_bpm > p.target_high_bpm
    assert PrescriptionFlag.BETA_BLOCKER_RPE_PRIMARY in p.flags
    assert (p.rpe_target_low, p.rpe_target_high) == (12, 14)


def test_fallback_without_peak_is_flagged_and_never_silently_220_minus_age() -> None:
    p = fallback_prescription(70.0)
    assert (p.target_low_bpm, p.target_high_bpm) == (90.0, 100.0)
    assert p.peak_hr_bpm is None and p.peak_hr_source == PeakHrSource.NONE
    assert {PrescriptionFlag.NO_MEASURED_PEAK, PrescriptionFlag.FALLBACK_BAND} <= set(p.flags)
    aged = fallback_prescription(70.0, age_years=60)
    assert aged.peak_hr_bpm == 160.0 and aged.peak_hr_source == PeakHrSource.ESTIMATED
    assert PrescriptionFlag.AGE_PREDICTED_PEAK in aged.flags
    assert aged.target_high_bpm == p.target_high_bpm  # the band itself stays the conservative fallback


def test_unmeasured_peak_is_flagged() -> None:
    p = karvonen_prescription(60.0, 160.0, PeakHrSource.ESTIMATED)
    assert PrescriptionFlag.NO_MEASURED_PEAK in p.flags


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rest_hr_bpm": 60.0, "target_low_bpm": 120.0, "target_high_bpm": 110.0, "ceiling_bpm": 130.0},
        {"rest_hr_bpm": 60.0, "target_low_bpm": 100.0, "target_high_bpm": 120.0, "ceiling_bpm": 110.0},
        {"rest_hr_bpm": 10.0, "target_low_bpm": 100.0, "target_high_bpm": 120.0, "ceiling_bpm": 130.0},
        {"rest_hr_bpm": 60.0, "target_low_bpm": 50.0, "target_high_bpm": 120.0, "ceiling_bpm": 130.0},
    ],
)
def test_inconsistent_prescriptions_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(PrescriptionError):
        explicit_prescription(**kwargs)


def test_peak_must_exceed_rest_and_rpe_must_be_borg() -> None:
    with pytest.raises(PrescriptionError):
        karvonen_prescription(80.0, 70.0, PeakHrSource.CPET)
    with pytest.raises(PrescriptionError):
        karvonen_prescription(60.0, 150.0, PeakHrSource.CPET, rpe_target=(4, 22))


def test_state_roundtrip() -> None:
    for p in (
        karvonen_prescription(60.0, 150.0, PeakHrSource.CPET, sex=Sex.MALE, beta_blocked=True),
        fallback_prescription(72.0, age_years=50),
    ):
        assert prescription_from_state(prescription_to_state(p)) == p
