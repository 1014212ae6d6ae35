"""Shared values of the gateway unit tests (the fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

from ingest.gateway import BufferLimits, GatewaySettings

TOKEN = "unit-test-device-token-0123456789abcdef"
LIMITS = BufferLimits(max_rows=10_000, max_bytes=50_000_000, hard_max_rows=20_000, hard_max_bytes=100_000_000)
SettingsFactory = Callable[..., GatewaySettings]
