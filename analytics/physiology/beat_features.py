"""Features of finalised corrected beats, kept incrementally: recent resting HRV, artefact rate, rhythm screen.

Fed by :class:`analytics.physiology.streaming.PatientStream` with each chunk the streaming corrector finalises.
HRV equals :func:`analytics.physiology.snapshot.recent_rest_hrv` on the corrected series so far, the rhythm
state equals :func:`analytics.physiology.rhythm.screen_rhythm` on it. Work happens once per chunk (one per
correction block), not per second.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from analytics.physiology.artefact_stream import CorrectedBeats
from analytics.physiology.const import RHYTHM_WINDOW_BEATS
from analytics.physiology.rhythm import RhythmDebouncer, window_verdict
from analytics.physiology.snapshot import ARTEFACT_WINDOW_BEATS, HRV_WINDOW_BEATS, recent_rest_hrv

_StateArrays = tuple[tuple[float, ...], tuple[bool, ...], tuple[float, ...], tuple[bool, ...]]
"""Recent HRV beats, recent corrected flags, and the beats and flags of the unfinished rhythm window."""


class BeatFeatures:
    """Recent-window HRV, artefact rate and the debounced rhythm flag over finalised corrected beats."""

    __slots__ = (
        "_art",
        "_art_rate",
        "_deb",
        "_first_beat",
        "_hrv",
        "_hrv_cache",
        "_rest_level",
        "_rr",
        "_rr_corr",
        "_state_arrays",
        "windows",
    )

    def __init__(self, rest_level_bpm: float) -> None:
        self._rest_level = rest_level_bpm
        self._hrv: deque[float] = deque(maxlen=HRV_WINDOW_BEATS)
        self._art: deque[bool] = deque(maxlen=ARTEFACT_WINDOW_BEATS)
        self._art_rate = 0.0
        self._hrv_cache: tuple[float, float, int] | None = None
        self._deb = RhythmDebouncer()
        self._rr: list[float] = []
        self._rr_corr: list[bool] = []
        self._first_beat = 0
        self.windows = 0
        """Rhythm windows scored so far."""
        # the beat lists of to_state(), as tuples: they change once per chunk, the state is written every few s
        self._state_arrays: _StateArrays | None = None

    def add(self, beats: CorrectedBeats) -> None:
        """Take a chunk of finalised corrected beats."""
        if beats.rr_ms.size == 0:
            return
        vals = beats.rr_ms.tolist()
        corr = beats.corrected.tolist()
        self._hrv.extend(vals)
        self._art.extend(corr)
        self._art_rate = sum(self._art) / len(self._art)
        self._hrv_cache = None
        self._state_arrays = None
        self._rr.extend(vals)
        self._rr_corr.extend(corr)
        w = RHYTHM_WINDOW_BEATS
        n_windows = len(self._rr) // w
        if n_windows:
            # window_verdict: the debouncer needs only score_window's eligible/irregular, cheaper to decide alone
            rr = np.array(self._rr[: n_windows * w], dtype=np.float64)
            corrected = np.array(self._rr_corr[: n_windows * w], dtype=np.bool_)
            for k in range(0, n_windows * w, w):
                self._deb.observe(window_verdict(rr[k : k + w], corrected[k : k + w]))
            self.windows += n_windows
            self._first_beat += n_windows * w
            del self._rr[: n_windows * w], self._rr_corr[: n_windows * w]

    @property
    def artefact_rate(self) -> float:
        """Share of the last ``ARTEFACT_WINDOW_BEATS`` finalised beats that were corrected."""
        return self._art_rate

    @property
    def rhythm_irregular(self) -> bool:
        """Debounced rhythm screen state."""
        return self._deb.flagged

    def rest_hrv(self) -> tuple[float, float, int]:
        """(RMSSD ms, SDNN ms, beats) of the recent at-rest beats, ``(nan, nan, 0)`` when none (cached)."""
        if self._hrv_cache is None:
            self._hrv_cache = recent_rest_hrv(list(self._hrv), self._rest_level)
        return self._hrv_cache

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state; its sequences are tuples shared by the calls between two chunks (immutable)."""
        if self._state_arrays is None:
            self._state_arrays = (tuple(self._hrv), tuple(self._art), tuple(self._rr), tuple(self._rr_corr))
        hrv, art, rr, rr_corr = self._state_arrays
        return {
            "rest_level": self._rest_level,
            "hrv": hrv,
            "art": art,
            "deb": self._deb.to_state(),
            "rr": rr,
            "rr_corr": rr_corr,
            "first_beat": self._first_beat,
            "windows": self.windows,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BeatFeatures:
        """Rebuild from :meth:`to_state` output."""
        obj = cls(float(state["rest_level"]))
        obj._hrv.extend(float(v) for v in state["hrv"])
        obj._art.extend(bool(v) for v in state["art"])
        obj._art_rate = sum(obj._art) / len(obj._art) if obj._art else 0.0
        obj._deb = RhythmDebouncer.from_state(state["deb"])
        obj._rr, obj._rr_corr = [float(v) for v in state["rr"]], [bool(v) for v in state["rr_corr"]]
        obj._first_beat, obj.windows = int(state["first_beat"]), int(state["windows"])
        return obj
