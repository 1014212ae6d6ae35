"""Polar Measurement Data (PMD): pure decoders for data frames and control-point values, and command builders.

No I/O. Layouts are from ``/work/shared/BLE.md`` §2 (Polar ``online_measurement.pdf`` Table 6,
``PmdDataFrame.kt``, ``PmdControlPointResponse.kt``, ``PmdSetting.kt``, ``BlePMDClient.parseDeltaFrame``).
Every malformed value raises a subclass of :class:`ingest.errors.MalformedPayloadError` (a ``ValueError``)
whose message names what is wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

import numpy as np

from ingest import const
from ingest.errors import (
    DeltaFrameError,
    EmptyPayloadError,
    SampleLengthError,
    SettingsError,
    TruncatedFieldError,
    UnexpectedOpcodeError,
    UnknownMeasurementTypeError,
    UnsupportedFrameError,
)

BytesLike: TypeAlias = bytes | bytearray | memoryview
AccSample: TypeAlias = tuple[int, int, int]

_FRAME = "PMD data frame"
_CP = "PMD control point value"
_SETTINGS = "PMD settings"
# Wider deltas than this cannot come from a 32-bit sensor value and would only make the decoder do needless
# work.
_MAX_DELTA_BITS = 32


class PmdMeasurementType(IntEnum):
    """Measurement type ids (``PmdMeasurementType.kt``)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14
    OFFLINE_TEMP = 15


class PmdStatus(IntEnum):
    """Control-point response status codes (``PmdControlPointResponse.kt``)."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


_KNOWN_TYPES = frozenset(int(t) for t in PmdMeasurementType)

# Feature bitmap of the CP read value ``0F b1 b2`` (PmdMeasurementType.fromByteArray): (byte index, bit,
# type).
FEATURE_BITS: tuple[tuple[int, int, PmdMeasurementType], ...] = (
    (1, 0x01, PmdMeasurementType.ECG),
    (1, 0x02, PmdMeasurementType.PPG),
    (1, 0x04, PmdMeasurementType.ACC),
    (1, 0x08, PmdMeasurementType.PPI),
    (1, 0x20, PmdMeasurementType.GYRO),
    (1, 0x40, PmdMeasurementType.MAGNETOMETER),
    (1, 0x80, PmdMeasurementType.SKIN_TEMP),
    (2, 0x02, PmdMeasurementType.SDK_MODE),
    (2, 0x04, PmdMeasurementType.LOCATION),
    (2, 0x08, PmdMeasurementType.PRESSURE),
    (2, 0x10, PmdMeasurementType.TEMPERATURE),
    (2, 0x20, PmdMeasurementType.OFFLINE_RECORDING),
    (2, 0x40, PmdMeasurementType.OFFLINE_HR),
)

# Bytes per value of each setting type (PmdSetting.typeToFieldSize; security is a 16 B key).
SETTING_SIZES: dict[int, int] = {
    const.PMD_SETTING_SAMPLE_RATE: 2,
    const.PMD_SETTING_RESOLUTION: 2,
    const.PMD_SETTING_RANGE: 2,
    const.PMD_SETTING_RANGE_MILLIUNIT: 4,
    const.PMD_SETTING_CHANNELS: 1,
    const.PMD_SETTING_FACTOR: 4,
    const.PMD_SETTING_SECURITY: 16,
}

# Raw ACC frame types: bytes per channel value (AccData.kt TYPE_0/1/2).
_ACC_RAW_WIDTH: dict[int, int] = {0: 1, 1: 2, 2: 3}
# Delta-compressed ACC frame types: bytes per channel of the reference sample
# (AccData.dataFromCompressedType1).
_ACC_DELTA_REFERENCE_WIDTH: dict[int, int] = {1: 2}


def polar_to_unix_ns(polar_ns: int) -> int:
    """Convert a PMD timestamp (ns since 2000-01-01T00:00:00Z) to Unix ns."""
    return polar_ns + const.POLAR_EPOCH_UNIX_NS


def unix_to_polar_ns(unix_ns: int) -> int:
    """Convert Unix ns to a PMD timestamp (ns since 2000-01-01T00:00:00Z)."""
    return unix_ns - const.POLAR_EPOCH_UNIX_NS


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One decoded PMD data notification.

    ``timestamp_ns`` is the device clock in Polar-epoch ns exactly as on the wire and belongs to the last
    sample. ``samples`` holds µV ints for ECG and (x, y, z) mG tuples for ACC.
    """

    measurement_type: PmdMeasurementType
    frame_type: int
    compressed: bool
    timestamp_ns: int
    samples: tuple[int, ...] | tuple[AccSample, ...]

    @property
    def unix_timestamp_ns(self) -> int:
        return polar_to_unix_ns(self.timestamp_ns)


