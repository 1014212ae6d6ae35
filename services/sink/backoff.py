"""Retry delays as a pure function of the attempt number (exponential, capped, with full jitter)."""

from __future__ import annotations

import random


def backoff_s(attempt: int, *, initial_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): uniform in [0, min(max_s, initial_s·2^attempt)]."""
    ceiling = min(max_s, initial_s * (2 ** min(attempt, 30)))
    return (rng or random).uniform(ceiling / 2, ceiling)
