"""The BLE gateway: find the patient's strap, connect, stream into the buffer, reconnect with backoff, forever.

States: ``SCANNING`` (looking for a strap that advertises the Heart Rate Service or Polar PMD and matches the
address/name filters) -> ``CONNECTING`` -> ``STREAMING`` (a :class:`~ingest.gateway.session.StrapSession`) ->
``BACKOFF`` (an exponential delay with jitter, :mod:`ingest.gateway.backoff`) -> ``SCANNING`` ... until
:meth:`Gateway.stop`. Stopping is cooperative: the current session sends its STOP commands before the link is
closed. A session that streamed resets the backoff, so a strap that drops after an hour reconnects at once.

The bleak backend classes are injectable (``scanner_backend``/``client_backend``, default the platform's), and
only the public ``BleakScanner``/``BleakClient`` API is used, so tests run the same code over a simulated radio.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from ingest import const
from ingest.aio import wait_set
from ingest.gateway.backoff import backoff_delay_s
from ingest.gateway.buffer import ReadingBuffer
from ingest.gateway.clock import Clock, SystemClock
from ingest.gateway.errors import StrapNotFoundError
from ingest.gateway.session import DeviceInfo, SeqCounter, StrapSession
from ingest.gateway.settings import GatewaySettings
from ingest.gateway.stats import GatewayStats

log = logging.getLogger(__name__)

T = TypeVar("T")

SCAN_SERVICE_UUIDS = [const.HEART_RATE_SERVICE_UUID, const.PMD_SERVICE_UUID]


class GatewayState(enum.Enum):
    STOPPED = "stopped"
    SCANNING = "scanning"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    BACKOFF = "backoff"


class _StopRequestedError(Exception):
    """Raised inside the supervisor when a stop was requested during a wait."""


class Gateway:
    """Binds one patient to one strap and keeps readings flowing into the buffer."""

    def __init__(
        self,
        settings: GatewaySettings,
        buffer: ReadingBuffer,
        *,
        clock: Clock | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        unit_random: Callable[[], float] = random.random,
    ) -> None:
        if buffer.patient_id != settings.patient_id:
            raise ValueError("the buffer belongs to another patient")
        self._settings = settings
        self._buffer = buffer
        self._clock = clock or SystemClock()
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._unit_random = unit_random
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seq: dict[str, SeqCounter] = {}
        self.state = GatewayState.STOPPED
        self.stats = GatewayStats()
        self.device_info: DeviceInfo | None = None
        self.last_error: BaseException | None = None
        self.last_backoff_s: float | None = None

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("gateway already started")
        self._stop.clear()
        self._task = asyncio.create_task(self._supervise(), name="gateway-supervisor")

    async def stop(self) -> None:
        """Stop streaming (STOP commands first), disconnect and return; idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        # The session's STOP commands are bounded by stop_timeout_s; allow them, then insist.
        done, _ = await asyncio.wait({task}, timeout=self._settings.stop_timeout_s + 5.0)
        if not done:
            log.error("gateway did not stop in time; cancelling")
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.state = GatewayState.STOPPED

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- supervisor ------------------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            error: BaseException | None = None
            streamed = False
            try:
                device = await self._scan()
                streamed = await self._connect_and_stream(device)
            except _StopRequestedError:
                break
            except Exception as exc:  # every failure leads to a retry; none may end the gateway
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from exc  # a library turned our cancellation into an error
                error = exc
                self.last_error = exc
                log.warning("gateway: %s: %s", type(exc).__name__, exc)
            if self._stop.is_set():
                break
            if streamed:
                attempt = 0
            delay = backoff_delay_s(
                attempt, self._settings.reconnect_backoff, unit_random=self._unit_random(), error=error
            )
            attempt += 1
            self.last_backoff_s = delay
            self.state = GatewayState.BACKOFF
            log.info("reconnecting in %.2f s (attempt %d)", delay, attempt)
            await wait_set(self._stop, delay)
        self.state = GatewayState.STOPPED

    async def _until_stopped(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless a stop comes first (then cancel it and raise _StopRequestedError)."""
        work = asyncio.ensure_future(awaitable)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
        raise _StopRequestedError

    def _matches(self, device: BLEDevice, advertisement: AdvertisementData) -> bool:
        settings = self._settings
        if settings.device_address and device.address.lower() != settings.device_address.lower():
            return False
        name = advertisement.local_name or device.name or ""
        return not settings.device_name or name.startswith(settings.device_name)

    def _filters(self) -> str:
        parts = [f"address {self._settings.device_address}"] if self._settings.device_address else []
        if self._settings.device_name:
            parts.append(f"name {self._settings.device_name!r}*")
        return " and ".join(parts) or "any HRS/PMD strap"

    async def _scan(self) -> BLEDevice:
        self.state = GatewayState.SCANNING
        self.stats.scans += 1
        kwargs: dict[str, Any] = {"service_uuids": SCAN_SERVICE_UUIDS}
        if self._scanner_backend is not None:
            kwargs["backend"] = self._scanner_backend
        device = await self._until_stopped(
            BleakScanner.find_device_by_filter(self._matches, timeout=self._settings.scan_timeout_s, **kwargs)
        )
        if device is None:
            self.stats.straps_not_found += 1
            raise StrapNotFoundError(self._filters(), self._settings.scan_timeout_s)
        return device

    async def _connect_and_stream(self, device: BLEDevice) -> bool:
        """Connect and run a session; True if it got as far as streaming."""
        self.state = GatewayState.CONNECTING
        disconnected = asyncio.Event()
        kwargs: dict[str, Any] = {"timeout": self._settings.connect_timeout_s}
        if self._client_backend is not None:
            kwargs["backend"] = self._client_backend
        client = BleakClient(device, disconnected_callback=lambda _c: disconnected.set(), **kwargs)
        try:
            await self._until_stopped(client.connect())
        except _StopRequestedError:
            raise
        except Exception:
            self.stats.connect_failures += 1
            raise
        self.stats.connects += 1
        device_id = self._settings.device_id or device.address.upper()
        try:
            seq = self._seq.get(device_id)
            if seq is None:
                seq = self._seq[device_id] = SeqCounter(await self._buffer.next_seq(device_id))
            info = DeviceInfo(address=device.address, device_id=device_id, name=device.name)
            self.device_info = info
            session = StrapSession(
                client,
                settings=self._settings,
                info=info,
                sink=self._buffer,
                clock=self._clock,
                seq=seq,
                stats=self.stats,
                disconnected=disconnected,
                stop=self._stop,
            )
            self.state = GatewayState.STREAMING
            await session.run()
            if disconnected.is_set() and not self._stop.is_set():
                self.stats.disconnects += 1
                log.warning("strap %s disconnected", device_id)
            return True
        finally:
            # disconnect() is bounded by the link supervision on real stacks; the session already stopped streams.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._settings.stop_timeout_s):
                    await client.disconnect()