@dataclass(frozen=True, slots=True)
class PmdFeatures:
    """The measurement types a device offers (CP read value ``0F b1 b2``)."""

    measurement_types: frozenset[PmdMeasurementType]

    def supports(self, measurement_type: PmdMeasurementType) -> bool:
        return measurement_type in self.measurement_types


@dataclass(frozen=True, slots=True)
class PmdControlPointResponse:
    """A CP response indication ``F0 op type status [more] [params]``."""

    op_code: int
    type_byte: int
    measurement_type: PmdMeasurementType | None
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == PmdStatus.SUCCESS

    @property
    def status_name(self) -> str:
        try:
            return PmdStatus(self.status).name
        except ValueError:
            return f"UNKNOWN_{self.status}"


@dataclass(frozen=True, slots=True)
class PmdMeasurementStopped:
    """The unsolicited CP indication ``01 <types...>``: the device stopped these streams by itself."""

    measurement_types: tuple[PmdMeasurementType, ...]


@dataclass(frozen=True, slots=True)
class PmdSettings:
    """Settings TLVs (GET_MEASUREMENT_SETTINGS answer, START answer, START request)."""

    sample_rates_hz: tuple[int, ...] = ()
    resolutions_bits: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    ranges_milliunit: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    factor: float | None = None
    security: bytes | None = None


def _measurement_type(type_byte: int, what: str, payload: BytesLike) -> PmdMeasurementType:
    type_id = type_byte & const.PMD_MEASUREMENT_TYPE_MASK
    if type_id not in _KNOWN_TYPES:
        raise UnknownMeasurementTypeError(what, f"unknown measurement type {type_id}", bytes(payload))
    return PmdMeasurementType(type_id)


def _signed_values(body: BytesLike, width: int) -> list[int]:
    """Little-endian signed integers of ``width`` bytes (1, 2 or 3); ``len(body)`` is a multiple of it."""
    if width == 1:
        return np.frombuffer(body, dtype=np.int8).tolist()  # type: ignore[no-any-return]
    if width == 2:
        return np.frombuffer(body, dtype="<i2").tolist()  # type: ignore[no-any-return]
    # int24: put each sample in the top three bytes of an int32, then an arithmetic shift sign-extends it.
    raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
    wide = np.zeros((raw.shape[0], 4), dtype=np.uint8)
    wide[:, 1:] = raw
    return (wide.view("<i4")[:, 0] >> 8).tolist()  # type: ignore[no-any-return]


def _decode_delta(body: BytesLike, channels: int, reference_width: int, payload: BytesLike) -> list[list[int]]:
    """Decode a delta-compressed payload as the Polar SDK does (``BlePMDClient.parseDeltaFramesAll``).

    Layout: a reference sample (``channels`` signed little-endian values of ``reference_width`` bytes), then
    blocks ``[delta_bits u8][count u8][ceil(delta_bits*channels*count/8) bytes]``. Deltas are signed and
    bit-packed LSB-first: bit ``i`` of the stream is bit ``i % 8`` of byte ``i // 8``, which is bit ``i`` of
    the block read as one little-endian integer. Each sample is the previous sample plus its delta; the
    reference is sample 0.
    """
    size = len(body)
    reference_bytes = channels * reference_width
    if size < reference_bytes:
        raise DeltaFrameError(
            _FRAME, f"reference sample needs {reference_bytes} B, only {size} B present", bytes(payload)
        )
    previous = [
        int.from_bytes(body[c * reference_width : (c + 1) * reference_width], "little", signed=True)
        for c in range(channels)
    ]
    samples = [previous]
    offset = reference_bytes
    while offset < size:
        if size - offset < 2:
            raise DeltaFrameError(
                _FRAME, f"delta block header at byte {offset} is cut short (needs 2 B)", bytes(payload)
            )
        bits, count = body[offset], body[offset + 1]
        offset += 2
        if bits > _MAX_DELTA_BITS:
            raise DeltaFrameError(_FRAME, f"delta width {bits} bits exceeds {_MAX_DELTA_BITS} bits", bytes(payload))
        block_bytes = (bits * channels * count + 7) // 8
        if size - offset < block_bytes:
            raise DeltaFrameError(
                _FRAME,
                f"delta block of {count} samples x {bits} bits needs {block_bytes} B, only {size - offset} B present",
                bytes(payload),
            )
        packed = int.from_bytes(body[offset : offset + block_bytes], "little")
        offset += block_bytes
        mask = (1 << bits) - 1
        sign = (1 << (bits - 1)) if bits else 0
        full = 1 << bits
        shift = 0
        for _ in range(count):
            current = []
            for channel in range(channels):
                delta = (packed >> shift) & mask
                shift += bits
                if delta & sign:
                    delta -= full
                current.append(previous[channel] + delta)
            samples.append(current)
            previous = current
    return samples


