"""RR artefact detection and correction (Lipponen & Tarvainen 2019).

Every raw interval gets a :class:`BeatLabel`. Extra beats are removed (the two intervals around them are
merged), missed beats are split into equal parts, and ectopic, long and short intervals are replaced by linear
interpolation between the nearest normal intervals. Everything downstream (HRV, rhythm, recovery) uses the
corrected series.

The computation is local: the label and correction of interval ``i`` depend only on raw intervals
``i - SEGMENT_MARGIN_BEATS .. i + SEGMENT_MARGIN_BEATS`` and on the label carried over from interval ``i - 1``.
:mod:`analytics.physiology.artefact_stream` relies on this to give the same answer incrementally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import FloatArray, IntArray, as_rr_array
from analytics.physiology.artefact_segment import (
    SEGMENT_MARGIN_BEATS,
    BeatLabel,
    LabelArray,
    classify_segment,
    correct_segment,
    segment_features,
)

__all__ = [
    "SEGMENT_MARGIN_BEATS",
    "ArtefactCounts",
    "BeatLabel",
    "RrCorrection",
    "correct_rr",
    "count_labels",
    "no_correction",
]


@dataclass(frozen=True, slots=True)
class ArtefactCounts:
    """Number of artefact events per type, and the share of raw intervals they touched."""

    n_input: int
    n_output: int
    missed: int
    extra: int
    ectopic: int
    long: int
    short: int
    n_corrected_intervals: int

    @property
    def total(self) -> int:
        """All artefact events."""
        return self.missed + self.extra + self.ectopic + self.long + self.short

    @property
    def corrected_pct(self) -> float:
        """Share of raw intervals that were changed, removed or split, in percent."""
        return 100.0 * self.n_corrected_intervals / self.n_input if self.n_input else 0.0


@dataclass(frozen=True, eq=False, slots=True)
class RrCorrection:
    """Corrected RR series and what was done to the raw one.

    ``source_index[k]`` is the raw interval that corrected interval ``k`` comes from (split intervals repeat it;
    merged intervals point at the first of the two).
    """

    rr_ms: FloatArray
    source_index: IntArray
    labels: LabelArray
    raw_rr_ms: FloatArray

    def indices(self, label: BeatLabel) -> IntArray:
        """Raw indices carrying ``label``."""
        return np.flatnonzero(self.labels == label).astype(np.int64)

    @property
    def counts(self) -> ArtefactCounts:
        """Per-type event counts."""
        return count_labels(self.labels, n_output=int(self.rr_ms.size))

    @property
    def corrected_mask(self) -> npt.NDArray[np.bool_]:
        """True for each corrected interval that is not an unchanged raw interval."""
        return np.asarray(self.labels[self.source_index] != BeatLabel.NORMAL, dtype=np.bool_)


def count_labels(labels: LabelArray, n_output: int) -> ArtefactCounts:
    """Summarise a label array as :class:`ArtefactCounts`."""
    bc = np.bincount(labels.astype(np.int64), minlength=len(BeatLabel))
    return ArtefactCounts(
        n_input=int(labels.size),
        n_output=n_output,
        missed=int(bc[BeatLabel.MISSED]),
        extra=int(bc[BeatLabel.EXTRA]),
        ectopic=int(bc[BeatLabel.ECTOPIC]),
        long=int(bc[BeatLabel.LONG]),
        short=int(bc[BeatLabel.SHORT]),
        n_corrected_intervals=int(labels.size - bc[BeatLabel.NORMAL]),
    )


def correct_rr(rr_ms: npt.ArrayLike) -> RrCorrection:
    """Detect and correct artefacts in an RR series with the Lipponen & Tarvainen (2019) method.

    Parameters
    ----------
    rr_ms : array_like
        Raw RR intervals in milliseconds, strictly positive.

    Returns
    -------
    RrCorrection
        Corrected intervals, per-interval labels and the map back to raw indices.

    Notes
    -----
    dRR(i) = RR(i) - RR(i-1) and mRR(i) = RR(i) - med11(RR)(i) (negative values doubled) are normalised by
    time-varying thresholds alpha * QD over a centred 91-beat window, QD being the quartile deviation. A beat is
    ectopic when it sits at the centre of a negative-positive-negative (or PNP) dRR pattern (subspace S11/S12
    with constants c1, c2); long or short when |mRR| > 3 or dRR and S22 have the long/short pattern; a long
    interval close to an integer multiple of the local median is missed beats, a short one whose sum with the
    next is close to the median is an extra beat. Two choices are ours: both thresholds are floored at
    ``LT_MIN_THRESHOLD_FRACTION`` of the local median, and the missed-beat test allows more than one missed
    beat (split into round(RR/median) parts). Labels are assigned in one pass, not iterated.

    References
    ----------
    .. [1] Lipponen JA, Tarvainen MP. A robust algorithm for heart rate variability time series artefact
       correction using novel beat classification. J Med Eng Technol 2019;43(3):173-181.
       doi:10.1080/03091902.2019.1640306 (alpha 5.2, c1 0.13, c2 0.17, 91-beat window).
    """
    rr = as_rr_array(rr_ms)
    feats = segment_features(rr, at_start=True, at_end=True)
    labels, _ = classify_segment(rr, feats, begin=0, end=rr.size, pending=BeatLabel.NORMAL)
    values, source = correct_segment(rr, feats.median_ms, labels, labels_offset=0, begin=0, end=rr.size)
    return RrCorrection(rr_ms=values, source_index=source, labels=labels, raw_rr_ms=rr)


def no_correction(rr_ms: npt.ArrayLike) -> RrCorrection:
    """Wrap a raw series as an uncorrected :class:`RrCorrection` (all labels normal)."""
    rr = as_rr_array(rr_ms)
    return RrCorrection(
        rr_ms=rr.copy(),
        source_index=np.arange(rr.size, dtype=np.int64),
        labels=np.zeros(rr.size, dtype=np.int8),
        raw_rr_ms=rr,
    )
