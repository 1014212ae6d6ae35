"""Login rate limiting: a sliding window of failed attempts per (client address, username)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    """At most ``attempts`` failures per ``window_s``; then logins for that key wait until the window frees.

    Per process: with several API replicas an attacker gets ``attempts`` per replica, which is still bounded.
    """

    def __init__(self, attempts: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._attempts = attempts
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _trim(self, key: str) -> deque[float]:
        now = self._clock()
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] >= self._window_s:
            q.popleft()
        return q

    def check(self, key: str) -> int:
        """Seconds to wait before another attempt (0 = allowed)."""
        q = self._trim(key)
        if len(q) < self._attempts:
            return 0
        return max(1, int(self._window_s - (self._clock() - q[0])) + 1)

    def failure(self, key: str) -> None:
        self._trim(key).append(self._clock())
        if len(self._failures) > 100_000:  # bound memory under a credential-stuffing flood
            self._failures.clear()
