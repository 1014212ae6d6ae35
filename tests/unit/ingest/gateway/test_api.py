"""The public API of ``ingest.gateway`` is what ``__all__`` says, and nothing in it is missing."""

from __future__ import annotations

import ingest.gateway as gateway


def test_the_public_api_is_pinned() -> None:
    assert sorted(gateway.__all__) == [
        "BackoffPolicy",
        "BufferLimits",
        "BufferStats",
        "BufferedRow",
        "Clock",
        "ClockAnchor",
        "DeadLetterDraft",
        "DeviceInfo",
        "Forwarder",
        "ForwarderStats",
        "Gateway",
        "GatewayReport",
        "GatewaySettings",
        "GatewayState",
        "GatewayStats",
        "ReadingBuffer",
        "SystemClock",
        "Transience",
        "backoff_delay_s",
        "classify",
        "run_gateway",
    ]
    for name in gateway.__all__:
        assert getattr(gateway, name) is not None
