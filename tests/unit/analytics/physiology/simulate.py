"""Deterministic simulated RR series and sensor sessions for the physiology tests (no randomness without a seed)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

PHYSIONET_DIR = Path("/work/shared/data/rhythm")
"""Real PhysioNet RR data (ODC-By 1.0; see its README.md for attribution: Goldberger et al. 2000, Moody & Mark
2001 for mitdb, Petrutiu et al. 2007 for ltafdb, nsr2db). Read in place, never copied into the repository."""

Reading = tuple[float, float, list[float], bool]


def sinus_rr(n: int, *, mean_ms: float = 850.0, rsa_ms: float = 35.0, noise_ms: float = 6.0, seed: int = 0):
    """Sinus rhythm: respiratory sinus arrhythmia (4-s cycle), slow drift and small beat-to-beat noise."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(np.full(n, mean_ms / 1000.0))
    drift = 20.0 * np.sin(2 * np.pi * t / 90.0 + rng.uniform(0, 6))
    return mean_ms + rsa_ms * np.sin(2 * np.pi * t / 4.0) + drift + rng.normal(0, noise_ms, n)


def af_rr(n: int, *, mean_ms: float = 650.0, cv: float = 0.2, seed: int = 0):
    """AF-like rhythm: independent intervals from a broad distribution (irregularly irregular)."""
    rng = np.random.default_rng(seed)
    shape = 1.0 / cv**2
    return np.clip(rng.gamma(shape, mean_ms / shape, n), 300.0, 1600.0)


@dataclass(frozen=True)
class Injected:
    """A series with injected artefacts and where they are (indices into the injected series)."""

    rr_ms: np.ndarray
    kinds: list[str]
    positions: list[int]


def inject_artefacts(clean: np.ndarray, n_events: int, *, seed: int = 0, kinds=("missed", "extra", "ectopic")):
    """Inject missed beats (two intervals merged), extra beats (one split 40/60) and ectopic beats
    (premature by 30 %, compensatory pause), at least 12 beats apart, away from the ends."""
    rng = np.random.default_rng(seed)
    rr = list(map(float, clean))
    candidates = np.arange(60, len(rr) - 60, 12)
    slots = np.sort(rng.choice(candidates, size=min(n_events, candidates.size), replace=False))
    events: list[tuple[int, str]] = [(int(s), str(rng.choice(kinds))) for s in slots]
    out: list[float] = []
    kinds_out: list[str] = []
    pos: list[int] = []
    i = 0
    for s, kind in events:
        out.extend(rr[i:s])
        i = s
        pos.append(len(out))
        kinds_out.append(kind)
        if kind == "missed":
            out.append(rr[s] + rr[s + 1])
            i = s + 2
        elif kind == "extra":
            out.extend([0.4 * rr[s], 0.6 * rr[s]])
            i = s + 1
        else:
            early = 0.3 * rr[s]
            out.extend([rr[s] - early, rr[s + 1] + early])
            i = s + 2
    out.extend(rr[i:])
    return Injected(np.asarray(out), kinds_out, pos)


def sinus_with_ectopy(n: int, *, rate: float = 0.01, seed: int = 0) -> np.ndarray:
    """Sinus rhythm with occasional premature beats (25-35 % early, full compensatory pause)."""
    rr = sinus_rr(n, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    i = 5
    while i < n - 5:
        if rng.random() < rate:
            early = rng.uniform(0.25, 0.35) * rr[i]
            rr[i] -= early
            rr[i + 1] += early
            i += 3
        i += 1
    return rr


def session_readings(duration_s: int, *, seed: int = 0, rest_bpm: float = 65.0, peak_bpm: float = 112.0):
    """One reading per second for a rehab session: rest, warm-up, exercise, cool-down, recovery."""
    rng = np.random.default_rng(seed)
    knots = np.array([0, 0.2, 0.35, 0.7, 0.8, 1.0]) * duration_s
    levels = np.array([rest_bpm, rest_bpm, peak_bpm, peak_bpm, rest_bpm + 15, rest_bpm + 3])
    t = 0.0
    readings: list[Reading] = []
    for sec in range(duration_s):
        hr_now = float(np.interp(sec, knots, levels))
        beats: list[float] = []
        while t < sec + 1:
            rr = 60000.0 / hr_now * (1 + 0.02 * math.sin(t * 1.6) + 0.01 * rng.normal())
            t += rr / 1000.0
            beats.append(rr)
        readings.append((sec + 0.5, hr_now + rng.normal(0, 1.5), beats, True))
    return readings


def physionet_record(name: str) -> dict:
    """Load one PhysioNet record, skipping the test when the shared data folder is absent."""
    path = PHYSIONET_DIR / f"{name}.json"
    if not path.exists():
        pytest.skip(f"PhysioNet RR data not found at {path} (shared data folder missing)")
    return json.loads(path.read_text())


def physionet_names() -> list[str]:
    """All record names (database/record), or skip when the folder is absent."""
    if not PHYSIONET_DIR.is_dir():
        pytest.skip(f"PhysioNet RR data folder {PHYSIONET_DIR} is missing")
    return sorted(f"{p.parent.name}/{p.stem}" for p in PHYSIONET_DIR.glob("*/*.json"))
