"""Fixtures for the gateway unit tests: a simulated radio, virtual straps, settings, a buffer, blockbuster."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from ingest.gateway import GatewaySettings, ReadingBuffer
from tests.sim.bumble_backend import SimRadio
from tests.sim.virtual_h10 import VirtualPolarH10
from tests.sim.virtual_strap import VirtualStrap
from tests.unit.ingest.gateway.support import LIMITS, TOKEN, SettingsFactory


@pytest.fixture(autouse=True)
def _quiet_bumble() -> None:
    # Bumble logs every HCI packet at DEBUG; keep failures readable.
    logging.getLogger("bumble").setLevel(logging.WARNING)


@pytest.fixture
def blockbuster() -> Iterator[BlockBuster]:
    """Fail any blocking call (file, socket, SQLite, sleep) made on the event loop by our code or the BLE stacks."""
    with blockbuster_ctx(["ingest", "tests.sim", "bleak", "bumble"]) as bb:
        yield bb


@pytest.fixture
async def radio() -> AsyncIterator[SimRadio]:
    sim = SimRadio()
    yield sim
    await sim.close()
    assert not sim.link.controllers, "a simulated adapter was left on the link"


@pytest.fixture
async def h10(radio: SimRadio) -> AsyncIterator[VirtualPolarH10]:
    strap = VirtualPolarH10(radio, hr_interval_s=0.05, time_scale=8.0)
    await strap.start()
    yield strap
    await strap.stop()


@pytest.fixture
async def hrs_strap(radio: SimRadio) -> AsyncIterator[VirtualStrap]:
    strap = VirtualStrap(radio, hr_interval_s=0.05)
    await strap.start()
    yield strap
    await strap.stop()


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Gateway settings for tests: fast backoff and timeouts, a buffer in tmp_path; keywords override."""

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "environment": "test",
            "patient_id": "patient-1",
            "device_token": TOKEN,
            "buffer_path": tmp_path / "buffer.sqlite3",
            "scan_timeout_s": 1.0,
            "connect_timeout_s": 2.0,
            "pmd_response_timeout_s": 0.5,
            "stop_timeout_s": 2.0,
            "reconnect_backoff_initial_s": 0.05,
            "reconnect_backoff_max_s": 0.2,
        }
        values.update(overrides)
        return GatewaySettings(_env_file=None, **values)

    return make


@pytest.fixture
async def buffer(tmp_path: Path) -> AsyncIterator[ReadingBuffer]:
    buf = ReadingBuffer(tmp_path / "buffer.sqlite3", patient_id="patient-1", limits=LIMITS, flush_interval_s=0.01)
    async with buf:
        yield buf
