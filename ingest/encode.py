"""Pure encoders: the bytes a strap sends (HRM, BSL, battery, PMD frames, control-point values) and PMD commands.

Used by the patient simulator and the virtual strap in tests, so that every decoder test can round-trip. The
layouts mirror :mod:`ingest.gatt` and :mod:`ingest.pmd`; values that cannot be put on the wire raise
:class:`ingest.errors.EncodeError`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ingest import const
from ingest.errors import EncodeError
from ingest.pmd import FEATURE_BITS, SETTING_SIZES, PmdMeasurementType

_INT24_MIN = -(1 << 23)
_INT24_MAX = (1 << 23) - 1
_INT16_MIN = -(1 << 15)
_INT16_MAX = (1 << 15) - 1
_MAX_BLOCK_SAMPLES = 0xFF  # the block's sample count is a uint8
_MS_PER_S = 1000


# --- Heart Rate Measurement ---


def rr_ms_to_1024(rr_ms: float) -> int:
    """RR in ms to the strap's 1/1024 s units, rounded to the nearest unit (halves round up)."""
    if not math.isfinite(rr_ms) or rr_ms < 0:
        raise EncodeError(f"RR {rr_ms} ms is not a non-negative finite number")
    raw = math.floor(rr_ms * const.RR_UNITS_PER_S / _MS_PER_S + 0.5)
    if raw > const.RR_MAX_RAW:
        raise EncodeError(f"RR {rr_ms} ms exceeds the uint16 maximum of 65535/1024 s")
    return raw


def hrm_flags(*, uint16: bool, sensor_contact: bool | None, with_energy: bool, with_rr: bool) -> int:
    """The flags byte of a Heart Rate Measurement (reserved bits 5-7 are zero)."""
    flags = const.HRM_FLAG_HR_UINT16 if uint16 else 0
    if sensor_contact is not None:
        flags |= const.HRM_FLAG_CONTACT_SUPPORTED
        if sensor_contact:
            flags |= const.HRM_FLAG_CONTACT_DETECTED
    if with_energy:
        flags |= const.HRM_FLAG_ENERGY_EXPENDED
    if with_rr:
        flags |= const.HRM_FLAG_RR_PRESENT
    return flags


@lru_cache(maxsize=512)
def hrm_struct(uint16: bool, with_energy: bool, n_rr: int) -> struct.Struct:
    """The layout ``flags, hr, [energy], rr...`` as a cached ``struct.Struct`` (the simulator's fast path)."""
    return struct.Struct("<B" + ("H" if uint16 else "B") + ("H" if with_energy else "") + "H" * n_rr)


def build_heart_rate_measurement(
    hr_bpm: int,
    *,
    rr_1024: Sequence[int] = (),
    sensor_contact: bool | None = None,
    energy_expended_kj: int | None = None,
    uint16: bool = False,
) -> bytes:
    """Encode a Heart Rate Measurement notification.

    ``rr_1024`` are raw RR values in 1/1024 s, oldest first (see :func:`rr_ms_to_1024`). Energy expended above
    0xFFFF is sent as 0xFFFF, because the field saturates there (HRS §3.1.1.3).
    """
    limit = const.HR_MAX_UINT16_BPM if uint16 else const.HR_MAX_UINT8_BPM
    if not 0 <= hr_bpm <= limit:
        raise EncodeError(f"heart rate {hr_bpm} bpm does not fit the {'uint16' if uint16 else 'uint8'} format")
    for rr in rr_1024:
        if not 0 <= rr <= const.RR_MAX_RAW:
            raise EncodeError(f"RR {rr}/1024 s does not fit a uint16")
    values: list[int] = [
        hrm_flags(
            uint16=uint16,
            sensor_contact=sensor_contact,
            with_energy=energy_expended_kj is not None,
            with_rr=len(rr_1024) > 0,
        ),
        hr_bpm,
    ]
    if energy_expended_kj is not None:
        if energy_expended_kj < 0:
            raise EncodeError(f"energy expended {energy_expended_kj} kJ is negative")
        values.append(min(energy_expended_kj, const.ENERGY_EXPENDED_SATURATED_KJ))
    values.extend(rr_1024)
    return hrm_struct(uint16, energy_expended_kj is not None, len(rr_1024)).pack(*values)


