"""Incremental Lipponen-Tarvainen artefact correction with a bounded delay.

The thresholds of Lipponen & Tarvainen (2019) come from a window centred on each beat, so an interval can only
be labelled once the ``SEGMENT_MARGIN_BEATS`` (59) intervals after it have arrived. :class:`StreamingRrCorrector`
buffers raw intervals and labels them in blocks of ``block_beats`` (default 128, chosen for throughput: the
fixed cost of a block is shared by more beats); a correction also needs the labels of the 5 intervals after it.
An interval is therefore final between 64 and 64 + 127 = 191 beats after it arrives (about 1-3 min at rest,
0.5-1.5 min during exercise). Smaller blocks shorten the delay at a higher cost per beat.
:meth:`StreamingRrCorrector.flush` finalises the tail at the end of a session. The concatenated output of all
``push`` and ``flush`` calls equals :func:`analytics.physiology.artefacts.correct_rr` on the same intervals.

Work per interval is bounded (one block computation over ``block_beats + 2 * 59`` intervals per
``block_beats`` intervals), so the cost is O(1) amortised per beat, whatever the session length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.physiology.arrays import BoolArray, FloatArray, IntArray
from analytics.physiology.artefact_segment import (
    SEGMENT_MARGIN_BEATS,
    BeatLabel,
    LabelArray,
    classify_segment,
    correct_segment,
    segment_features,
)
from analytics.physiology.artefacts import ArtefactCounts
from analytics.physiology.const import LT_INTERP_REACH_BEATS
from analytics.physiology.errors import InvalidInputError

DEFAULT_BLOCK_BEATS = 128
_INF = math.inf
_STATE_VERSION = 1


@dataclass(frozen=True, eq=False, slots=True)
class CorrectedBeats:
    """Intervals finalised by one call: corrected values, their raw source indices and a corrected flag."""

    rr_ms: FloatArray
    source_index: IntArray
    corrected: BoolArray

    @staticmethod
    def empty() -> CorrectedBeats:
        """A chunk with no intervals (shared, read-only arrays)."""
        return _EMPTY


class StreamingRrCorrector:
    """Per-patient incremental artefact correction; see the module docstring for the delay."""

    __slots__ = (
        "_block",
        "_counts_cache",
        "_flushed",
        "_label_counts",
        "_label_frontier",
        "_labels",
        "_labels_base",
        "_n",
        "_n_output",
        "_pending",
        "_raw",
        "_raw_base",
    )

    def __init__(self, block_beats: int = DEFAULT_BLOCK_BEATS) -> None:
        if block_beats < 1:
            raise InvalidInputError(f"block_beats must be >= 1, got {block_beats}")
        self._block = block_beats
        self._raw: list[float] = []
        self._raw_base = 0
        self._n = 0
        self._label_frontier = 0
        self._pending = int(BeatLabel.NORMAL)
        self._labels: list[int] = []
        self._labels_base = 0
        self._label_counts = [0] * len(BeatLabel)
        self._n_output = 0
        self._flushed = False
        self._counts_cache: ArtefactCounts | None = None

    @property
    def n_received(self) -> int:
        """Raw intervals received so far."""
        return self._n

    @property
    def n_final(self) -> int:
        """Raw intervals whose correction is final (emitted)."""
        return max(self._label_frontier - LT_INTERP_REACH_BEATS, 0) if not self._flushed else self._n

    @property
    def pending_beats(self) -> int:
        """Raw intervals received but not yet emitted (the current delay in beats)."""
        if self._flushed:
            return 0
        final = self._label_frontier - LT_INTERP_REACH_BEATS  # n_final, inlined: read by every snapshot
        return self._n - final if final > 0 else self._n

    def counts(self) -> ArtefactCounts:
        """Artefact events among the finalised (labelled) intervals."""
        if self._counts_cache is not None:
            return self._counts_cache
        c = self._label_counts
        self._counts_cache = ArtefactCounts(
            n_input=sum(c),
            n_output=self._n_output,
            missed=c[BeatLabel.MISSED],
            extra=c[BeatLabel.EXTRA],
            ectopic=c[BeatLabel.ECTOPIC],
            long=c[BeatLabel.LONG],
            short=c[BeatLabel.SHORT],
            n_corrected_intervals=sum(c) - c[BeatLabel.NORMAL],
        )
        return self._counts_cache

    def push(self, rr_ms: Sequence[float]) -> CorrectedBeats:
        """Add raw intervals (ms) and return whatever became final.

        Raises :class:`InvalidInputError` (and keeps nothing) if any value is not a finite positive number.
        """
        if self._flushed:
            raise InvalidInputError("corrector was flushed; start a new one for a new session")
        values = list(map(float, rr_ms))
        for v in values:
            if not 0.0 < v < _INF:  # checked before any is kept, so a bad reading changes nothing
                raise InvalidInputError(f"rr_ms must be finite and positive, got {v!r}")
        self._raw.extend(values)
        n = self._n = self._n + len(values)
        if n - self._label_frontier < self._block + SEGMENT_MARGIN_BEATS:
            return _EMPTY  # the common case: one reading's 1-3 beats, no block complete yet
        chunks: list[CorrectedBeats] = []
        while self._n - self._label_frontier >= self._block + SEGMENT_MARGIN_BEATS:
            chunks.append(self._process(self._label_frontier + self._block, at_end=False))
        return _concat(chunks)

    def flush(self) -> CorrectedBeats:
        """Finalise every remaining interval (end of session); further pushes are refused."""
        if self._flushed:
            return CorrectedBeats.empty()
        out = self._process(self._n, at_end=True)
        self._flushed = True
        return out

    def _process(self, label_to: int, *, at_end: bool) -> CorrectedBeats:
        lf = self._label_frontier
        reach = LT_INTERP_REACH_BEATS
        seg_start = max(0, lf - SEGMENT_MARGIN_BEATS)
        seg_end = self._n if at_end else label_to + SEGMENT_MARGIN_BEATS
        rr = np.asarray(self._raw[seg_start - self._raw_base : seg_end - self._raw_base], dtype=np.float64)
        feats = segment_features(rr, at_start=seg_start == 0, at_end=at_end)
        new_labels, self._pending = classify_segment(
            rr, feats, begin=lf - seg_start, end=label_to - seg_start, pending=self._pending
        )
        correct_from = max(lf - reach, 0)
        correct_to = label_to if at_end else max(label_to - reach, correct_from)
        hist_from = max(correct_from - reach, 0)
        history = self._labels[hist_from - self._labels_base :]
        labels: LabelArray = np.concatenate([np.asarray(history, dtype=np.int8), new_labels])
        values, source = correct_segment(
            rr,
            feats.median_ms,
            labels,
            labels_offset=hist_from - seg_start,
            begin=correct_from - seg_start,
            end=correct_to - seg_start,
        )
        source = source + seg_start
        corrected = labels[source - hist_from] != BeatLabel.NORMAL
        for code, cnt in enumerate(np.bincount(new_labels.astype(np.int64), minlength=len(BeatLabel)).tolist()):
            self._label_counts[code] += cnt
        self._n_output += int(values.size)
        self._counts_cache = None
        self._labels.extend(new_labels.tolist())
        self._label_frontier = label_to
        keep_labels_from = max(label_to - 3 * reach, 0)
        del self._labels[: keep_labels_from - self._labels_base]
        self._labels_base = keep_labels_from
        keep_raw_from = max(label_to - SEGMENT_MARGIN_BEATS - reach, 0)
        del self._raw[: keep_raw_from - self._raw_base]
        self._raw_base = keep_raw_from
        return CorrectedBeats(values, source, corrected)

    # --- plain-data state ----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state (lists, ints, floats) for a faust table."""
        return {
            "v": _STATE_VERSION,
            "block": self._block,
            "raw": list(self._raw),
            "raw_base": self._raw_base,
            "n": self._n,
            "label_frontier": self._label_frontier,
            "pending": self._pending,
            "labels": list(self._labels),
            "labels_base": self._labels_base,
            "label_counts": list(self._label_counts),
            "n_output": self._n_output,
            "flushed": self._flushed,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StreamingRrCorrector:
        """Rebuild from :meth:`to_state` output."""
        if state.get("v") != _STATE_VERSION:
            raise InvalidInputError(f"unsupported corrector state version {state.get('v')!r}")
        obj = cls(int(state["block"]))
        obj._raw = [float(x) for x in state["raw"]]
        obj._raw_base = int(state["raw_base"])
        obj._n = int(state["n"])
        obj._label_frontier = int(state["label_frontier"])
        obj._pending = int(state["pending"])
        obj._labels = [int(x) for x in state["labels"]]
        obj._labels_base = int(state["labels_base"])
        obj._label_counts = [int(x) for x in state["label_counts"]]
        obj._n_output = int(state["n_output"])
        obj._flushed = bool(state["flushed"])
        return obj


def _readonly(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    a.flags.writeable = False
    return a


_EMPTY = CorrectedBeats(
    _readonly(np.empty(0)), _readonly(np.empty(0, dtype=np.int64)), _readonly(np.empty(0, dtype=np.bool_))
)


def _concat(chunks: list[CorrectedBeats]) -> CorrectedBeats:
    if not chunks:
        return CorrectedBeats.empty()
    if len(chunks) == 1:
        return chunks[0]
    return CorrectedBeats(
        np.concatenate([c.rr_ms for c in chunks]),
        np.concatenate([c.source_index for c in chunks]),
        np.concatenate([c.corrected for c in chunks]),
    )
