"""The exercise prescription: target heart-rate band, ceiling, RPE target, and the values they derive from.

Build one with :func:`karvonen_prescription`, :func:`percent_peak_prescription`,
:func:`threshold_prescription` or :func:`explicit_prescription`. When no measured peak heart rate exists,
:func:`fallback_prescription` gives the flagged RHR+20..+30 bpm band instead of silently using 220 - age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from analytics.physiology.const import (
    BANISTER_K_FEMALE,
    BANISTER_K_MALE,
    BORG_MAX,
    BORG_MIN,
    CEILING_HRR_FRACTION,
    FALLBACK_HIGH_ABOVE_REST_BPM,
    FALLBACK_LOW_ABOVE_REST_BPM,
    FOX_INTERCEPT_BPM,
    ISCHAEMIC_MARGIN_BPM,
    KARVONEN_HIGH_FRACTION,
    KARVONEN_LOW_FRACTION,
    PCT_PEAK_HIGH_FRACTION,
    PCT_PEAK_LOW_FRACTION,
    RPE_TARGET_HIGH,
    RPE_TARGET_LOW,
    THRESHOLD_BAND_BELOW_BPM,
)
from analytics.physiology.errors import PrescriptionError


class IntensityMethod(StrEnum):
    """How the target band was derived (values match ``prescriptions.v1``)."""

    KARVONEN = "karvonen"
    PCT_PEAK = "pct_peak"
    THRESHOLD = "threshold"
    BPM = "bpm"


class PeakHrSource(StrEnum):
    """Where the peak heart rate came from. Only CPET and exercise-test peaks are measured."""

    CPET = "cpet"
    EXERCISE_TEST = "exercise_test"
    ESTIMATED = "estimated"
    """Not measured (age-predicted); flagged wherever it is used."""
    NONE = "none"
    """No peak at all; load normalised to HRmax cannot be computed."""


class Sex(StrEnum):
    """Sex for the Banister TRIMP weighting."""

    MALE = "male"
    FEMALE = "female"


class PrescriptionFlag(StrEnum):
    """Why a prescription should be reviewed; shown with every figure derived from it."""

    NO_MEASURED_PEAK = "no_measured_peak"
    FALLBACK_BAND = "fallback_band_rhr_plus_20_30"
    AGE_PREDICTED_PEAK = "age_predicted_peak_220_minus_age"
    BETA_BLOCKER_RPE_PRIMARY = "beta_blocker_rpe_primary"
    DEFAULT_REST_HR = "rest_hr_estimated"
    DEFAULT_SEX = "sex_unknown_banister_k_male"
    DEFAULT_CEILING = "default_ceiling_70pct_hrr"


@dataclass(frozen=True, slots=True)
class Prescription:
    """A clinician's exercise prescription resolved to beats per minute.

    ``peak_hr_bpm`` is None when there is no peak (measured or flagged estimate). With ``beta_blocked`` set,
    RPE is the primary target and the HR band is informational; the ceiling still applies (CLINICAL.md 2.1).
    """

    rest_hr_bpm: float
    peak_hr_bpm: float | None
    peak_hr_source: PeakHrSource
    method: IntensityMethod
    target_low_bpm: float
    target_high_bpm: float
    ceiling_bpm: float
    beta_blocked: bool = False
    rpe_target_low: int = RPE_TARGET_LOW
    rpe_target_high: int = RPE_TARGET_HIGH
    sex: Sex | None = None
    vt1_hr_bpm: float | None = None
    age_years: int | None = None
    flags: tuple[PrescriptionFlag, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 20.0 <= self.rest_hr_bpm <= 150.0:
            raise PrescriptionError(f"resting HR {self.rest_hr_bpm} bpm is outside 20-150")
        if self.peak_hr_bpm is not None and self.peak_hr_bpm <= self.rest_hr_bpm:
            raise PrescriptionError(f"peak HR {self.peak_hr_bpm} must exceed resting HR {self.rest_hr_bpm}")
        if not self.rest_hr_bpm <= self.target_low_bpm < self.target_high_bpm:
            raise PrescriptionError(
                f"target band {self.target_low_bpm}-{self.target_high_bpm} bpm must be increasing and at or "
                f"above resting HR {self.rest_hr_bpm}"
            )
        if self.ceiling_bpm < self.target_high_bpm:
            raise PrescriptionError(f"ceiling {self.ceiling_bpm} is below the band top {self.target_high_bpm}")
        if not BORG_MIN <= self.rpe_target_low <= self.rpe_target_high <= BORG_MAX:
            raise PrescriptionError(f"RPE target {self.rpe_target_low}-{self.rpe_target_high} is not Borg 6-20")

    @property
    def hr_band_is_primary(self) -> bool:
        """False under beta-blockade: RPE is primary and HR is a ceiling only."""
        return not self.beta_blocked

    @property
    def heart_rate_reserve_bpm(self) -> float | None:
        """Peak minus resting HR, when a peak exists."""
        return None if self.peak_hr_bpm is None else self.peak_hr_bpm - self.rest_hr_bpm

    @property
    def banister_k(self) -> float:
        """Sex-specific Banister exponent; men's value when sex is unknown (flagged ``DEFAULT_SEX``)."""
        return BANISTER_K_FEMALE if self.sex == Sex.FEMALE else BANISTER_K_MALE


