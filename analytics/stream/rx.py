"""From the wire prescription (``prescriptions.v1``) to the physiology's :class:`Prescription`."""

from __future__ import annotations

from analytics.events import PrescriptionV1
from analytics.physiology.errors import PrescriptionError
from analytics.physiology.prescription import (
    PeakHrSource,
    Prescription,
    Sex,
    explicit_prescription,
    fallback_prescription,
    karvonen_prescription,
    percent_peak_prescription,
    threshold_prescription,
)


def to_physiology(rx: PrescriptionV1) -> Prescription:
    """Resolve the clinician's inputs to a bpm band; an inconsistent prescription falls back, flagged.

    A prescription without a measured peak HR and without an explicit bpm band gets the flagged RHR+20..+30
    fallback (CLINICAL.md 2.1), never a silent 220 − age.
    """
    sex = Sex(rx.sex) if rx.sex else None
    source = PeakHrSource(rx.peak_hr_source)
    rpe = (rx.rpe_low, rx.rpe_high)
    rest, peak, bb = rx.resting_hr_bpm, rx.peak_hr_bpm, rx.beta_blocker
    try:
        if rx.method == "bpm":
            return explicit_prescription(
                rest,
                rx.intensity_low,
                rx.intensity_high,
                rx.ceiling_bpm,
                peak_hr_bpm=peak,
                peak_hr_source=source,
                beta_blocked=bb,
                sex=sex,
                rpe_target=rpe,
                age_years=rx.age_years,
            )
        if peak is not None and rx.method == "karvonen":
            return karvonen_prescription(
                rest,
                peak,
                source,
                low_fraction_hrr=rx.intensity_low,
                high_fraction_hrr=rx.intensity_high,
                ceiling_bpm=rx.ceiling_bpm,
                ischaemic_threshold_bpm=rx.ischaemic_threshold_bpm,
                beta_blocked=bb,
                sex=sex,
                rpe_target=rpe,
                age_years=rx.age_years,
            )
        if peak is not None and rx.method == "pct_peak":
            return percent_peak_prescription(
                rest,
                peak,
                source,
                low_fraction_peak=rx.intensity_low,
                high_fraction_peak=rx.intensity_high,
                ceiling_bpm=rx.ceiling_bpm,
                ischaemic_threshold_bpm=rx.ischaemic_threshold_bpm,
                beta_blocked=bb,
                sex=sex,
                rpe_target=rpe,
                age_years=rx.age_years,
            )
        if peak is not None and rx.threshold_hr_bpm is not None:
            return threshold_prescription(
                rest,
                rx.threshold_hr_bpm,
                peak,
                source,
                ceiling_bpm=rx.ceiling_bpm,
                ischaemic_threshold_bpm=rx.ischaemic_threshold_bpm,
                beta_blocked=bb,
                sex=sex,
                rpe_target=rpe,
                age_years=rx.age_years,
            )
    except PrescriptionError:
        pass
    return fallback_prescription(rest, age_years=rx.age_years, beta_blocked=bb, sex=sex, rpe_target=rpe)
