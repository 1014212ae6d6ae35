"""Pure GATT decoders: Heart Rate Measurement, Body Sensor Location, Battery Level, DIS strings; PMD re-exported.

No I/O: bytes in, frozen dataclasses out. Layouts are from ``/work/shared/BLE.md`` §1 (HRS 1.0 §3.1, GATT
Specification Supplement §3.113). All multi-byte fields are little-endian. Every malformed value raises a
subclass of :class:`ingest.errors.MalformedPayloadError` (a ``ValueError``) whose message names what is wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from ingest import const
from ingest.encode import (
    pmd_get_settings_command,
    pmd_start_acc_command,
    pmd_start_ecg_command,
    pmd_stop_acc_command,
    pmd_stop_ecg_command,
)
from ingest.errors import (
    EmptyPayloadError,
    InvalidTextError,
    MissingRrValueError,
    OddRrByteCountError,
    OutOfRangeError,
    ReservedValueError,
    TrailingBytesError,
    TruncatedFieldError,
)
from ingest.pmd import (
    BytesLike,
    PmdControlPointResponse,
    PmdFeatures,
    PmdFrame,
    PmdMeasurementStopped,
    PmdMeasurementType,
    PmdSettings,
    PmdStatus,
    parse_pmd_control_point_response,
    parse_pmd_features,
    parse_pmd_frame,
    parse_pmd_settings,
    polar_to_unix_ns,
)

__all__ = [
    "BodySensorLocation",
    "HeartRateMeasurement",
    "PmdControlPointResponse",
    "PmdFeatures",
    "PmdFrame",
    "PmdMeasurementStopped",
    "PmdMeasurementType",
    "PmdSettings",
    "PmdStatus",
    "parse_battery_level",
    "parse_body_sensor_location",
    "parse_heart_rate_measurement",
    "parse_pmd_control_point_response",
    "parse_pmd_features",
    "parse_pmd_frame",
    "parse_pmd_settings",
    "parse_utf8_string",
    "pmd_get_settings_command",
    "pmd_start_acc_command",
    "pmd_start_ecg_command",
    "pmd_stop_acc_command",
    "pmd_stop_ecg_command",
    "polar_to_unix_ns",
    "rr_1024_to_ms",
]

_HRM = "Heart Rate Measurement"
_BSL = "Body Sensor Location"
_BATTERY = "Battery Level"
_MS_PER_S = 1000


class BodySensorLocation(IntEnum):
    """Body Sensor Location 0x2A38 values; 7-255 are reserved for future use."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement 0x2A37 notification.

    ``sensor_contact`` is None when the strap does not support contact detection (bit2 clear), else whether it
    detects skin contact (bit1). ``energy_expended_kj`` is cumulative since the last reset and stays at 0xFFFF
    once saturated (:attr:`energy_expended_saturated`). ``rr_ms`` are exact (raw * 1000 / 1024, never
    rounded), oldest first; ``rr_1024`` are the raw values in 1/1024 s.
    """

    hr_bpm: int
    sensor_contact: bool | None
    energy_expended_kj: int | None
    rr_ms: tuple[float, ...]
    hr_format_uint16: bool
    rr_1024: tuple[int, ...] = ()

    @property
    def sensor_contact_supported(self) -> bool:
        return self.sensor_contact is not None

    @property
    def energy_expended_saturated(self) -> bool:
        return self.energy_expended_kj == const.ENERGY_EXPENDED_SATURATED_KJ


def rr_1024_to_ms(rr_1024: int) -> float:
    """RR in 1/1024 s to ms, exactly (1000/1024 is a power-of-two fraction, so the float is exact)."""
    return rr_1024 * _MS_PER_S / const.RR_UNITS_PER_S


def parse_heart_rate_measurement(payload: BytesLike) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement notification (reserved flag bits 5-7 ignored, RR count not capped)."""
    size = len(payload)
    if size == 0:
        raise EmptyPayloadError(_HRM, "empty payload", b"")
    flags = payload[0]
    uint16 = bool(flags & const.HRM_FLAG_HR_UINT16)
    if uint16:
        if size < 3:
            raise TruncatedFieldError(_HRM, "heart rate (uint16)", 2, size - 1, bytes(payload))
        hr = payload[1] | (payload[2] << 8)
        offset = 3
    else:
        if size < 2:
            raise TruncatedFieldError(_HRM, "heart rate (uint8)", 1, 0, bytes(payload))
        hr = payload[1]
        offset = 2
    contact = bool(flags & const.HRM_FLAG_CONTACT_DETECTED) if flags & const.HRM_FLAG_CONTACT_SUPPORTED else None
    energy: int | None = None
    if flags & const.HRM_FLAG_ENERGY_EXPENDED:
        if size - offset < 2:
            raise TruncatedFieldError(_HRM, "energy expended", 2, size - offset, bytes(payload))
        energy = payload[offset] | (payload[offset + 1] << 8)
        offset += 2
    rest = size - offset
    if flags & const.HRM_FLAG_RR_PRESENT:
        if rest == 0:
            raise MissingRrValueError(_HRM, "RR-interval flag is set but no RR value follows", bytes(payload))
        if rest & 1:
            raise OddRrByteCountError(
                _HRM, f"odd RR byte count {rest}: RR intervals are uint16 (2 B each)", bytes(payload)
            )
        rr_raw: tuple[int, ...] = struct.unpack_from(f"<{rest >> 1}H", payload, offset)
        rr_ms = tuple([r * _MS_PER_S / const.RR_UNITS_PER_S for r in rr_raw])
    else:
        if rest:
            raise TrailingBytesError(
                _HRM, f"{rest} unexpected byte(s) after the last field the flags announce", bytes(payload)
            )
        rr_raw = ()
        rr_ms = ()
    return HeartRateMeasurement(hr, contact, energy, rr_ms, uint16, rr_raw)


def _single_byte(payload: BytesLike, what: str, field: str) -> int:
    if len(payload) == 0:
        raise EmptyPayloadError(what, "empty payload", b"")
    if len(payload) > 1:
        raise TrailingBytesError(what, f"{field} is one byte, got {len(payload)} B", bytes(payload))
    return payload[0]


def parse_body_sensor_location(payload: BytesLike) -> BodySensorLocation:
    """Decode Body Sensor Location 0x2A38 (uint8); reserved values 7-255 raise :class:`ReservedValueError`."""
    value = _single_byte(payload, _BSL, "body sensor location")
    if value > max(BodySensorLocation):
        raise ReservedValueError(_BSL, f"value {value} is reserved for future use (0-6 defined)", bytes(payload))
    return BodySensorLocation(value)


def parse_battery_level(payload: BytesLike) -> int:
    """Decode Battery Level 0x2A19: percent, 0-100."""
    value = _single_byte(payload, _BATTERY, "battery level")
    if value > const.BATTERY_LEVEL_MAX_PCT:
        raise OutOfRangeError(_BATTERY, f"level {value} % is above 100 %", bytes(payload))
    return value


def parse_utf8_string(payload: BytesLike, what: str = "Device Information string") -> str:
    """Decode a DIS string characteristic (UTF-8); some devices pad with NULs, which are stripped."""
    try:
        return bytes(payload).decode("utf-8").rstrip("\x00")
    except UnicodeDecodeError as exc:
        raise InvalidTextError(what, f"not UTF-8 ({exc.reason} at byte {exc.start})", bytes(payload)) from exc
