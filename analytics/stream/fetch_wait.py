"""How long the broker may hold faust's fetch requests when it has nothing new for them.

faust creates its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting to change it. aiokafka keeps one
fetch in flight per broker and leaves a partition out of the next fetch while its last records are still waiting
for faust to take them. So when the bundle partitions' records were not yet all taken, the next fetch asked only
for the quiet partitions (ticks, prescriptions), the broker held it for up to 1.5 s, and the bundle partitions
could not be fetched again until it came back. Measured live at 3,000 patients (2026-11-23): faust fetched the
bundle partitions about twice a second, the oldest bundle of a fetch had waited 1-2 s in the broker, the agent sat
idle 40 % of the time, and readings reached it 0.9-3.9 s after their append. With 50 ms: 0.26-0.29 s.

This sets the fetcher's private ``_fetch_max_wait_ms`` (aiokafka 0.14.0, through faust-streaming 0.15.3's
``Consumer._thread._consumer``); it raises if those names change, and the stream integration tests start workers.
"""

from __future__ import annotations

from typing import Any


def shorten_fetch_wait(consumer: Any, max_wait_ms: int) -> None:
    """Let the broker hold a fetch of ``consumer`` (faust's) at most ``max_wait_ms``; from the next fetch on."""
    try:
        aiokafka_consumer = consumer._thread._consumer
        fetcher = aiokafka_consumer._fetcher
        fetcher._fetch_max_wait_ms  # noqa: B018  # present, or this faust/aiokafka does it differently
    except AttributeError as exc:
        raise RuntimeError(f"cannot shorten faust's fetch wait on this faust/aiokafka version: {exc}") from exc
    aiokafka_consumer._fetch_max_wait_ms = max_wait_ms  # used if the consumer builds a new fetcher
    fetcher._fetch_max_wait_ms = max_wait_ms
