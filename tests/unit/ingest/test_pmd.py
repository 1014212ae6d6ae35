"""Polar PMD decoders and command builders against hand-derived vectors (/work/shared/BLE.md §2).

Data frame layout: [0] measurement type (& 0x3F); [1..8] uint64 LE timestamp, ns since 2000-01-01 (Polar epoch),
of the last sample; [9] frame type (bit7 = delta-compressed); [10..] payload. The timestamp used in most vectors is
1 000 000 000 ns = 0x3B9ACA00, little-endian 00 CA 9A 3B 00 00 00 00 (written TS below).
"""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import const, errors
from ingest.encode import pmd_stop_command
from ingest.gatt import (
    pmd_get_settings_command,
    pmd_start_acc_command,
    pmd_start_ecg_command,
    pmd_stop_acc_command,
    pmd_stop_ecg_command,
)
from ingest.pmd import (
    PmdControlPointResponse,
    PmdMeasurementStopped,
    PmdMeasurementType,
    PmdSettings,
    parse_pmd_control_point_response,
    parse_pmd_features,
    parse_pmd_frame,
    parse_pmd_settings,
    polar_to_unix_ns,
    unix_to_polar_ns,
)

TS = "00 CA 9A 3B 00 00 00 00"


def frame(hex_bytes: str) -> bytes:
    return bytes.fromhex(hex_bytes.replace("TS", TS))


# --- ECG ------------------------------------------------------------------------------------------------------


def test_ecg_frame_int24_samples() -> None:
    # 00 = ECG; TS; 00 = frame type 0, raw; then int24 LE samples:
    #   00 00 00 = 0;  FF FF FF = -1;  E8 03 00 = 0x0003E8 = 1000;
    #   E0 B1 FF = 0xFFB1E0 = 16757216 - 2^24 = -20000 (the H10's range limit)
    f = parse_pmd_frame(frame("00 TS 00  00 00 00  FF FF FF  E8 03 00  E0 B1 FF"))
    assert f.measurement_type is PmdMeasurementType.ECG
    assert (f.frame_type, f.compressed, f.timestamp_ns) == (0, False, 1_000_000_000)
    assert f.samples == (0, -1, 1000, -20000)


def test_ecg_int24_extremes() -> None:
    # FF FF 7F = 0x7FFFFF = 8388607 (int24 max); 00 00 80 = 0x800000 -> -8388608 (int24 min)
    assert parse_pmd_frame(frame("00 TS 00 FF FF 7F 00 00 80")).samples == (8_388_607, -8_388_608)


def test_measurement_type_ignores_top_bits() -> None:
    # 0x80 & 0x3F = 0: still ECG (PmdMeasurementType.fromId masks with 0x3F)
    assert parse_pmd_frame(frame("80 TS 00 01 00 00")).measurement_type is PmdMeasurementType.ECG


def test_timestamp_is_exact_beyond_2_to_53() -> None:
    # FF FF FF FF FF FF FF 0F = 0x0FFFFFFFFFFFFFFF = 1152921504606846975, which a double cannot hold exactly.
    f = parse_pmd_frame(frame("00 FF FF FF FF FF FF FF 0F 00 01 00 00"))
    assert f.timestamp_ns == 1_152_921_504_606_846_975
    assert f.timestamp_ns != int(float(f.timestamp_ns))


def test_polar_epoch_conversion() -> None:
    # Polar epoch 2000-01-01T00:00:00Z = 946684800 s after the Unix epoch.
    assert polar_to_unix_ns(0) == 946_684_800_000_000_000
    # The H10 clock-reset value 2019-01-01T00:00:00Z: 1546300800 s Unix - 946684800 s = 599616000 s.
    assert polar_to_unix_ns(599_616_000_000_000_000) == 1_546_300_800_000_000_000
    assert unix_to_polar_ns(polar_to_unix_ns(123)) == 123
    assert parse_pmd_frame(frame("00 TS 00 01 00 00")).unix_timestamp_ns == 946_684_801_000_000_000


# --- ACC raw --------------------------------------------------------------------------------------------------