def _parse_ecg(frame_type: int, compressed: bool, body: BytesLike, payload: BytesLike) -> tuple[int, ...]:
    if compressed:
        raise UnsupportedFrameError(_FRAME, "compressed ECG frames are not defined for the H10", bytes(payload))
    if frame_type != 0:
        raise UnsupportedFrameError(_FRAME, f"ECG frame type {frame_type} is not supported", bytes(payload))
    if len(body) == 0:
        raise SampleLengthError(_FRAME, "ECG frame carries no samples", bytes(payload))
    if len(body) % const.ECG_SAMPLE_BYTES:
        raise SampleLengthError(
            _FRAME, f"ECG payload of {len(body)} B is not a multiple of 3 (int24 samples)", bytes(payload)
        )
    return tuple(_signed_values(body, const.ECG_SAMPLE_BYTES))


def _parse_acc(
    frame_type: int, compressed: bool, body: BytesLike, payload: BytesLike, factor: float
) -> tuple[AccSample, ...]:
    channels = const.ACC_CHANNELS
    if compressed:
        reference_width = _ACC_DELTA_REFERENCE_WIDTH.get(frame_type)
        if reference_width is None:
            raise UnsupportedFrameError(
                _FRAME, f"compressed ACC frame type {frame_type} is not supported", bytes(payload)
            )
        rows = _decode_delta(body, channels, reference_width, payload)
        if factor != 1.0:
            # The SDK multiplies as float and truncates toward zero (Kotlin toInt()).
            return tuple((int(r[0] * factor), int(r[1] * factor), int(r[2] * factor)) for r in rows)
        return tuple((r[0], r[1], r[2]) for r in rows)
    width = _ACC_RAW_WIDTH.get(frame_type)
    if width is None:
        raise UnsupportedFrameError(_FRAME, f"ACC frame type {frame_type} is not supported", bytes(payload))
    sample_bytes = width * channels
    if len(body) == 0:
        raise SampleLengthError(_FRAME, "ACC frame carries no samples", bytes(payload))
    if len(body) % sample_bytes:
        raise SampleLengthError(
            _FRAME,
            f"ACC payload of {len(body)} B is not a multiple of {sample_bytes} (3 channels x int{8 * width})",
            bytes(payload),
        )
    values = _signed_values(body, width)
    return tuple(zip(values[0::3], values[1::3], values[2::3], strict=True))


def parse_pmd_frame(payload: BytesLike, *, acc_factor: float = 1.0) -> PmdFrame:
    """Decode a PMD data notification (ECG frame type 0, ACC frame types 0-2 and delta-compressed type 1).

    ``acc_factor`` is the FACTOR setting from the START response; the SDK applies it to delta-compressed ACC.
    """
    size = len(payload)
    if size == 0:
        raise EmptyPayloadError(_FRAME, "empty payload", b"")
    if size < 1 + 8:
        raise TruncatedFieldError(_FRAME, "timestamp", 8, size - 1, bytes(payload))
    if size < const.PMD_FRAME_HEADER_BYTES:
        raise TruncatedFieldError(_FRAME, "frame type", 1, 0, bytes(payload))
    measurement_type = _measurement_type(payload[0], _FRAME, payload)
    (timestamp_ns,) = struct.unpack_from("<Q", payload, 1)
    frame_byte = payload[9]
    frame_type = frame_byte & const.PMD_FRAME_TYPE_MASK
    compressed = bool(frame_byte & const.PMD_FRAME_COMPRESSED_BIT)
    body = payload[const.PMD_FRAME_HEADER_BYTES :]
    samples: tuple[int, ...] | tuple[AccSample, ...]
    if measurement_type is PmdMeasurementType.ECG:
        samples = _parse_ecg(frame_type, compressed, body, payload)
    elif measurement_type is PmdMeasurementType.ACC:
        samples = _parse_acc(frame_type, compressed, body, payload, acc_factor)
    else:
        raise UnsupportedFrameError(
            _FRAME,
            f"{measurement_type.name} frames are not decoded (the H10 streams ECG and ACC)",
            bytes(payload),
        )
    return PmdFrame(measurement_type, frame_type, compressed, timestamp_ns, samples)


