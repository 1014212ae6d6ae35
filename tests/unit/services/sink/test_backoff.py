from __future__ import annotations

import random

from services.sink.backoff import backoff_s


def test_backoff_grows_then_caps() -> None:
    rng = random.Random(1)
    delays = [backoff_s(a, initial_s=0.5, max_s=10.0, rng=rng) for a in range(12)]
    assert all(0.25 <= d <= 10.0 for d in delays)
    assert max(delays[:2]) <= 1.0 and min(delays[-4:]) >= 5.0