def test_acc_raw_int16() -> None:
    # 02 = ACC; TS; 01 = frame type 1 (int16 x, y, z in mG):
    #   64 00 = 100; 38 FF = 0xFF38 = 65336 - 65536 = -200; E8 03 = 1000   -> (100, -200, 1000)
    #   00 00 = 0;   01 00 = 1;  FF FF = -1                                  -> (0, 1, -1)
    f = parse_pmd_frame(frame("02 TS 01  64 00 38 FF E8 03  00 00 01 00 FF FF"))
    assert f.measurement_type is PmdMeasurementType.ACC
    assert f.samples == ((100, -200, 1000), (0, 1, -1))


def test_acc_raw_int8_and_int24() -> None:
    # frame type 0: int8 -> 01 = 1, FF = -1, 7F = 127
    assert parse_pmd_frame(frame("02 TS 00 01 FF 7F")).samples == ((1, -1, 127),)
    # frame type 2: int24 -> 01 00 00 = 1, FF FF FF = -1, 00 00 80 = -8388608
    assert parse_pmd_frame(frame("02 TS 02 01 00 00 FF FF FF 00 00 80")).samples == ((1, -1, -8_388_608),)


# --- ACC delta-compressed: vector pmd-acc-delta-6bit-lsb-first ---------------------------------------------------
#
# Reference sample (int16 LE): x = 100 (64 00), y = -200 (38 FF), z = 1000 (E8 03).
# One block: delta_bits = 6, count = 2 -> 2 samples x 3 channels x 6 bits = 36 bits -> 5 bytes.
# Deltas: sample 1 (+1, -2, +3), sample 2 (-4, +5, -6); in 6-bit two's complement
#   +1 = 000001, -2 = 111110, +3 = 000011, -4 = 111100, +5 = 000101, -6 = 111010.
# LSB-first packing: stream bit i is bit (i % 8) of byte (i // 8); each value contributes its bits from bit 0 up:
#   bits  0- 5: 1 0 0 0 0 0   (+1)        bits 18-23: 0 0 1 1 1 1   (-4)
#   bits  6-11: 0 1 1 1 1 1   (-2)        bits 24-29: 1 0 1 0 0 0   (+5)
#   bits 12-17: 1 1 0 0 0 0   (+3)        bits 30-35: 0 1 0 1 1 1   (-6)
#   byte 0 = bits 0-7   = b0 1, b7 1                   -> 1000 0001 = 0x81
#   byte 1 = bits 8-15  = 1 1 1 1 1 1 0 0 (b0..b7)     -> 0011 1111 = 0x3F
#   byte 2 = bits 16-23 = 0 0 0 0 1 1 1 1              -> 1111 0000 = 0xF0
#   byte 3 = bits 24-31 = 1 0 1 0 0 0 0 1              -> 1000 0101 = 0x85
#   byte 4 = bits 32-35 = 0 1 1 1 (+ 4 padding zeros)  -> 0000 1110 = 0x0E
# Samples = running sums: (100, -200, 1000), (101, -202, 1003), (97, -197, 997).
# An MSB-first reader (bleakheart's f'{byte:08b}') takes the first 6 bits of 0x81 = 10000001 as 100000 = -32
# instead of +1, so this vector tells the two bit orders apart.
PMD_ACC_DELTA_6BIT_LSB_FIRST = "02 TS 81  64 00 38 FF E8 03  06 02  81 3F F0 85 0E"
EXPECTED_6BIT = ((100, -200, 1000), (101, -202, 1003), (97, -197, 997))


def test_pmd_acc_delta_6bit_lsb_first() -> None:
    f = parse_pmd_frame(frame(PMD_ACC_DELTA_6BIT_LSB_FIRST))
    assert (f.frame_type, f.compressed) == (1, True)
    assert f.samples == EXPECTED_6BIT


def test_msb_first_reading_would_differ() -> None:
    block = bytes.fromhex("81 3F F0 85 0E")
    bits = "".join(f"{b:08b}" for b in block)  # the MSB-first reading
    first = int(bits[:6], 2)
    first_signed = first - 64 if first & 0x20 else first
    assert first_signed == -32
    assert parse_pmd_frame(frame(PMD_ACC_DELTA_6BIT_LSB_FIRST)).samples[1][0] - 100 == 1


