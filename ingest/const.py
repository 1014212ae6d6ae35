"""Constants of the BLE ingest: UUIDs, field layouts and limits, each with its unit and the reason for its
value.

Sources are the ones in ``/work/shared/BLE.md``: Heart Rate Service 1.0 (HRS), the GATT Specification
Supplement (GSS), and the Polar BLE SDK (``PmdControlPointCommand.kt``, ``PmdDataFrame.kt``,
``PmdSetting.kt``).
"""

from __future__ import annotations

from typing import Final

# --- UUIDs ---
# 16-bit SIG ids expand into the Bluetooth base UUID; bleak reports lowercase strings, so ours are lowercase too.
BLUETOOTH_BASE_UUID_TEMPLATE: Final = "0000{:04x}-0000-1000-8000-00805f9b34fb"

HEART_RATE_SERVICE_UUID: Final = "0000180d-0000-1000-8000-00805f9b34fb"  # HRS 0x180D
HEART_RATE_MEASUREMENT_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"  # 0x2A37, notify only
BODY_SENSOR_LOCATION_UUID: Final = "00002a38-0000-1000-8000-00805f9b34fb"  # 0x2A38, read, uint8
HEART_RATE_CONTROL_POINT_UUID: Final = "00002a39-0000-1000-8000-00805f9b34fb"  # 0x2A39, write; only with EE
BATTERY_SERVICE_UUID: Final = "0000180f-0000-1000-8000-00805f9b34fb"  # BAS 0x180F
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"  # 0x2A19, uint8 percent
CLIENT_CHARACTERISTIC_CONFIGURATION_UUID: Final = "00002902-0000-1000-8000-00805f9b34fb"  # CCCD

# Device Information Service 0x180A: UTF-8 strings the gateway records with each device.
DEVICE_INFORMATION_SERVICE_UUID: Final = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID: Final = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID: Final = "00002a24-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER_UUID: Final = "00002a25-0000-1000-8000-00805f9b34fb"
HARDWARE_REVISION_UUID: Final = "00002a27-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID: Final = "00002a26-0000-1000-8000-00805f9b34fb"
SOFTWARE_REVISION_UUID: Final = "00002a28-0000-1000-8000-00805f9b34fb"

# Polar Measurement Data (BlePMDClient.kt companion object).
PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"  # read, write, indicate
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"  # notify

# --- CCCD values ---
CCCD_ENABLE_NOTIFICATIONS: Final = b"\x01\x00"  # HRM and PMD data notify
CCCD_ENABLE_INDICATIONS: Final = b"\x02\x00"  # PMD control point indicates

# --- Heart Rate Measurement 0x2A37 (HRS §3.1, GSS §3.113) ---
HRM_FLAG_HR_UINT16: Final = 0x01  # bit0: HR value is uint16 instead of uint8
HRM_FLAG_CONTACT_DETECTED: Final = 0x02  # bit1: meaningful only when bit2 is set
HRM_FLAG_CONTACT_SUPPORTED: Final = 0x04  # bit2: sensor contact feature supported
HRM_FLAG_ENERGY_EXPENDED: Final = 0x08  # bit3: uint16 kJ field present
HRM_FLAG_RR_PRESENT: Final = 0x10  # bit4: one or more uint16 RR values follow
HRM_FLAGS_RESERVED_MASK: Final = 0xE0  # bits 5-7 are RFU: decoders ignore them, encoders send zeros

RR_UNITS_PER_S: Final = 1024  # RR resolution is 1/1024 s (HRS §3.1.1.4)
RR_MAX_RAW: Final = 0xFFFF  # RR is a uint16, so at most 65535/1024 s ≈ 64 s
HR_MAX_UINT8_BPM: Final = 0xFF  # above this the strap must switch to the uint16 format
HR_MAX_UINT16_BPM: Final = 0xFFFF
# Energy expended is cumulative kJ since the last reset; once it reaches 0xFFFF it stays there (HRS §3.1.1.3),
# so 0xFFFF means "at least 65535 kJ" and is not an increment.
ENERGY_EXPENDED_SATURATED_KJ: Final = 0xFFFF
# HRS §3.1.1.3 recommends sending EE "once every 10 measurements at a regular interval" [verify]; the
# simulator follows it so decoders meet both forms.
ENERGY_EXPENDED_EVERY_N_NOTIFICATIONS: Final = 10
HR_CONTROL_POINT_RESET_ENERGY_EXPENDED: Final = 0x01  # the only defined value; others get ATT error 0x80
ATT_ERROR_CONTROL_POINT_NOT_SUPPORTED: Final = 0x80