def max_rr_per_notification(mtu: int = const.DEFAULT_ATT_MTU, uint16: bool = False, with_energy: bool = False) -> int:
    """How many RR values fit one notification: (MTU - 3 - flags - HR - [EE]) // 2.

    At ATT_MTU 23 this gives the limits quoted from the HRS text: UINT8 9 (8 with EE), UINT16 8 (7 with EE).
    """
    if mtu < const.DEFAULT_ATT_MTU:
        raise EncodeError(f"ATT_MTU {mtu} is below the minimum of {const.DEFAULT_ATT_MTU}")
    room = mtu - const.ATT_NOTIFICATION_HEADER_BYTES - 1 - (2 if uint16 else 1) - (2 if with_energy else 0)
    return room // 2


def split_rr_intervals(
    rr_1024: Sequence[int],
    *,
    mtu: int = const.DEFAULT_ATT_MTU,
    uint16: bool = False,
    with_energy: bool = False,
) -> list[tuple[int, ...]]:
    """Split RR values across notifications, oldest first; values that do not fit go in the next notification.

    ``with_energy`` means the first notification carries Energy Expended (one RR fewer fits it); the others do
    not. An empty input gives one notification without RR.
    """
    first = max_rr_per_notification(mtu, uint16, with_energy)
    later = max_rr_per_notification(mtu, uint16, False)
    chunks = [tuple(rr_1024[:first])]
    index = first
    while index < len(rr_1024):
        chunks.append(tuple(rr_1024[index : index + later]))
        index += later
    return chunks


# --- Body Sensor Location, Battery Level ---


def build_body_sensor_location(location: int) -> bytes:
    if not 0 <= location <= 0xFF:
        raise EncodeError(f"body sensor location {location} does not fit a uint8")
    return bytes((location,))


def build_battery_level(level_pct: int) -> bytes:
    if not 0 <= level_pct <= const.BATTERY_LEVEL_MAX_PCT:
        raise EncodeError(f"battery level {level_pct} % is outside 0-100 %")
    return bytes((level_pct,))


# --- PMD data frames ---


def _frame_header(measurement_type: PmdMeasurementType, timestamp_ns: int, frame_byte: int) -> bytes:
    if not 0 <= timestamp_ns < 1 << 64:
        raise EncodeError(f"PMD timestamp {timestamp_ns} ns does not fit a uint64")
    return struct.pack("<BQB", int(measurement_type), timestamp_ns, frame_byte)


def build_pmd_ecg_frames(timestamps_ns: npt.NDArray[np.uint64], samples_uv: npt.NDArray[np.integer]) -> list[bytes]:
    """Many ECG frames (type 0, int24 µV) at once: row ``i`` of ``samples_uv`` with ``timestamps_ns[i]``.

    The simulator's fast path: one numpy pass builds every frame of a step.
    """
    rows, count = samples_uv.shape
    if rows and (int(samples_uv.min()) < _INT24_MIN or int(samples_uv.max()) > _INT24_MAX):
        raise EncodeError("an ECG sample does not fit int24")
    size = const.PMD_FRAME_HEADER_BYTES + const.ECG_SAMPLE_BYTES * count
    out = np.zeros((rows, size), dtype=np.uint8)
    out[:, 0] = int(PmdMeasurementType.ECG)
    out[:, 1:9] = np.ascontiguousarray(timestamps_ns, dtype="<u8").reshape(rows, 1).view(np.uint8)
    out[:, 9] = 0
    wide = np.ascontiguousarray(samples_uv, dtype="<i4").view(np.uint8).reshape(rows, count, 4)
    out[:, 10:] = wide[:, :, :3].reshape(rows, count * 3)
    blob = out.tobytes()
    return [blob[i * size : (i + 1) * size] for i in range(rows)]


def build_pmd_ecg_frame(timestamp_ns: int, samples_uv: Sequence[int]) -> bytes:
    """One ECG frame ``00 <u64 ts> 00 <int24 µV...>``; ``timestamp_ns`` is the last sample's (Polar epoch)."""
    header = _frame_header(PmdMeasurementType.ECG, timestamp_ns, 0)
    body = bytearray()
    for value in samples_uv:
        if not _INT24_MIN <= value <= _INT24_MAX:
            raise EncodeError(f"ECG sample {value} µV does not fit int24")
        body += value.to_bytes(3, "little", signed=True)
    return header + bytes(body)