def test_delta_several_blocks_and_widths() -> None:
    # ref (0, 0, 0); block 1: 1 bit x 1 sample: deltas (-1, 0, -1) -> bits 1,0,1 -> 0000 0101 = 0x05
    # block 2: 8 bits x 1 sample: deltas (+127, -128, +1) -> 7F 80 01 (8-bit fields are whole bytes)
    f = parse_pmd_frame(frame("02 TS 81  00 00 00 00 00 00  01 01 05  08 01 7F 80 01"))
    assert f.samples == ((0, 0, 0), (-1, 0, -1), (126, -128, 0))


def test_delta_factor_is_applied_and_truncates_toward_zero() -> None:
    # factor 0.5: 101 * 0.5 = 50.5 -> 50, -197 * 0.5 = -98.5 -> -98 (Kotlin toInt() truncates)
    f = parse_pmd_frame(frame(PMD_ACC_DELTA_6BIT_LSB_FIRST), acc_factor=0.5)
    assert f.samples == ((50, -100, 500), (50, -101, 501), (48, -98, 498))


# --- malformed frames -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_bytes", "error", "fragment"),
    [
        ("", errors.EmptyPayloadError, "empty payload"),
        ("00 01 02", errors.TruncatedFieldError, "'timestamp'"),
        ("00 TS", errors.TruncatedFieldError, "'frame type'"),
        ("04 TS 00 00 00 00", errors.UnknownMeasurementTypeError, "unknown measurement type 4"),
        ("3F TS 00 00 00 00", errors.UnknownMeasurementTypeError, "unknown measurement type 63"),
        ("01 TS 00 00 00 00", errors.UnsupportedFrameError, "PPG frames are not decoded"),
        ("00 TS 80 00 00 00", errors.UnsupportedFrameError, "compressed ECG"),
        ("00 TS 01 00 00 00", errors.UnsupportedFrameError, "ECG frame type 1 is not supported"),
        ("00 TS 00", errors.SampleLengthError, "ECG frame carries no samples"),
        ("00 TS 00 01 02", errors.SampleLengthError, "ECG payload of 2 B is not a multiple of 3"),
        ("00 TS 00 01 02 03 04", errors.SampleLengthError, "ECG payload of 4 B is not a multiple of 3"),
        ("02 TS 03 00 00 00", errors.UnsupportedFrameError, "ACC frame type 3 is not supported"),
        ("02 TS 80 00 00 00", errors.UnsupportedFrameError, "compressed ACC frame type 0"),
        ("02 TS 01", errors.SampleLengthError, "ACC frame carries no samples"),
        ("02 TS 01 00 00 00 00", errors.SampleLengthError, "ACC payload of 4 B is not a multiple of 6"),
        ("02 TS 81 64 00 38", errors.DeltaFrameError, "reference sample needs 6 B, only 3 B present"),
        ("02 TS 81 64 00 38 FF E8 03 06", errors.DeltaFrameError, "delta block header at byte 6 is cut short"),
        ("02 TS 81 64 00 38 FF E8 03 06 02 81 3F", errors.DeltaFrameError, "needs 5 B, only 2 B present"),
        ("02 TS 81 64 00 38 FF E8 03 21 01 00", errors.DeltaFrameError, "delta width 33 bits exceeds 32"),
    ],
)
def test_malformed_frames(hex_bytes: str, error: type[errors.MalformedPayloadError], fragment: str) -> None:
    with pytest.raises(error) as info:
        parse_pmd_frame(frame(hex_bytes))
    assert fragment in str(info.value)
    assert str(info.value).startswith("malformed PMD data frame")
    assert isinstance(info.value, ValueError)


payload_strategy = st.one_of(
    st.binary(max_size=80),
    st.builds(
        lambda t, ts, ft, body: bytes((t,)) + struct.pack("<Q", ts) + bytes((ft,)) + body,
        st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x04, 0x3F, 0x80, 0x82]),
        st.integers(0, 2**64 - 1),
        st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x80, 0x81, 0x82]),
        st.binary(max_size=60),
    ),
)


@given(payload_strategy)
def test_frame_decoder_raises_only_documented_errors(payload: bytes) -> None:
    try:
        f = parse_pmd_frame(payload)
    except errors.MalformedPayloadError:
        return
    assert f.measurement_type in (PmdMeasurementType.ECG, PmdMeasurementType.ACC)
    assert len(f.samples) > 0