# --- ATT ---
DEFAULT_ATT_MTU: Final = 23  # the minimum ATT_MTU every LE link starts with
ATT_NOTIFICATION_HEADER_BYTES: Final = 3  # opcode (1) + attribute handle (2): payload ≤ MTU - 3
POLAR_PREFERRED_MTU: Final = 512  # ConnectionHandler.POLAR_PREFERRED_MTU; H10 ECG frames are ~229 B

# --- Battery Level 0x2A19 ---
BATTERY_LEVEL_MAX_PCT: Final = 100

# --- Polar PMD ---
POLAR_EPOCH_UNIX_NS: Final = 946_684_800_000_000_000  # 2000-01-01T00:00:00Z in Unix ns
# An H10 whose time was never set restarts its clock at 2019-01-01T00:00:00Z (in Polar-epoch ns) on shutdown
# (TimeSystemExplained.md); the simulator uses it as the default device clock origin.
H10_CLOCK_RESET_POLAR_NS: Final = 599_616_000_000_000_000

PMD_FRAME_HEADER_BYTES: Final = 10  # type (1) + timestamp uint64 (8) + frame type (1)
PMD_MEASUREMENT_TYPE_MASK: Final = 0x3F  # the top bits of byte 0 are not part of the type (PmdMeasurementType.fromId)
PMD_FRAME_COMPRESSED_BIT: Final = 0x80  # byte 9 bit7: delta-compressed payload
PMD_FRAME_TYPE_MASK: Final = 0x7F
PMD_RECORDING_TYPE_SHIFT: Final = 7  # type byte in CP commands = measurement type | (recording type << 7)

PMD_CP_RESPONSE_CODE: Final = 0xF0  # first byte of every CP response indication
PMD_CP_FEATURES_CODE: Final = 0x0F  # first byte of the CP read value (feature bitmap)
PMD_CP_ONLINE_MEASUREMENT_STOPPED: Final = 0x01  # unsolicited CP indication: device stopped these types

PMD_OP_GET_MEASUREMENT_SETTINGS: Final = 0x01
PMD_OP_START_MEASUREMENT: Final = 0x02
PMD_OP_STOP_MEASUREMENT: Final = 0x03

PMD_SETTING_SAMPLE_RATE: Final = 0  # uint16 Hz
PMD_SETTING_RESOLUTION: Final = 1  # uint16 bits
PMD_SETTING_RANGE: Final = 2  # uint16 G (ACC) or unit of the measurement
PMD_SETTING_RANGE_MILLIUNIT: Final = 3  # uint32 (PmdSetting.kt typeToFieldSize)
PMD_SETTING_CHANNELS: Final = 4  # uint8
PMD_SETTING_FACTOR: Final = 5  # float32, device to host only; multiplies delta-compressed values
PMD_SETTING_SECURITY: Final = 6  # 16 B key

# H10 streams (BLE.md §2): ECG 130 Hz int24 µV; ACC 200 Hz int16 mG at ±8 G.
H10_ECG_SAMPLE_RATE_HZ: Final = 130
H10_ECG_RESOLUTION_BITS: Final = 14
H10_ECG_SAMPLES_PER_FRAME: Final = 73  # what an H10 sends per notification with a large MTU
H10_ECG_RANGE_UV: Final = 20_000  # ±20 000 µV dynamic range (H10_ECG_Explained.docx)
H10_ACC_SAMPLE_RATE_HZ: Final = 200
H10_ACC_RESOLUTION_BITS: Final = 16
H10_ACC_RANGE_G: Final = 8
ECG_SAMPLE_BYTES: Final = 3  # ECG frame type 0: int24 little-endian per sample
ACC_CHANNELS: Final = 3  # x, y, z
