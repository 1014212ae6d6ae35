"""The prescription used until a clinician's arrives on ``prescriptions.v1``: conservative and flagged.

Until a measured prescription exists the band is an absolute one (``method="bpm"``, ``peak_hr_source=
"estimated"``), deliberately low, and the ceiling is the Anderson–Doi "pause" criterion of 120 bpm
(CLINICAL.md 2.3). It is not 220 − age (CLINICAL.md 2.1: predicted HRmax overestimates on β-blockers).
"""

from __future__ import annotations

from typing import Final

from analytics.events import PrescriptionV1

DEFAULT_BAND_LOW_BPM: Final = 90.0  # resting ~70 + 20 (Keteyian: RHR+20 as a flagged fallback only)
DEFAULT_BAND_HIGH_BPM: Final = 110.0  # stays under the 120 bpm pause criterion with a 10 bpm margin
DEFAULT_CEILING_BPM: Final = 120.0  # Anderson–Doi modified criteria: pause when HR > 120 bpm
DEFAULT_RESTING_HR_BPM: Final = 70.0
DEFAULT_PEAK_HR_BPM: Final = 140.0  # JP stop criterion (CLINICAL.md 2.3), used only for zone percentages
DEFAULT_PRESCRIBER: Final = "system-default"


def default_prescription(patient_id: str) -> PrescriptionV1:
    return PrescriptionV1(
        patient_id=patient_id,
        clinic_id="unassigned",
        version=1,
        prescribed_by=DEFAULT_PRESCRIBER,
        prescribed_time_ns=0,
        method="bpm",
        resting_hr_bpm=DEFAULT_RESTING_HR_BPM,
        peak_hr_bpm=DEFAULT_PEAK_HR_BPM,
        peak_hr_source="estimated",
        intensity_low=DEFAULT_BAND_LOW_BPM,
        intensity_high=DEFAULT_BAND_HIGH_BPM,
        ceiling_bpm=DEFAULT_CEILING_BPM,
    )