@given(st.binary(max_size=40))
def test_control_point_decoders_raise_only_documented_errors(payload: bytes) -> None:
    for parse in (parse_pmd_control_point_response, parse_pmd_features, parse_pmd_settings):
        with contextlib.suppress(errors.MalformedPayloadError):
            parse(payload)


# --- control point: features, responses, stop indication, settings ---------------------------------------------


def test_features_of_an_h10() -> None:
    # 0F = feature read; 05 = 0000 0101 = bit0 ECG + bit2 ACC; 00
    f = parse_pmd_features(bytes.fromhex("0F 05 00"))
    assert f.measurement_types == {PmdMeasurementType.ECG, PmdMeasurementType.ACC}
    assert f.supports(PmdMeasurementType.ECG)
    assert not f.supports(PmdMeasurementType.PPG)


def test_features_every_bit() -> None:
    # b1 = FF: ECG, PPG, ACC, PPI, (bit4 unused), GYRO, MAG, SKIN_TEMP; b2 = 7E: bits 1-6 = SDK_MODE, LOCATION,
    # PRESSURE, TEMPERATURE, OFFLINE_RECORDING, OFFLINE_HR
    f = parse_pmd_features(bytes.fromhex("0F FF 7E"))
    assert f.measurement_types == set(PmdMeasurementType) - {PmdMeasurementType.OFFLINE_TEMP}


