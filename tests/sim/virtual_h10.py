"""A virtual Polar H10 on a :class:`~tests.sim.bumble_backend.SimRadio`: the plain strap plus Polar PMD.

The control point answers a read with its features (``0F 05 00``: ECG and ACC), answers 01/02/03 with
``F0 op type status ...`` indications and realistic statuses (2 unknown type, 3 not supported, 4 bad length,
6 already in that state, 7/8/9 bad settings, 10 MTU too small for a frame), and streams 73-sample ECG frames at
130 Hz and 200 Hz ACC (``time_scale`` > 1 streams faster; the strap's timestamps stay true). Like a real H10 it
keeps measuring when the link drops (``KnownIssues.md``, H10 issue 2) and only stops on a STOP command, and it
answers nothing to a central that has not enabled the control point's indications.

Fault hooks, besides the plain strap's: :attr:`H10Faults.cp_response_delay_s` (answer after the gateway's
timeout), :attr:`H10Faults.start_status` (e.g. 10 INVALID_MTU), :meth:`VirtualPolarH10.send_malformed_frame`
and :meth:`VirtualPolarH10.stop_measurement_unsolicited` (the ``01`` indication).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from bumble import gatt
from bumble.device import Connection

from ingest import const
from ingest.encode import (
    build_pmd_acc_frame,
    build_pmd_control_point_response,
    build_pmd_ecg_frame,
    build_pmd_features,
    build_pmd_measurement_stopped,
    build_pmd_settings_response,
)
from ingest.pmd import PmdMeasurementType, PmdStatus, parse_pmd_settings
from tests.sim.bumble_backend import SimRadio
from tests.sim.virtual_strap import Kind, Sent, VirtualStrap

ECG = PmdMeasurementType.ECG
ACC = PmdMeasurementType.ACC
ACC_SAMPLES_PER_FRAME = 36  # 36 x 6 B + 10 B header = 226 B, like an H10 at 200 Hz
_FRAME_BYTES = {
    ECG: const.PMD_FRAME_HEADER_BYTES + const.H10_ECG_SAMPLES_PER_FRAME * const.ECG_SAMPLE_BYTES,
    ACC: const.PMD_FRAME_HEADER_BYTES + ACC_SAMPLES_PER_FRAME * 6,
}
_ACC_RATES_HZ = (25, 50, 100, 200)
_ACC_RANGES_G = (2, 4, 8)
_ECG_FRAME_NS = const.H10_ECG_SAMPLES_PER_FRAME * 1_000_000_000 / const.H10_ECG_SAMPLE_RATE_HZ


def ecg_samples(frame: int) -> list[int]:
    """73 µV samples of frame ``frame``: a 1 Hz sine with a sharp R wave every 130 samples."""
    out = []
    for k in range(const.H10_ECG_SAMPLES_PER_FRAME):
        n = frame * const.H10_ECG_SAMPLES_PER_FRAME + k
        r_wave = 1200 if n % const.H10_ECG_SAMPLE_RATE_HZ == 0 else 0
        out.append(int(150 * math.sin(2 * math.pi * n / const.H10_ECG_SAMPLE_RATE_HZ)) + r_wave)
    return out


@dataclass(slots=True)
class H10Faults:
    cp_response_delay_s: float = 0.0  # delay every CP response indication (past the gateway's timeout)
    start_status: int | None = None  # answer every START with this status (10 = INVALID_MTU)


@dataclass(slots=True)
class _Stream:
    task: asyncio.Task[None]


@dataclass(slots=True)
class PmdLog:
    """Control-point traffic as the strap saw it."""

    writes: list[bytes] = field(default_factory=list)
    responses: list[bytes] = field(default_factory=list)
    # For each write: were CP indications and data notifications enabled at that moment?
    subscribed_at_write: list[tuple[bool, bool]] = field(default_factory=list)

    def ops(self, op: int, measurement_type: PmdMeasurementType | None = None) -> list[bytes]:
        return [
            w
            for w in self.writes
            if w and w[0] == op and (measurement_type is None or (len(w) > 1 and w[1] & 0x3F == measurement_type))
        ]


class VirtualPolarH10(VirtualStrap):
    """A Polar H10: HRS, Battery, Device Information and the PMD service streaming ECG and ACC."""

    def __init__(
        self,
        radio: SimRadio,
        *,
        name: str = "Polar H10 1A2B3C4D",
        serial: str = "1A2B3C4D",
        device_clock_polar_ns: int = const.H10_CLOCK_RESET_POLAR_NS,
        time_scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("manufacturer", "Polar Electro Oy")
        kwargs.setdefault("model", "H10")
        kwargs.setdefault("firmware", "3.1.1")
        super().__init__(radio, name=name, serial=serial, **kwargs)
        self.faults = H10Faults()
        self.pmd_log = PmdLog()
        self.device_clock_polar_ns = device_clock_polar_ns
        self.time_scale = time_scale  # >1 streams faster than real time (device timestamps stay true)
        self.streams: dict[PmdMeasurementType, _Stream] = {}
        self._next_frame: dict[PmdMeasurementType, int] = {}
        self._clock_start_s = 0.0
        self.pmd_cp: gatt.Characteristic[bytes] = gatt.Characteristic(
            const.PMD_CONTROL_POINT_UUID,
            gatt.Characteristic.Properties.READ
            | gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=self._read_features, write=self._write_cp),
        )
        self.pmd_data = gatt.Characteristic(
            const.PMD_DATA_UUID, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.Permissions(0), b""
        )

    def extra_services(self) -> list[gatt.Service]:
        return [gatt.Service(const.PMD_SERVICE_UUID, [self.pmd_cp, self.pmd_data]), *super().extra_services()]

    async def start(self) -> None:
        self._clock_start_s = asyncio.get_running_loop().time()
        await super().start()

    @property
    def streaming(self) -> frozenset[PmdMeasurementType]:
        return frozenset(self.streams)

    def _read_features(self, _connection: Connection) -> bytes:
        return build_pmd_features((ECG, ACC))

    def _write_cp(self, connection: Connection, value: bytes) -> None:
        # The ATT write response goes out first; the CP answer follows as an indication, as on the device.
        self.pmd_log.writes.append(bytes(value))
        self.pmd_log.subscribed_at_write.append(
            (self.subscribed(self.pmd_cp, indicate=True), self.subscribed(self.pmd_data))
        )
        self._spawn(self._answer(connection, bytes(value)))

    async def _answer(self, connection: Connection, value: bytes) -> None:
        response = self._handle_command(connection, value)
        if self.faults.cp_response_delay_s:
            await asyncio.sleep(self.faults.cp_response_delay_s)
        await self._indicate(connection, response)

    async def _indicate(self, connection: Connection, payload: bytes) -> None:
        if connection is not self._connection or not self.subscribed(self.pmd_cp, indicate=True):
            return  # no CCCD, no indication: a gateway that writes before subscribing never hears back
        self.pmd_log.responses.append(payload)
        self.sent.append(Sent("cp", self._counters["cp"], payload))
        self._counters["cp"] += 1
        await self.device.indicate_subscriber(connection, self.pmd_cp, payload)

    def _handle_command(self, connection: Connection, value: bytes) -> bytes:
        op = value[0] if value else 0
        if len(value) < 2:
            return bytes((const.PMD_CP_RESPONSE_CODE, op, 0, PmdStatus.INVALID_LENGTH))
        type_id = value[1] & const.PMD_MEASUREMENT_TYPE_MASK
        try:
            measurement_type = PmdMeasurementType(type_id)
        except ValueError:
            return bytes((const.PMD_CP_RESPONSE_CODE, op, value[1], PmdStatus.INVALID_MEASUREMENT_TYPE))
        if measurement_type not in (ECG, ACC):
            return build_pmd_control_point_response(op, measurement_type, PmdStatus.NOT_SUPPORTED)
        if op == const.PMD_OP_GET_MEASUREMENT_SETTINGS:
            if measurement_type is ECG:
                settings = build_pmd_settings_response(sample_rates_hz=(130,), resolutions_bits=(14,))
            else:
                settings = build_pmd_settings_response(
                    sample_rates_hz=_ACC_RATES_HZ, resolutions_bits=(16,), ranges=_ACC_RANGES_G
                )
            return build_pmd_control_point_response(op, measurement_type, parameters=settings)
        if op == const.PMD_OP_START_MEASUREMENT:
            status = self._start_status(connection, measurement_type, value[2:])
            if status == PmdStatus.SUCCESS:
                self._start_stream(measurement_type)
            return build_pmd_control_point_response(op, measurement_type, status)
        if op == const.PMD_OP_STOP_MEASUREMENT:
            stream = self.streams.pop(measurement_type, None)
            if stream is None:
                return build_pmd_control_point_response(op, measurement_type, PmdStatus.ALREADY_IN_STATE)
            stream.task.cancel()
            return build_pmd_control_point_response(op, measurement_type)
        return bytes((const.PMD_CP_RESPONSE_CODE, op, value[1], PmdStatus.INVALID_OP_CODE))

    def _start_status(self, connection: Connection, measurement_type: PmdMeasurementType, raw: bytes) -> int:
        if self.faults.start_status is not None:
            return self.faults.start_status
        if measurement_type in self.streams:
            return PmdStatus.ALREADY_IN_STATE
        if connection.att_mtu - 3 < _FRAME_BYTES[measurement_type]:
            return PmdStatus.INVALID_MTU
        try:
            settings = parse_pmd_settings(raw)
        except ValueError:
            return PmdStatus.INVALID_PARAMETER
        if measurement_type is ECG:
            if settings.sample_rates_hz != (130,):
                return PmdStatus.INVALID_SAMPLE_RATE
            if settings.resolutions_bits != (14,):
                return PmdStatus.INVALID_RESOLUTION
        else:
            if len(settings.sample_rates_hz) != 1 or settings.sample_rates_hz[0] not in _ACC_RATES_HZ:
                return PmdStatus.INVALID_SAMPLE_RATE
            if settings.resolutions_bits != (16,):
                return PmdStatus.INVALID_RESOLUTION
            if len(settings.ranges) != 1 or settings.ranges[0] not in _ACC_RANGES_G:
                return PmdStatus.INVALID_RANGE
        return PmdStatus.SUCCESS

    def _start_stream(self, measurement_type: PmdMeasurementType) -> None:
        loop = asyncio.get_running_loop()
        stream = _Stream(loop.create_task(self._stream(measurement_type)))
        self.streams[measurement_type] = stream
        self._tasks.add(stream.task)
        stream.task.add_done_callback(self._tasks.discard)

    def frame(self, measurement_type: PmdMeasurementType, index: int) -> bytes:
        """Data frame ``index`` of a stream; its timestamp is the strap clock at the frame's last sample."""
        if measurement_type is ECG:
            ts = self.device_clock_polar_ns + round((index + 1) * _ECG_FRAME_NS)
            return build_pmd_ecg_frame(ts, ecg_samples(index))
        first = index * ACC_SAMPLES_PER_FRAME
        ts = self.device_clock_polar_ns + round((first + ACC_SAMPLES_PER_FRAME) * 1e9 / const.H10_ACC_SAMPLE_RATE_HZ)
        samples = [(10 + (first + k) % 50, -20, 1000) for k in range(ACC_SAMPLES_PER_FRAME)]
        return build_pmd_acc_frame(ts, samples)

    async def _stream(self, measurement_type: PmdMeasurementType) -> None:
        kind: Kind = "ecg" if measurement_type is ECG else "acc"
        frame_ns = (
            _ECG_FRAME_NS if measurement_type is ECG else ACC_SAMPLES_PER_FRAME * 1e9 / const.H10_ACC_SAMPLE_RATE_HZ
        )
        # The strap clock runs whether or not it streams: a restarted stream continues at the current time.
        elapsed_ns = (asyncio.get_running_loop().time() - self._clock_start_s) * 1e9 * self.time_scale
        index = max(self._next_frame.get(measurement_type, 0), int(elapsed_ns / frame_ns))
        while True:
            await asyncio.sleep(frame_ns / 1e9 / self.time_scale)
            # It keeps measuring without a central too (it never stops by itself), so the index advances even
            # when nothing is subscribed.
            self._next_frame[measurement_type] = index + 1
            await self._notify(kind, self.pmd_data, self.frame(measurement_type, index))
            index += 1

    # --- PMD fault hooks -------------------------------------------------------------------------------------

    async def stop_measurement_unsolicited(self, *types: PmdMeasurementType) -> None:
        """Stop streams on the strap's own initiative and send ``01 <types>`` (ONLINE_MEASUREMENT_STOPPED)."""
        for measurement_type in types:
            stream = self.streams.pop(measurement_type, None)
            if stream is not None:
                stream.task.cancel()
        if self._connection is not None:
            await self._indicate(self._connection, build_pmd_measurement_stopped(types))

    async def send_malformed_frame(self) -> bool:
        """An ECG frame whose payload is not a whole number of int24 samples (SampleLengthError)."""
        good = self.frame(ECG, 0)
        return await self._notify("ecg", self.pmd_data, good[:-1], malformed=True)
