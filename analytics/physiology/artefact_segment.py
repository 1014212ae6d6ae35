"""Segment-level Lipponen-Tarvainen computation, shared by the batch and streaming correctors.

:func:`segment_features` computes the decision variables of a segment of raw intervals, :func:`classify_segment`
labels them in order with a carried state, and :func:`correct_segment` builds the corrected values. The label and
correction of interval ``i`` depend only on raw intervals within ``SEGMENT_MARGIN_BEATS`` of it (windows are
truncated only at true series boundaries), which is what lets the streaming corrector match the batch one exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from analytics.physiology.arrays import FloatArray, IntArray
from analytics.physiology.const import (
    LT_ALPHA,
    LT_C1,
    LT_C2,
    LT_DRR_LIMIT,
    LT_INTERP_REACH_BEATS,
    LT_MEDIAN_BEATS,
    LT_MIN_THRESHOLD_FRACTION,
    LT_MRR_LIMIT,
    LT_WINDOW_BEATS,
)

LabelArray = npt.NDArray[np.int8]

_HALF_WINDOW = LT_WINDOW_BEATS // 2
_HALF_MEDIAN = LT_MEDIAN_BEATS // 2
LABEL_REACH_BEATS = _HALF_WINDOW + _HALF_MEDIAN + 2
"""Raw intervals needed on each side to label one interval (threshold window over mRR plus the dRR lags)."""
SEGMENT_MARGIN_BEATS = LABEL_REACH_BEATS + LT_INTERP_REACH_BEATS + 2
"""Raw intervals needed on each side to label and correct one interval; the streaming delay in beats."""
MIN_BEATS_FOR_DETECTION = 4
AFTER_ECTOPIC_PAIR = 100
"""Carry code (not a label): the previous interval was the compensatory interval of an ectopic pair."""
"""With fewer intervals there is no dRR context; all are taken as normal."""
_FLOOR_DECIDES_DRR = 0.99 * LT_DRR_LIMIT
_FLOOR_DECIDES_MRR = 0.99 * LT_MRR_LIMIT
"""Below these multiples of the threshold floor, |dRR| and |mRR| stay under their limits whatever the quartile
deviation (1 % margin, far above rounding); see :func:`segment_features`."""


class BeatLabel(IntEnum):
    """Classification of one raw RR interval."""

    NORMAL = 0
    ECTOPIC = 1
    """Coupling interval ending at an ectopic beat (one per ectopic event)."""
    ECTOPIC_COMPENSATORY = 2
    """The interval after an ectopic beat; corrected with it, not counted again."""
    MISSED = 3
    """Interval spanning one or more undetected beats; split into equal parts."""
    EXTRA = 4
    """Interval ending at a spurious beat; merged with the next interval."""
    EXTRA_MERGED = 5
    """The interval after a spurious beat, merged into the previous one."""
    LONG = 6
    SHORT = 7


INTERPOLATED_LABELS: frozenset[int] = frozenset(
    {BeatLabel.ECTOPIC, BeatLabel.ECTOPIC_COMPENSATORY, BeatLabel.LONG, BeatLabel.SHORT}
)
_NORMAL, _ECTOPIC = int(BeatLabel.NORMAL), int(BeatLabel.ECTOPIC)
_ECTOPIC_COMPENSATORY = int(BeatLabel.ECTOPIC_COMPENSATORY)
_MISSED, _EXTRA, _EXTRA_MERGED = int(BeatLabel.MISSED), int(BeatLabel.EXTRA), int(BeatLabel.EXTRA_MERGED)
_LONG, _SHORT = int(BeatLabel.LONG), int(BeatLabel.SHORT)
"""Plain-int labels for the loops (an enum attribute lookup costs ~0.15 us)."""


@dataclass(frozen=True, eq=False, slots=True)
class SegmentFeatures:
    """Normalised dRR/mRR, thresholds and subspace values of one segment of raw intervals.

    Thresholds are computed where a label can depend on their value (see :func:`segment_features`); elsewhere
    they are the floor, which already decides every comparison made there, so ``drr_n``, ``mrr_n``, ``th2_ms``
    and ``s22`` are exact only where they matter to the labels.
    """

    drr_n: FloatArray
    mrr_n: FloatArray
    th2_ms: FloatArray
    median_ms: FloatArray
    s22: FloatArray
    ectopic: npt.NDArray[np.bool_]


def _windows(x: FloatArray, w: int) -> FloatArray:
    """Read-only (n - w + 1, w) view of all length-``w`` windows of ``x`` (copied first if not contiguous)."""
    x = np.ascontiguousarray(x)
    step = x.strides[0]
    # an ndarray over x's buffer: the same view as numpy's as_strided, without its ~6 us of Python set-up
    view: FloatArray = np.ndarray((x.size - w + 1, w), dtype=x.dtype, buffer=x, strides=(step, step))
    view.flags.writeable = False
    return view


def _nans(n: int) -> FloatArray:
    out = np.empty(n)
    out.fill(np.nan)  # np.full's Python wrapper costs more than the fill on these short arrays
    return out


def _edges(n: int, half: int, at_start: bool, at_end: bool) -> list[int]:
    """Positions within ``half`` of a true series boundary, where windows are truncated."""
    if not (at_start or at_end):
        return []
    edges = set(range(min(half, n))) if at_start else set()
    if at_end:
        edges |= set(range(max(n - half, 0), n))
    return sorted(edges)


def _rolling_median(x: FloatArray, half: int, at_start: bool, at_end: bool) -> FloatArray:
    n = x.size
    out = _nans(n)
    w = 2 * half + 1
    if n >= w:
        out[half : n - half] = np.sort(_windows(x, w), axis=1)[:, half]
    for i in _edges(n, half, at_start, at_end):
        out[i] = np.median(x[max(0, i - half) : min(n, i + half + 1)])
    return out


def _quartile_deviation_sorted(rows: FloatArray) -> FloatArray:
    """(Q3 - Q1) / 2 of each sorted row, linear interpolation between order statistics."""
    m = rows.shape[-1]
    result: list[FloatArray] = []
    for q in (0.25, 0.75):
        pos = q * (m - 1)
        lo = math.floor(pos)
        frac = pos - lo
        hi = min(lo + 1, m - 1)
        result.append(rows[..., lo] + (rows[..., hi] - rows[..., lo]) * frac)
    return np.asarray((result[1] - result[0]) / 2.0, dtype=np.float64)


def _rolling_threshold(
    x: FloatArray, floor_ms: FloatArray, at_start: bool, at_end: bool, needed: npt.NDArray[np.bool_]
) -> FloatArray:
    """alpha * QD(x) over a centred window, truncated only at true series boundaries, floored.

    The quartile deviation is computed only where ``needed``; elsewhere the threshold is the floor itself.
    """
    n = x.size
    half = _HALF_WINDOW
    out = _nans(n)
    w = 2 * half + 1
    if n >= w:
        out[half : n - half] = 0.0  # floor only
        rows = needed[half : n - half].nonzero()[0]
        if rows.size:
            out[rows + half] = _quartile_deviation_sorted(np.sort(_windows(x, w)[rows], axis=1))
    for i in _edges(n, half, at_start, at_end):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        out[i] = float(_quartile_deviation_sorted(np.sort(x[lo:hi]))) if needed[i] else 0.0
    threshold: FloatArray = np.maximum(LT_ALPHA * out, floor_ms)
    return threshold


def _pad2(x: FloatArray, at_start: bool, at_end: bool) -> FloatArray:
    """Pad two values per side: mirror at true boundaries (like ``np.pad(..., 'reflect')``), NaN elsewhere."""
    n = x.size
    out = _nans(n + 4)
    out[2 : n + 2] = x
    if at_start and n >= 3:
        out[1], out[0] = x[1], x[2]
    if at_end and n >= 3:
        out[n + 2], out[n + 3] = x[n - 2], x[n - 3]
    return out


def segment_features(rr: FloatArray, *, at_start: bool, at_end: bool) -> SegmentFeatures:
    """Compute the Lipponen-Tarvainen decision variables on a segment of raw intervals.

    Values within ``LABEL_REACH_BEATS`` of a segment edge that is not a true series boundary are unreliable
    (NaN or computed from a partial window) and must not be used.

    Both thresholds are at least their floor, ``LT_MIN_THRESHOLD_FRACTION`` of the local median, so where
    |dRR| <= 0.99 floor the normalised dRR is within (-1, 1), and where |mRR| <= 2.97 floor the normalised mRR
    is within (-3, 3), whatever the quartile deviation. The labels read those values only through comparisons
    with +-1 and +-3 (candidates, ectopic centres, the long/short subspace S22), except around a beat whose
    |dRR| may exceed the threshold ("hot"): the ectopic subspace S12 reads its neighbours' normalised dRR, and
    a hot beat or one whose |mRR| may exceed 3 thresholds reads its own mRR threshold. So the threshold dRR needs
    its quartile deviation at hot beats and their neighbours, and the mRR threshold at hot beats and beats with
    a large |mRR|; elsewhere the floor stands in and every label is unchanged. In sinus rhythm few beats are
    hot, which spares most of the sorting (the cost of this function; it runs once per correction block live).
    """
    n = rr.size
    drr = np.empty(n)
    if n:
        drr[0] = 0.0 if at_start else np.nan
        np.subtract(rr[1:], rr[:-1], out=drr[1:])  # np.diff, without its Python wrapper
    med = _rolling_median(rr, _HALF_MEDIAN, at_start, at_end)
    floor_ms = LT_MIN_THRESHOLD_FRACTION * med
    abs_drr = np.abs(drr)
    hot = ~(abs_drr <= _FLOOR_DECIDES_DRR * floor_ms)  # NaN counts as hot
    needed = hot.copy()
    needed[1:] |= hot[:-1]
    needed[:-1] |= hot[1:]
    th1 = _rolling_threshold(abs_drr, floor_ms, at_start, at_end, needed)
    drr_n = drr / th1
    mrr = rr - med
    np.multiply(mrr, 2.0, out=mrr, where=mrr < 0)  # negative mRR doubled
    abs_mrr = np.abs(mrr)
    th2 = _rolling_threshold(abs_mrr, floor_ms, at_start, at_end, hot | ~(abs_mrr <= _FLOOR_DECIDES_MRR * floor_ms))
    mrr_n = mrr / th2
    p = _pad2(drr_n, at_start, at_end)
    prev, nxt, nxt2 = p[1 : n + 1], p[3 : n + 3], p[4 : n + 4]
    with np.errstate(invalid="ignore"):
        # S12 (the larger neighbour for a positive dRR, the smaller for a negative one) only matters where
        # |dRR| > 1, so each half of the ectopic test takes the neighbour that its sign selects
        slope = -LT_C1 * drr_n
        ectopic = ((drr_n > LT_DRR_LIMIT) & (np.maximum(prev, nxt) < slope - LT_C2)) | (
            (drr_n < -LT_DRR_LIMIT) & (np.minimum(prev, nxt) > slope + LT_C2)
        )
        s22 = np.where(drr_n >= 0, np.minimum(nxt, nxt2), np.maximum(nxt, nxt2))
    return SegmentFeatures(drr_n=drr_n, mrr_n=mrr_n, th2_ms=th2, median_ms=med, s22=s22, ectopic=ectopic)


def _n_split(rr_i: float, med_i: float) -> int:
    return max(round(rr_i / med_i), 1) if med_i > 0 else 1


def classify_segment(
    rr: FloatArray, f: SegmentFeatures, *, begin: int, end: int, pending: int
) -> tuple[LabelArray, int]:
    """Label intervals ``begin..end-1`` of a segment in order; ``pending`` carries state into ``begin``.

    The carried state is a label owed to ``begin`` (the second half of an ectopic pair or an extra merge), or
    ``AFTER_ECTOPIC_PAIR``. Returns the labels and the state carried into ``end``.
    """
    labels = np.zeros(max(end - begin, 0), dtype=np.int8)
    n = rr.size
    if rr.size < MIN_BEATS_FOR_DETECTION or end <= begin:
        return labels, BeatLabel.NORMAL
    # Only candidates can be anything but normal: |dRR| > 1, |mRR| > 3, or an ectopic centre here or next.
    # Jumping between them keeps this loop short; the order of decisions is unchanged.
    ect_arr = f.ectopic
    hi = min(end + 1, n)
    cand_mask = (np.abs(f.drr_n[begin:end]) > LT_DRR_LIMIT) | (np.abs(f.mrr_n[begin:end]) > LT_MRR_LIMIT)
    cand_mask |= ect_arr[begin:end]
    cand_mask[: hi - begin - 1] |= ect_arr[begin + 1 : hi]
    cands = (cand_mask.nonzero()[0] + begin).tolist()
    ptr = 0
    i = begin
    while True:
        if pending == _NORMAL:
            while ptr < len(cands) and cands[ptr] < i:
                ptr += 1
            if ptr == len(cands):
                break
            i = cands[ptr]
        if i >= end:
            break
        if pending == AFTER_ECTOPIC_PAIR:
            # the dRR returning to baseline after a compensatory pause closes the same NPN/PNP pattern;
            # it is not a new ectopic beat unless it starts a new pair
            pending = _NORMAL
            after_pair = True
        else:
            after_pair = False
        if pending:
            labels[i - begin] = pending
            pending = AFTER_ECTOPIC_PAIR if pending == _ECTOPIC_COMPENSATORY else _NORMAL
        elif i + 1 < n and ect_arr[i + 1]:
            labels[i - begin] = _ECTOPIC
            pending = _ECTOPIC_COMPENSATORY
        elif ect_arr[i] and not after_pair:
            labels[i - begin] = _ECTOPIC
        elif not after_pair:
            code, pending = _classify_long_short(rr, f, i, n)
            labels[i - begin] = code
        i += 1
    return labels, int(pending)


def _classify_long_short(rr: FloatArray, f: SegmentFeatures, i: int, n: int) -> tuple[int, int]:
    """Label of a non-ectopic interval ``i`` and the label owed to ``i + 1`` (missed/extra/long/short/normal)."""
    d, m, s22 = float(f.drr_n[i]), float(f.mrr_n[i]), float(f.s22[i])
    is_long = d > LT_DRR_LIMIT and s22 < -LT_DRR_LIMIT
    is_short = d < -LT_DRR_LIMIT and s22 > LT_DRR_LIMIT
    big_m = abs(m) > LT_MRR_LIMIT
    if not (is_long or is_short or big_m):
        return _NORMAL, _NORMAL
    rr_i, med_i, th2_i = float(rr[i]), float(f.median_ms[i]), float(f.th2_ms[i])
    k = _n_split(rr_i, med_i)
    missed = k >= 2 and abs(rr_i / k - med_i) < th2_i
    extra = i + 1 < n and abs(rr_i + float(rr[i + 1]) - med_i) < th2_i
    if is_short and extra:
        return _EXTRA, _EXTRA_MERGED
    if is_long and missed:
        return _MISSED, _NORMAL
    if is_long or (big_m and m > 0):
        return _LONG, _NORMAL
    return _SHORT, _NORMAL


def correct_segment(
    rr: FloatArray, med: FloatArray, labels: LabelArray, *, labels_offset: int, begin: int, end: int
) -> tuple[FloatArray, IntArray]:
    """Corrected values for raw intervals ``begin..end-1`` of a segment.

    ``labels[j]`` is the label of segment interval ``labels_offset + j`` and must cover
    ``begin - LT_INTERP_REACH_BEATS .. end + LT_INTERP_REACH_BEATS`` (clipped to the segment).
    Source indices are segment-relative.
    """
    vals = rr[begin:end].copy()
    counts = np.ones(end - begin, dtype=np.int64)
    lab = labels.tolist()
    n = rr.size
    reach = LT_INTERP_REACH_BEATS
    flagged = labels[begin - labels_offset : end - labels_offset].nonzero()[0] + begin
    for i in flagged.tolist():
        code = lab[i - labels_offset]
        j = i - begin
        if code in INTERPOLATED_LABELS:
            left = next(
                (
                    k
                    for k in range(i - 1, max(i - reach, 0) - 1, -1)
                    if k - labels_offset >= 0 and lab[k - labels_offset] == _NORMAL
                ),
                None,
            )
            right = next(
                (
                    k
                    for k in range(i + 1, min(i + reach, n - 1) + 1)
                    if k - labels_offset < len(lab) and lab[k - labels_offset] == _NORMAL
                ),
                None,
            )
            if left is not None and right is not None:
                vals[j] = rr[left] + (rr[right] - rr[left]) * (i - left) / (right - left)
            elif left is not None:
                vals[j] = rr[left]
            elif right is not None:
                vals[j] = rr[right]
            else:
                vals[j] = med[i]
        elif code == _MISSED:
            k = _n_split(float(rr[i]), float(med[i]))
            counts[j] = k
            vals[j] = rr[i] / k
        elif code == _EXTRA:
            vals[j] = rr[i] + rr[i + 1]
        elif code == _EXTRA_MERGED:
            counts[j] = 0
    source = np.repeat(np.arange(begin, end, dtype=np.int64), counts)
    return np.repeat(vals, counts), source