def parse_pmd_features(payload: BytesLike) -> PmdFeatures:
    """Decode the control-point read value ``0F b1 b2`` into the offered measurement types."""
    if len(payload) == 0:
        raise EmptyPayloadError(_CP, "empty payload", b"")
    if payload[0] != const.PMD_CP_FEATURES_CODE:
        raise UnexpectedOpcodeError(_CP, f"feature read must start with 0x0F, got 0x{payload[0]:02X}", bytes(payload))
    if len(payload) < 3:
        raise TruncatedFieldError(_CP, "feature bitmap", 2, len(payload) - 1, bytes(payload))
    types = frozenset(t for index, bit, t in FEATURE_BITS if payload[index] & bit)
    return PmdFeatures(types)


def parse_pmd_control_point_response(
    payload: BytesLike,
) -> PmdControlPointResponse | PmdMeasurementStopped:
    """Decode a CP indication: response ``F0 op type status [more] [params]`` or stop ``01 <types>``."""
    size = len(payload)
    if size == 0:
        raise EmptyPayloadError(_CP, "empty payload", b"")
    code = payload[0]
    if code == const.PMD_CP_ONLINE_MEASUREMENT_STOPPED:
        return PmdMeasurementStopped(tuple(_measurement_type(b, _CP, payload) for b in payload[1:]))
    if code != const.PMD_CP_RESPONSE_CODE:
        raise UnexpectedOpcodeError(
            _CP,
            f"first byte 0x{code:02X} is neither a response (0xF0) nor a stop indication (0x01)",
            bytes(payload),
        )
    for index, field in ((1, "op code"), (2, "measurement type"), (3, "status")):
        if size <= index:
            raise TruncatedFieldError(_CP, field, 1, 0, bytes(payload))
    type_byte = payload[2]
    type_id = type_byte & const.PMD_MEASUREMENT_TYPE_MASK
    measurement_type = PmdMeasurementType(type_id) if type_id in _KNOWN_TYPES else None
    status = payload[3]
    ok = status == PmdStatus.SUCCESS
    more = ok and size > 4 and payload[4] != 0
    parameters = bytes(payload[5:]) if ok else b""
    return PmdControlPointResponse(payload[1], type_byte, measurement_type, status, more, parameters)


def parse_pmd_settings(payload: BytesLike) -> PmdSettings:
    """Decode settings TLVs ``[type][count][value x count]...`` (little-endian; ``PmdSetting.kt``)."""
    values: dict[int, list[int]] = {}
    factor: float | None = None
    security: bytes | None = None
    offset = 0
    size = len(payload)
    while offset < size:
        setting = payload[offset]
        width = SETTING_SIZES.get(setting)
        if width is None:
            raise SettingsError(_SETTINGS, f"unknown setting type {setting} at byte {offset}", bytes(payload))
        if offset + 1 >= size:
            raise TruncatedFieldError(_SETTINGS, f"count of setting {setting}", 1, 0, bytes(payload))
        count = payload[offset + 1]
        offset += 2
        needed = width * count
        if size - offset < needed:
            raise TruncatedFieldError(_SETTINGS, f"values of setting {setting}", needed, size - offset, bytes(payload))
        for i in range(count):
            chunk = bytes(payload[offset + i * width : offset + (i + 1) * width])
            if setting == const.PMD_SETTING_FACTOR:
                (factor,) = struct.unpack("<f", chunk)
            elif setting == const.PMD_SETTING_SECURITY:
                security = chunk
            else:
                values.setdefault(setting, []).append(int.from_bytes(chunk, "little"))
        offset += needed
    return PmdSettings(
        sample_rates_hz=tuple(values.get(const.PMD_SETTING_SAMPLE_RATE, ())),
        resolutions_bits=tuple(values.get(const.PMD_SETTING_RESOLUTION, ())),
        ranges=tuple(values.get(const.PMD_SETTING_RANGE, ())),
        ranges_milliunit=tuple(values.get(const.PMD_SETTING_RANGE_MILLIUNIT, ())),
        channels=tuple(values.get(const.PMD_SETTING_CHANNELS, ())),
        factor=factor,
        security=security,
    )