def karvonen_target_bpm(rest_hr_bpm: float, peak_hr_bpm: float, fraction_hrr: float) -> float:
    """Karvonen target HR = HRrest + k * (HRpeak - HRrest).

    References
    ----------
    .. [1] Karvonen MJ, Kentala E, Mustala O. The effects of training on heart rate. Ann Med Exp Biol Fenn
       1957;35:307-315.
    .. [2] JCM 2021;10:3071, Table 3 (40-60 % HRR low-moderate, 60-70 % moderate-high, with a measured peak).
    """
    return rest_hr_bpm + fraction_hrr * (peak_hr_bpm - rest_hr_bpm)


def default_ceiling_bpm(
    rest_hr_bpm: float, peak_hr_bpm: float, target_high_bpm: float, ischaemic_threshold_bpm: float | None
) -> float:
    """Default ceiling: 70 % HRR (top of the moderate-high band), never above the measured peak.

    With a known ischaemic threshold the ceiling is at least 10 bpm below it (ACSM [verify]), and never below
    the band top (a band above that limit is a prescription error).

    References
    ----------
    .. [1] JCM 2021;10:3071, Table 3 (moderate-high 60-70 % HRR).
    .. [2] ACSM's Guidelines for Exercise Testing and Prescription: upper HR >= 10 bpm below ischaemic threshold.
    """
    ceiling = min(karvonen_target_bpm(rest_hr_bpm, peak_hr_bpm, CEILING_HRR_FRACTION), peak_hr_bpm)
    if ischaemic_threshold_bpm is not None:
        ceiling = min(ceiling, ischaemic_threshold_bpm - ISCHAEMIC_MARGIN_BPM)
    return max(ceiling, target_high_bpm)


def _flags(sex: Sex | None, beta_blocked: bool, extra: tuple[PrescriptionFlag, ...]) -> tuple[PrescriptionFlag, ...]:
    out = list(extra)
    if sex is None:
        out.append(PrescriptionFlag.DEFAULT_SEX)
    if beta_blocked:
        out.append(PrescriptionFlag.BETA_BLOCKER_RPE_PRIMARY)
    return tuple(out)