@pytest.mark.parametrize(
    ("hex_bytes", "error", "fragment"),
    [
        ("", errors.EmptyPayloadError, "empty"),
        ("0F 05", errors.TruncatedFieldError, "'feature bitmap'"),
        ("F0 05 00", errors.UnexpectedOpcodeError, "must start with 0x0F, got 0xF0"),
    ],
)
def test_features_malformed(hex_bytes: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        parse_pmd_features(bytes.fromhex(hex_bytes))


def test_start_response_ok() -> None:
    # F0 = response; 02 = START; 00 = ECG; 00 = SUCCESS; 00 = no more
    r = parse_pmd_control_point_response(bytes.fromhex("F0 02 00 00 00"))
    assert r == PmdControlPointResponse(2, 0, PmdMeasurementType.ECG, 0, False, b"")
    assert r.ok
    assert r.status_name == "SUCCESS"


def test_start_response_with_factor() -> None:
    # ACC START OK with params: 05 = FACTOR, 01 = one value, 00 00 80 3F = float32 1.0 (0x3F800000 LE)
    r = parse_pmd_control_point_response(bytes.fromhex("F0 02 02 00 00 05 01 00 00 80 3F"))
    assert isinstance(r, PmdControlPointResponse)
    assert r.measurement_type is PmdMeasurementType.ACC
    assert r.parameters == bytes.fromhex("05 01 00 00 80 3F")
    assert parse_pmd_settings(r.parameters).factor == 1.0


def test_error_response_invalid_mtu() -> None:
    # status 0A = 10 = INVALID_MTU; error responses carry no "more" byte or parameters (trailing bytes ignored)
    for hex_bytes in ("F0 02 00 0A", "F0 02 00 0A 01 FF"):
        r = parse_pmd_control_point_response(bytes.fromhex(hex_bytes))
        assert isinstance(r, PmdControlPointResponse)
        assert (r.ok, r.status, r.status_name, r.more, r.parameters) == (False, 10, "INVALID_MTU", False, b"")


def test_response_unknown_status_and_type_are_kept() -> None:
    # status 0x12 = 18 (not in the SDK enum) and type 0x3E = 62 (unknown): kept raw, not an error
    r = parse_pmd_control_point_response(bytes.fromhex("F0 02 3E 12"))
    assert isinstance(r, PmdControlPointResponse)
    assert (r.type_byte, r.measurement_type, r.status_name) == (0x3E, None, "UNKNOWN_18")


def test_get_settings_response_of_h10_ecg() -> None:
    # F0 01 00 00 00 = GET_MEASUREMENT_SETTINGS, ECG, SUCCESS, no more; settings TLVs:
    # 00 01 82 00 = SAMPLE_RATE x1 = 0x0082 = 130 Hz; 01 01 0E 00 = RESOLUTION x1 = 14 bit
    r = parse_pmd_control_point_response(bytes.fromhex("F0 01 00 00 00 00 01 82 00 01 01 0E 00"))
    assert isinstance(r, PmdControlPointResponse)
    assert parse_pmd_settings(r.parameters) == PmdSettings(sample_rates_hz=(130,), resolutions_bits=(14,))


def test_settings_with_several_values() -> None:
    # 00 04 19 00 32 00 64 00 C8 00 = rates 25, 50, 100, 200; 01 01 10 00 = 16 bit;
    # 02 03 02 00 04 00 08 00 = ranges 2, 4, 8 G; 04 01 03 = 3 channels
    s = parse_pmd_settings(bytes.fromhex("00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00 04 01 03"))
    assert s == PmdSettings(sample_rates_hz=(25, 50, 100, 200), resolutions_bits=(16,), ranges=(2, 4, 8), channels=(3,))


@pytest.mark.parametrize(
    ("hex_bytes", "error", "fragment"),
    [
        ("07 01 00", errors.SettingsError, "unknown setting type 7 at byte 0"),
        ("00", errors.TruncatedFieldError, "'count of setting 0'"),
        ("00 02 82 00 41", errors.TruncatedFieldError, "'values of setting 0': needs 4 B, only 3 B left"),
    ],
)
def test_settings_malformed(hex_bytes: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        parse_pmd_settings(bytes.fromhex(hex_bytes))


def test_online_measurement_stopped() -> None:
    # 01 = ONLINE_MEASUREMENT_STOPPED (device-initiated); 00 = ECG, 02 = ACC
    assert parse_pmd_control_point_response(bytes.fromhex("01 00 02")) == PmdMeasurementStopped(
        (PmdMeasurementType.ECG, PmdMeasurementType.ACC)
    )
    assert parse_pmd_control_point_response(b"\x01") == PmdMeasurementStopped(())


@pytest.mark.parametrize(
    ("hex_bytes", "error", "fragment"),
    [
        ("", errors.EmptyPayloadError, "empty"),
        ("F0", errors.TruncatedFieldError, "'op code'"),
        ("F0 02", errors.TruncatedFieldError, "'measurement type'"),
        ("F0 02 00", errors.TruncatedFieldError, "'status'"),
        ("0F 05 00", errors.UnexpectedOpcodeError, "first byte 0x0F is neither a response"),
        ("01 3F", errors.UnknownMeasurementTypeError, "unknown measurement type 63"),
    ],
)
def test_control_point_malformed(hex_bytes: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        parse_pmd_control_point_response(bytes.fromhex(hex_bytes))


# --- commands -----------------------------------------------------------------------------------------------------


def test_start_commands_match_the_h10_bytes() -> None:
    # ECG: 02 START, 00 ECG; 00 01 82 00 = SAMPLE_RATE x1 130; 01 01 0E 00 = RESOLUTION x1 14
    assert pmd_start_ecg_command() == bytes.fromhex("02 00 00 01 82 00 01 01 0E 00")
    # ACC: 02 START, 02 ACC; rate C8 00 = 200; resolution 10 00 = 16; 02 01 08 00 = RANGE x1 8 G
    assert pmd_start_acc_command() == bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")


def test_stop_and_settings_commands() -> None:
    assert pmd_stop_ecg_command() == bytes.fromhex("03 00")
    assert pmd_stop_acc_command() == bytes.fromhex("03 02")
    assert pmd_stop_command(PmdMeasurementType.PPG) == bytes.fromhex("03 01")
    assert pmd_get_settings_command(PmdMeasurementType.ECG) == bytes.fromhex("01 00")
    assert pmd_get_settings_command(PmdMeasurementType.ACC) == bytes.fromhex("01 02")


def test_uuids() -> None:
    assert const.PMD_SERVICE_UUID == "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
    assert const.BLUETOOTH_BASE_UUID_TEMPLATE.format(0x2A37) == const.HEART_RATE_MEASUREMENT_UUID
    assert const.BLUETOOTH_BASE_UUID_TEMPLATE.format(0x2A19) == const.BATTERY_LEVEL_UUID
