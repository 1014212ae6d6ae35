from __future__ import annotations

from services.api.ratelimit import LoginLimiter


def test_limits_failures_per_key_within_the_window() -> None:
    now = [0.0]
    limiter = LoginLimiter(3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.check("ip|alice") == 0
        limiter.failure("ip|alice")
    assert limiter.check("ip|alice") > 0
    assert limiter.check("ip|bob") == 0
    now[0] = 61.0
    assert limiter.check("ip|alice") == 0