def karvonen_prescription(
    rest_hr_bpm: float,
    peak_hr_bpm: float,
    peak_hr_source: PeakHrSource,
    *,
    low_fraction_hrr: float = KARVONEN_LOW_FRACTION,
    high_fraction_hrr: float = KARVONEN_HIGH_FRACTION,
    ceiling_bpm: float | None = None,
    ischaemic_threshold_bpm: float | None = None,
    beta_blocked: bool = False,
    sex: Sex | None = None,
    rpe_target: tuple[int, int] = (RPE_TARGET_LOW, RPE_TARGET_HIGH),
    age_years: int | None = None,
) -> Prescription:
    """Band from % heart-rate reserve (default 40-60 % HRR, JCM 2021 Table 3), measured peak expected.

    References
    ----------
    .. [1] JCM 2021;10:3071, Table 3. .. [2] Keteyian et al.: 50-80 % of measured HRR under beta-blockade.
    """
    low = karvonen_target_bpm(rest_hr_bpm, peak_hr_bpm, low_fraction_hrr)
    high = karvonen_target_bpm(rest_hr_bpm, peak_hr_bpm, high_fraction_hrr)
    return _with_peak(
        rest_hr_bpm,
        peak_hr_bpm,
        peak_hr_source,
        IntensityMethod.KARVONEN,
        low,
        high,
        ceiling_bpm,
        ischaemic_threshold_bpm,
        beta_blocked,
        sex,
        rpe_target,
        age_years,
        None,
    )


def percent_peak_prescription(
    rest_hr_bpm: float,
    peak_hr_bpm: float,
    peak_hr_source: PeakHrSource,
    *,
    low_fraction_peak: float = PCT_PEAK_LOW_FRACTION,
    high_fraction_peak: float = PCT_PEAK_HIGH_FRACTION,
    ceiling_bpm: float | None = None,
    ischaemic_threshold_bpm: float | None = None,
    beta_blocked: bool = False,
    sex: Sex | None = None,
    rpe_target: tuple[int, int] = (RPE_TARGET_LOW, RPE_TARGET_HIGH),
    age_years: int | None = None,
) -> Prescription:
    """Band from % of peak HR (default 65-75 % HRpeak, JCM 2021 Table 3).

    References
    ----------
    .. [1] JCM 2021;10:3071, Table 3 (65-75 % HRpeak low-moderate, 75-85 % moderate-high).
    """
    low, high = low_fraction_peak * peak_hr_bpm, high_fraction_peak * peak_hr_bpm
    return _with_peak(
        rest_hr_bpm,
        peak_hr_bpm,
        peak_hr_source,
        IntensityMethod.PCT_PEAK,
        low,
        high,
        ceiling_bpm,
        ischaemic_threshold_bpm,
        beta_blocked,
        sex,
        rpe_target,
        age_years,
        None,
    )


def threshold_prescription(
    rest_hr_bpm: float,
    vt1_hr_bpm: float,
    peak_hr_bpm: float,
    peak_hr_source: PeakHrSource,
    *,
    below_vt1_bpm: float = THRESHOLD_BAND_BELOW_BPM,
    ceiling_bpm: float | None = None,
    ischaemic_threshold_bpm: float | None = None,
    beta_blocked: bool = False,
    sex: Sex | None = None,
    rpe_target: tuple[int, int] = (RPE_TARGET_LOW, RPE_TARGET_HIGH),
    age_years: int | None = None,
) -> Prescription:
    """Band anchored on the HR at VT1/AT from CPET: VT1 - 10 bpm .. VT1 (the preferred method).

    References
    ----------
    .. [1] Mezzani A, et al. Aerobic exercise intensity assessment and prescription in cardiac rehabilitation:
       a joint position statement of the EACPR, AACVPR and CACR. J Cardiopulm Rehabil Prev 2012;32:327-350.
    """
    return _with_peak(
        rest_hr_bpm,
        peak_hr_bpm,
        peak_hr_source,
        IntensityMethod.THRESHOLD,
        vt1_hr_bpm - below_vt1_bpm,
        vt1_hr_bpm,
        ceiling_bpm,
        ischaemic_threshold_bpm,
        beta_blocked,
        sex,
        rpe_target,
        age_years,
        vt1_hr_bpm,
    )


