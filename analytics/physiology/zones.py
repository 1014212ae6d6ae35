"""Heart-rate zone of each second relative to the prescription, and time in zone / in the prescribed band."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import as_float_array
from analytics.physiology.const import HR_SAMPLE_PERIOD_S
from analytics.physiology.frozen import build_frozen
from analytics.physiology.prescription import Prescription

ZoneArray = npt.NDArray[np.int8]


class Zone(IntEnum):
    """Where one second's heart rate sits relative to the prescription (``features.v1`` zone 0..5)."""

    NO_DATA = 0
    VERY_LIGHT = 1
    """Below half-way from resting HR to the band: warming up, cooling down or resting."""
    BELOW_BAND = 2
    IN_BAND = 3
    ABOVE_BAND = 4
    """Above the band but at or below the ceiling."""
    ABOVE_CEILING = 5


N_ZONES = len(Zone)


def very_light_limit_bpm(p: Prescription) -> float:
    """Upper edge of :attr:`Zone.VERY_LIGHT`: half-way from resting HR to the band's lower edge."""
    return p.rest_hr_bpm + 0.5 * (p.target_low_bpm - p.rest_hr_bpm)


def zone_of(hr_bpm: float, p: Prescription) -> Zone:
    """Zone of one heart-rate value (NaN is :attr:`Zone.NO_DATA`); the band is inclusive at both edges."""
    if hr_bpm != hr_bpm:  # NaN
        return Zone.NO_DATA
    if hr_bpm > p.ceiling_bpm:
        return Zone.ABOVE_CEILING
    if hr_bpm > p.target_high_bpm:
        return Zone.ABOVE_BAND
    if hr_bpm >= p.target_low_bpm:
        return Zone.IN_BAND
    if hr_bpm >= very_light_limit_bpm(p):
        return Zone.BELOW_BAND
    return Zone.VERY_LIGHT


def zones_of(hr_bpm: npt.ArrayLike, p: Prescription) -> ZoneArray:
    """Zone of each second of a 1 Hz trace (NaN seconds are :attr:`Zone.NO_DATA`)."""
    hr = as_float_array(hr_bpm, "hr_bpm", allow_nan=True)
    edges = np.array(
        [
            very_light_limit_bpm(p),
            p.target_low_bpm,
            np.nextafter(p.target_high_bpm, np.inf),
            np.nextafter(p.ceiling_bpm, np.inf),
        ]
    )
    z = (np.searchsorted(edges, hr, side="right") + 1).astype(np.int8)
    z[np.isnan(hr)] = Zone.NO_DATA
    return z


def band_percent(hr_bpm: float, p: Prescription) -> float:
    """Position in the band: 0 % at the lower edge, 100 % at the upper edge (may be < 0 or > 100)."""
    return 100.0 * (hr_bpm - p.target_low_bpm) / (p.target_high_bpm - p.target_low_bpm)


@dataclass(frozen=True)  # no slots: built every second by the live path, see analytics.physiology.frozen
class TimeInZones:
    """Seconds spent in each :class:`Zone` and the adherence figures derived from them."""

    seconds_by_zone: tuple[float, ...]
    """Indexed by :class:`Zone` value, NO_DATA first."""
    valid_s: float
    in_band_s: float
    above_ceiling_s: float
    in_band_pct: float | None
    """Share of seconds with data spent in the band: the primary adherence KPI (CLINICAL.md 2.5)."""
    band_is_primary: bool
    """False under beta-blockade: the band is informational and RPE is the target."""


def time_in_zones_from_counts(
    counts: tuple[int, ...] | list[int], p: Prescription, sample_period_s: float = HR_SAMPLE_PERIOD_S
) -> TimeInZones:
    """Build :class:`TimeInZones` from per-zone sample counts (shared by batch and streaming)."""
    secs = tuple([c * sample_period_s for c in counts]) if sample_period_s != 1.0 else tuple(map(float, counts))
    in_band = secs[3]  # Zone.IN_BAND
    valid = sum(secs) - secs[0]
    return build_frozen(
        TimeInZones,
        {
            "seconds_by_zone": secs,
            "valid_s": valid,
            "in_band_s": in_band,
            "above_ceiling_s": secs[5],
            "in_band_pct": 100.0 * in_band / valid if valid > 0 else None,
            "band_is_primary": not p.beta_blocked,
        },
    )


def time_in_zones(hr_bpm: npt.ArrayLike, p: Prescription, sample_period_s: float = HR_SAMPLE_PERIOD_S) -> TimeInZones:
    """Time in each zone and in the prescribed band for a 1 Hz (or ``sample_period_s``) trace.

    References
    ----------
    .. [1] CLINICAL.md 2.5: time in prescribed band (%) is the primary adherence KPI.
    """
    z = zones_of(hr_bpm, p)
    counts = np.bincount(z.astype(np.int64), minlength=N_ZONES).tolist()
    return time_in_zones_from_counts(counts, p, sample_period_s)
