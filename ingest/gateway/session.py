"""One connection to a strap: read who it is, subscribe, stream, and always stop the Polar streams at the end.

Setup order (each step on the connected ``BleakClient``):

1. Device Information (manufacturer, model, serial, firmware), Body Sensor Location and Battery Level reads;
2. subscribe to Heart Rate Measurement;
3. if the strap has the PMD service and ECG or ACC is enabled: subscribe to the control-point indications and
   the data notifications **before** any CP write, read the features (``0F b1 b2``), **stop** every stream the
   strap offers (a stream left running by an earlier link loss or a crashed gateway keeps a real H10 on until
   its battery dies), then START the enabled ones. The link MTU was negotiated by the platform stack at connect;
   a strap that finds it too small answers START with status 10 (INVALID_MTU) and the gateway carries on with
   heart rate only for this connection;
4. poll Battery Level every ``battery_poll_interval_s`` and attach the latest value to heart-rate readings.

The session ends when the link drops or the gateway stops; ``finally`` then sends STOP for every stream it
started (bounded by ``stop_timeout_s``), so a stopping gateway never leaves the strap streaming.

Every notification becomes one event with the next ``seq`` of the device, or, if it cannot be decoded or fails
validation, one dead letter with the reason; a callback never raises into the BLE stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError, BleakGATTProtocolError

from ingest import const
from ingest.errors import MalformedPayloadError
from ingest.gateway.buffer import DeadLetterDraft
from ingest.gateway.clock import Clock, ClockAnchor
from ingest.gateway.errors import PmdError, PmdStatusError
from ingest.gateway.pmd_control import PmdControl
from ingest.gateway.readings import hr_reading, pmd_reading
from ingest.gateway.settings import GatewaySettings
from ingest.gateway.stats import GatewayStats
from ingest.gatt import (
    BodySensorLocation,
    PmdControlPointResponse,
    PmdMeasurementType,
    parse_battery_level,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
    parse_pmd_frame,
    parse_pmd_settings,
    parse_utf8_string,
    pmd_start_acc_command,
    pmd_start_ecg_command,
)
from ingest.wire import Event, SchemaError

log = logging.getLogger(__name__)

T = TypeVar("T")

STREAM_TYPES = (PmdMeasurementType.ECG, PmdMeasurementType.ACC)
# A strap that stops a stream by itself (ONLINE_MEASUREMENT_STOPPED) is asked to restart it after this pause, at
# most this many times per connection, so a strap that keeps refusing is not hammered.
RESTART_DELAY_S = 1.0
MAX_RESTARTS_PER_CONNECTION = 3


class ReadingSink(Protocol):
    """Where readings go: the store-and-forward buffer."""

    def submit(self, item: Event | DeadLetterDraft) -> None: ...


class SeqCounter:
    """The next ``seq`` of one device; loaded from the buffer once per process, then kept in memory."""

    def __init__(self, first: int) -> None:
        self._next = first

    def peek(self) -> int:
        return self._next

    def advance(self) -> None:
        self._next += 1


@dataclass(slots=True)
class DeviceInfo:
    """What the gateway learnt about the connected strap."""

    address: str
    device_id: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    body_sensor_location: BodySensorLocation | None = None
    battery_pct: int | None = None
    mtu: int = const.DEFAULT_ATT_MTU
    pmd_types: frozenset[PmdMeasurementType] = field(default_factory=frozenset)
    streaming: set[PmdMeasurementType] = field(default_factory=set)


class StrapSession:
    """Runs one connection until the link drops or ``stop`` is set."""

    def __init__(
        self,
        client: BleakClient,
        *,
        settings: GatewaySettings,
        info: DeviceInfo,
        sink: ReadingSink,
        clock: Clock,
        seq: SeqCounter,
        stats: GatewayStats,
        disconnected: asyncio.Event,
        stop: asyncio.Event,
    ) -> None:
        self._client = client
        self._settings = settings
        self.info = info
        self._sink = sink
        self._clock = clock
        self._seq = seq
        self._stats = stats
        self._disconnected = disconnected
        self._stop = stop
        self._anchor = ClockAnchor()
        self._pmd: PmdControl | None = None
        self._attempted: set[PmdMeasurementType] = set()
        self._restarts: dict[PmdMeasurementType, int] = {}
        self._acc_factor = 1.0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._setup()
            waits = [
                asyncio.ensure_future(self._disconnected.wait()),
                asyncio.ensure_future(self._stop.wait()),
            ]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()
        finally:
            await self._teardown()

    async def _setup(self) -> None:
        client = self._client
        self.info.mtu = client.mtu_size
        await self._read_device_information()
        await client.start_notify(const.HEART_RATE_MEASUREMENT_UUID, self._on_hrm)
        wanted = [
            t
            for t, enabled in zip(STREAM_TYPES, (self._settings.ecg_enabled, self._settings.acc_enabled), strict=True)
            if enabled
        ]
        if wanted and client.services.get_service(const.PMD_SERVICE_UUID) is not None:
            await self._setup_pmd(wanted)
        self._spawn(self._poll_battery())

    async def _setup_pmd(self, wanted: list[PmdMeasurementType]) -> None:
        pmd = PmdControl(
            self._client,
            timeout_s=self._settings.pmd_response_timeout_s,
            on_stopped=self._on_stopped,
            on_malformed=lambda data, exc: self._dead_letter("pmd-cp", data, exc, self._clock.time_ns()),
            on_unexpected=self._on_unexpected_response,
        )
        # Both subscriptions first: the CP answers by indication, and data may flow right after START.
        await pmd.subscribe()
        await self._client.start_notify(const.PMD_DATA_UUID, self._on_pmd_data)
        self._pmd = pmd
        try:
            features = await pmd.read_features()
        except MalformedPayloadError as exc:
            self._dead_letter("pmd-features", exc.payload, exc, self._clock.time_ns())
            return
        self.info.pmd_types = features.measurement_types
        offered = [t for t in STREAM_TYPES if features.supports(t)]
        # Stop-on-connect: whatever an earlier connection left running stops before anything starts.
        for measurement_type in offered:
            await self._stop_stream(measurement_type, reason="stop-on-connect")
        for measurement_type in wanted:
            if measurement_type in offered:
                await self._start_stream(measurement_type)
            else:
                log.warning("strap %s does not offer %s", self.info.device_id, measurement_type.name)

    async def _teardown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stats.clock_reanchors += self._anchor.reanchors
        if self._pmd is None or not self._attempted:
            return
        if not self._client.is_connected:
            log.warning(
                "link to %s lost with %s possibly streaming; they are stopped at the next connect",
                self.info.device_id,
                sorted(t.name for t in self._attempted),
            )
            return
        try:
            async with asyncio.timeout(self._settings.stop_timeout_s):
                for measurement_type in sorted(self._attempted):
                    await self._stop_stream(measurement_type, reason="exit")
        except TimeoutError:
            self._stats.pmd_failures["stop: timeout"] += 1
            log.error("could not stop %s on %s in time", sorted(self._attempted), self.info.device_id)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- reads -----------------------------------------------------------------------------------------------

    async def _read_device_information(self) -> None:
        info = self.info
        info.manufacturer = await self._read(const.MANUFACTURER_NAME_UUID, parse_utf8_string, "dis")
        info.model = await self._read(const.MODEL_NUMBER_UUID, parse_utf8_string, "dis")
        info.serial = await self._read(const.SERIAL_NUMBER_UUID, parse_utf8_string, "dis")
        info.firmware = await self._read(const.FIRMWARE_REVISION_UUID, parse_utf8_string, "dis")
        info.body_sensor_location = await self._read(
            const.BODY_SENSOR_LOCATION_UUID, parse_body_sensor_location, "body-sensor-location"
        )
        await self._read_battery()
        log.info(
            "connected to %s (%s %s, serial %s, firmware %s, location %s, battery %s %%, ATT MTU %d)",
            info.device_id,
            info.manufacturer,
            info.model,
            info.serial,
            info.firmware,
            None if info.body_sensor_location is None else info.body_sensor_location.name,
            info.battery_pct,
            info.mtu,
        )

    async def _read_battery(self) -> None:
        level = await self._read(const.BATTERY_LEVEL_UUID, parse_battery_level, "battery")
        if level is not None:
            self.info.battery_pct = level
            self._stats.battery_reads += 1

    async def _poll_battery(self) -> None:
        while True:
            await asyncio.sleep(self._settings.battery_poll_interval_s)
            try:
                await self._read_battery()
            except BleakError as exc:
                log.warning("battery read failed on %s: %s", self.info.device_id, exc)

    async def _read(self, uuid: str, parse: Callable[[bytes], T], what: str) -> T | None:
        """Read and decode an optional characteristic; absent or refused gives None, malformed a dead letter."""
        if self._client.services.get_characteristic(uuid) is None:
            return None
        try:
            raw = bytes(await self._client.read_gatt_char(uuid))
        except BleakGATTProtocolError as exc:
            log.warning("strap %s refused to read %s: %s", self.info.device_id, uuid, exc)
            return None
        try:
            return parse(raw)
        except MalformedPayloadError as exc:
            self._dead_letter(what, raw, exc, self._clock.time_ns())
            return None

    # --- PMD streams -----------------------------------------------------------------------------------------

    async def _start_stream(self, measurement_type: PmdMeasurementType) -> None:
        pmd = self._pmd
        if pmd is None:
            return
        command = pmd_start_ecg_command() if measurement_type is PmdMeasurementType.ECG else pmd_start_acc_command()
        self._attempted.add(measurement_type)
        try:
            response = await pmd.request(command)
        except PmdStatusError as exc:
            self._stats.pmd_failures[f"start {measurement_type.name}: status {exc.status}"] += 1
            log.error("%s: %s; continuing without %s", self.info.device_id, exc, measurement_type.name)
            return
        except PmdError as exc:
            self._stats.pmd_failures[f"start {measurement_type.name}: timeout"] += 1
            log.error("%s: %s; stopping %s and continuing without it", self.info.device_id, exc, measurement_type.name)
            # The strap may have started anyway and answered late; make sure it does not stream unseen.
            await self._stop_stream(measurement_type, reason="after start timeout")
            return
        if measurement_type is PmdMeasurementType.ACC and response.parameters:
            try:
                factor = parse_pmd_settings(response.parameters).factor
            except MalformedPayloadError as exc:
                self._dead_letter("pmd-cp", response.parameters, exc, self._clock.time_ns())
            else:
                self._acc_factor = 1.0 if factor is None else factor
        self.info.streaming.add(measurement_type)
        self._stats.pmd_starts += 1
        log.info("%s streaming %s", self.info.device_id, measurement_type.name)

    async def _stop_stream(self, measurement_type: PmdMeasurementType, *, reason: str) -> None:
        pmd = self._pmd
        if pmd is None:
            return
        try:
            was_running = await pmd.stop(measurement_type)
        except PmdError as exc:
            self._stats.pmd_failures[f"stop {measurement_type.name} ({reason}): {type(exc).__name__}"] += 1
            log.error("%s: stopping %s (%s) failed: %s", self.info.device_id, measurement_type.name, reason, exc)
            return
        self.info.streaming.discard(measurement_type)
        if was_running:
            self._stats.pmd_stops += 1
            log.info("%s stopped %s (%s)", self.info.device_id, measurement_type.name, reason)

    def _on_stopped(self, types: tuple[PmdMeasurementType, ...]) -> None:
        for measurement_type in types:
            self._stats.pmd_stopped_by_strap += 1
            self.info.streaming.discard(measurement_type)
            log.warning("strap %s stopped %s by itself", self.info.device_id, measurement_type.name)
            restarts = self._restarts.get(measurement_type, 0)
            if measurement_type in self._attempted and restarts < MAX_RESTARTS_PER_CONNECTION:
                self._restarts[measurement_type] = restarts + 1
                self._spawn(self._restart(measurement_type))

    async def _restart(self, measurement_type: PmdMeasurementType) -> None:
        await asyncio.sleep(RESTART_DELAY_S)
        try:
            await self._start_stream(measurement_type)
        except BleakError as exc:
            log.warning("restarting %s on %s failed: %s", measurement_type.name, self.info.device_id, exc)

    def _on_unexpected_response(self, response: PmdControlPointResponse) -> None:
        self._stats.pmd_unexpected_responses += 1
        log.warning("%s: unexpected PMD answer %s (late, or not ours)", self.info.device_id, response)

    # --- notifications ---------------------------------------------------------------------------------------

    def _on_hrm(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self._clock.time_ns()
        try:
            event = hr_reading(
                parse_heart_rate_measurement(data),
                patient_id=self._settings.patient_id,
                device_id=self.info.device_id,
                seq=self._seq.peek(),
                gateway_time_ns=now,
                battery_pct=self.info.battery_pct,
            )
        except Exception as exc:  # a notification must never break the BLE stack: dead-letter it
            self._dead_letter("hrm", bytes(data), exc, now)
            return
        self._seq.advance()
        self._stats.hr_readings += 1
        self._sink.submit(event)

    def _on_pmd_data(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self._clock.time_ns()
        try:
            frame = parse_pmd_frame(data, acc_factor=self._acc_factor)
            is_ecg = frame.measurement_type is PmdMeasurementType.ECG
            event = pmd_reading(
                frame,
                patient_id=self._settings.patient_id,
                device_id=self.info.device_id,
                seq=self._seq.peek(),
                gateway_time_ns=self._anchor.host_time_ns(frame.unix_timestamp_ns, now),
                fs_hz=float(const.H10_ECG_SAMPLE_RATE_HZ if is_ecg else const.H10_ACC_SAMPLE_RATE_HZ),
            )
        except Exception as exc:  # a notification must never break the BLE stack: dead-letter it
            self._dead_letter("pmd-data", bytes(data), exc, now)
            return
        self._seq.advance()
        if is_ecg:
            self._stats.ecg_frames += 1
        else:
            self._stats.acc_frames += 1
        self._sink.submit(event)

    def _dead_letter(self, what: str, payload: bytes, exc: Exception, now: int) -> None:
        if isinstance(exc, MalformedPayloadError | SchemaError):
            reason = str(exc)
        else:
            reason = f"unexpected {type(exc).__name__} while decoding: {exc}"
            log.error("decoding %s from %s failed", what, self.info.device_id, exc_info=exc)
        self._stats.dead_letters[what] += 1
        self._sink.submit(DeadLetterDraft(f"ble:{self.info.device_id}/{what}", reason, now, payload))