def explicit_prescription(
    rest_hr_bpm: float,
    target_low_bpm: float,
    target_high_bpm: float,
    ceiling_bpm: float,
    *,
    peak_hr_bpm: float | None = None,
    peak_hr_source: PeakHrSource = PeakHrSource.NONE,
    beta_blocked: bool = False,
    sex: Sex | None = None,
    rpe_target: tuple[int, int] = (RPE_TARGET_LOW, RPE_TARGET_HIGH),
    age_years: int | None = None,
) -> Prescription:
    """A band the clinician wrote down in bpm."""
    extra = () if peak_hr_bpm is not None else (PrescriptionFlag.NO_MEASURED_PEAK,)
    return Prescription(
        rest_hr_bpm,
        peak_hr_bpm,
        peak_hr_source,
        IntensityMethod.BPM,
        target_low_bpm,
        target_high_bpm,
        ceiling_bpm,
        beta_blocked,
        rpe_target[0],
        rpe_target[1],
        sex,
        None,
        age_years,
        _flags(sex, beta_blocked, extra),
    )


def fallback_prescription(
    rest_hr_bpm: float,
    *,
    age_years: int | None = None,
    beta_blocked: bool = False,
    sex: Sex | None = None,
    rest_hr_estimated: bool = False,
    rpe_target: tuple[int, int] = (RPE_TARGET_LOW, RPE_TARGET_HIGH),
) -> Prescription:
    """No measured peak: flagged RHR+20 .. RHR+30 bpm band, never a silent 220 - age.

    The ceiling is RHR+30 plus the band width (RHR+40). With an age, 220 - age is kept as a *flagged* estimate
    used only to normalise training load; without one, there is no peak and HRmax-based load is not computed.
    Keteyian found RHR+20 left every patient, and RHR+30 48 %, below 50 % HRR, so this band is conservative
    and must be replaced by a measured one.

    References
    ----------
    .. [1] Keteyian SJ, et al. (CLINICAL.md 2.1): RHR+20/+30 vs measured HRR in beta-blocked CR patients.
    .. [2] Joo KC, et al. 2004: RHR+20 gave 41.8 % VO2R on average, with wide spread.
    """
    low = rest_hr_bpm + FALLBACK_LOW_ABOVE_REST_BPM
    high = rest_hr_bpm + FALLBACK_HIGH_ABOVE_REST_BPM
    flags = [PrescriptionFlag.NO_MEASURED_PEAK, PrescriptionFlag.FALLBACK_BAND]
    peak: float | None = None
    source = PeakHrSource.NONE
    if age_years is not None and FOX_INTERCEPT_BPM - age_years > high:
        peak, source = FOX_INTERCEPT_BPM - age_years, PeakHrSource.ESTIMATED
        flags.append(PrescriptionFlag.AGE_PREDICTED_PEAK)
    if rest_hr_estimated:
        flags.append(PrescriptionFlag.DEFAULT_REST_HR)
    ceiling = high + (high - low)
    if peak is not None:
        ceiling = min(ceiling, peak)
    return Prescription(
        rest_hr_bpm,
        peak,
        source,
        IntensityMethod.BPM,
        low,
        high,
        ceiling,
        beta_blocked,
        rpe_target[0],
        rpe_target[1],
        sex,
        None,
        age_years,
        _flags(sex, beta_blocked, tuple(flags)),
    )


def _with_peak(
    rest: float,
    peak: float,
    source: PeakHrSource,
    method: IntensityMethod,
    low: float,
    high: float,
    ceiling: float | None,
    ischaemic: float | None,
    beta_blocked: bool,
    sex: Sex | None,
    rpe: tuple[int, int],
    age: int | None,
    vt1: float | None,
) -> Prescription:
    if peak <= rest:
        raise PrescriptionError(f"peak HR {peak} must exceed resting HR {rest}")
    extra: list[PrescriptionFlag] = []
    if source not in (PeakHrSource.CPET, PeakHrSource.EXERCISE_TEST):
        extra.append(PrescriptionFlag.NO_MEASURED_PEAK)
    if ceiling is None:
        ceiling = default_ceiling_bpm(rest, peak, high, ischaemic)
        extra.append(PrescriptionFlag.DEFAULT_CEILING)
    return Prescription(
        rest,
        peak,
        source,
        method,
        low,
        high,
        ceiling,
        beta_blocked,
        rpe[0],
        rpe[1],
        sex,
        vt1,
        age,
        _flags(sex, beta_blocked, tuple(extra)),
    )