def signed_bit_width(values: Iterable[int]) -> int:
    """Smallest two's-complement width (at least 1 bit) that holds every value."""
    width = 1
    for value in values:
        needed = (value if value >= 0 else ~value).bit_length() + 1
        width = max(width, needed)
    return width


def pack_deltas_lsb_first(deltas: Sequence[int], bits: int) -> bytes:
    """Bit-pack signed deltas LSB-first, as ``BlePMDClient.parseDeltaFrame`` reads them."""
    packed = 0
    mask = (1 << bits) - 1
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for index, delta in enumerate(deltas):
        if not low <= delta <= high:
            raise EncodeError(f"delta {delta} does not fit {bits} signed bits")
        packed |= (delta & mask) << (index * bits)
    return packed.to_bytes((bits * len(deltas) + 7) // 8, "little")


def build_pmd_acc_frame(
    timestamp_ns: int,
    samples: Sequence[tuple[int, int, int]],
    *,
    compressed: bool = False,
    delta_bits: int | None = None,
    samples_per_block: int = _MAX_BLOCK_SAMPLES,
) -> bytes:
    """One ACC frame of (x, y, z) mG samples: raw int16 (frame type 1) or delta-compressed (``0x81``).

    Compressed: samples[0] is the int16 reference; the rest become blocks of up to ``samples_per_block``
    deltas, each block with the smallest width that fits it, or ``delta_bits`` for every block when given.
    """
    if not samples:
        raise EncodeError("an ACC frame needs at least one sample")
    for sample in samples:
        for value in sample:
            if not _INT16_MIN <= value <= _INT16_MAX:
                raise EncodeError(f"ACC value {value} mG does not fit int16")
    if not compressed:
        header = _frame_header(PmdMeasurementType.ACC, timestamp_ns, 1)
        flat = [value for sample in samples for value in sample]
        return header + struct.pack(f"<{len(flat)}h", *flat)
    if not 1 <= samples_per_block <= _MAX_BLOCK_SAMPLES:
        raise EncodeError(f"samples_per_block {samples_per_block} is outside 1-255")
    header = _frame_header(PmdMeasurementType.ACC, timestamp_ns, const.PMD_FRAME_COMPRESSED_BIT | 1)
    body = bytearray(struct.pack("<3h", *samples[0]))
    for start in range(1, len(samples), samples_per_block):
        block = samples[start : start + samples_per_block]
        previous = samples[start - 1 : start - 1 + len(block)]
        deltas = [cur[c] - prev[c] for cur, prev in zip(block, previous, strict=True) for c in range(3)]
        bits = delta_bits if delta_bits is not None else signed_bit_width(deltas)
        body += bytes((bits, len(block))) + pack_deltas_lsb_first(deltas, bits)
    return header + bytes(body)


# --- PMD control point (device to host) ---


def build_pmd_features(measurement_types: Iterable[PmdMeasurementType]) -> bytes:
    """The CP read value ``0F b1 b2`` offering these measurement types."""
    bits = {measurement_type: (index, bit) for index, bit, measurement_type in FEATURE_BITS}
    out = bytearray((const.PMD_CP_FEATURES_CODE, 0, 0))
    for measurement_type in measurement_types:
        if measurement_type not in bits:
            raise EncodeError(f"{measurement_type.name} has no feature bit")
        index, bit = bits[measurement_type]
        out[index] |= bit
    return bytes(out)


def build_pmd_control_point_response(
    op_code: int,
    measurement_type: PmdMeasurementType,
    status: int = 0,
    *,
    more: bool = False,
    parameters: bytes = b"",
) -> bytes:
    """A CP response indication ``F0 op type status more [params]`` (errors carry no ``more``/params)."""
    head = bytes((const.PMD_CP_RESPONSE_CODE, op_code, int(measurement_type), status))
    if status != 0:
        return head
    return head + bytes((1 if more else 0,)) + parameters


def build_pmd_measurement_stopped(measurement_types: Iterable[PmdMeasurementType]) -> bytes:
    """The unsolicited CP indication ``01 <types...>`` (ONLINE_MEASUREMENT_STOPPED)."""
    return bytes((const.PMD_CP_ONLINE_MEASUREMENT_STOPPED, *(int(t) for t in measurement_types)))


def build_pmd_settings_response(
    *,
    sample_rates_hz: Sequence[int] = (),
    resolutions_bits: Sequence[int] = (),
    ranges: Sequence[int] = (),
    channels: Sequence[int] = (),
    factor: float | None = None,
) -> bytes:
    """Settings TLVs as a device sends them (several values per type allowed; FACTOR as float32)."""
    out = bytearray()
    for setting, values in (
        (const.PMD_SETTING_SAMPLE_RATE, sample_rates_hz),
        (const.PMD_SETTING_RESOLUTION, resolutions_bits),
        (const.PMD_SETTING_RANGE, ranges),
        (const.PMD_SETTING_CHANNELS, channels),
    ):
        if values:
            out += bytes((setting, len(values)))
            for value in values:
                out += value.to_bytes(SETTING_SIZES[setting], "little")
    if factor is not None:
        out += bytes((const.PMD_SETTING_FACTOR, 1)) + struct.pack("<f", factor)
    return bytes(out)


# --- PMD control point commands (host to device) ---


def _type_byte(measurement_type: PmdMeasurementType) -> int:
    online = 0  # recording type 0 = online streaming (pdf §1)
    return int(measurement_type) | (online << const.PMD_RECORDING_TYPE_SHIFT)


def encode_pmd_settings(
    *,
    sample_rate_hz: int | None = None,
    resolution_bits: int | None = None,
    range_g: int | None = None,
    channels: int | None = None,
) -> bytes:
    """Settings TLVs for a START request, one value each, in the order the SDK writes them."""
    out = bytearray()
    for setting, value in (
        (const.PMD_SETTING_SAMPLE_RATE, sample_rate_hz),
        (const.PMD_SETTING_RESOLUTION, resolution_bits),
        (const.PMD_SETTING_RANGE, range_g),
        (const.PMD_SETTING_CHANNELS, channels),
    ):
        if value is not None:
            out += bytes((setting, 1)) + value.to_bytes(SETTING_SIZES[setting], "little")
    return bytes(out)


def pmd_get_settings_command(measurement_type: PmdMeasurementType) -> bytes:
    """``01 <type>``: ask which settings the device offers for a measurement."""
    return bytes((const.PMD_OP_GET_MEASUREMENT_SETTINGS, _type_byte(measurement_type)))


def pmd_start_command(measurement_type: PmdMeasurementType, settings: bytes) -> bytes:
    """``02 <type> <settings TLVs>``: start online streaming."""
    return bytes((const.PMD_OP_START_MEASUREMENT, _type_byte(measurement_type))) + settings


def pmd_stop_command(measurement_type: PmdMeasurementType) -> bytes:
    """``03 <type>``: stop streaming; the H10 never stops by itself (KnownIssues.md, H10 issue 2)."""
    return bytes((const.PMD_OP_STOP_MEASUREMENT, _type_byte(measurement_type)))


def pmd_start_ecg_command(
    sample_rate_hz: int = const.H10_ECG_SAMPLE_RATE_HZ, resolution_bits: int = const.H10_ECG_RESOLUTION_BITS
) -> bytes:
    """START ECG; with the H10 defaults (130 Hz, 14 bit)."""
    settings = encode_pmd_settings(sample_rate_hz=sample_rate_hz, resolution_bits=resolution_bits)
    return pmd_start_command(PmdMeasurementType.ECG, settings)


def pmd_start_acc_command(
    sample_rate_hz: int = const.H10_ACC_SAMPLE_RATE_HZ,
    resolution_bits: int = const.H10_ACC_RESOLUTION_BITS,
    range_g: int = const.H10_ACC_RANGE_G,
) -> bytes:
    """START ACC; with the H10 defaults (200 Hz, 16 bit, ±8 G)."""
    settings = encode_pmd_settings(sample_rate_hz=sample_rate_hz, resolution_bits=resolution_bits, range_g=range_g)
    return pmd_start_command(PmdMeasurementType.ACC, settings)


def pmd_stop_ecg_command() -> bytes:
    return pmd_stop_command(PmdMeasurementType.ECG)


def pmd_stop_acc_command() -> bytes:
    return pmd_stop_command(PmdMeasurementType.ACC)
