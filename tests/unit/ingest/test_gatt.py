"""Heart Rate Measurement, Body Sensor Location, Battery Level and DIS decoders against hand-derived vectors.

Every vector below was written by hand from the layout in /work/shared/BLE.md §1 (HRS 1.0 §3.1):

    byte 0      flags: bit0 HR uint16, bits 2..1 contact (0x = unsupported, 10 = no contact, 11 = contact),
                bit3 energy expended present, bit4 RR present, bits 5-7 reserved
    next 1/2 B  HR (uint8 or uint16 LE)
    next 2 B    energy expended, uint16 LE kJ (when bit3)
    rest        RR intervals, uint16 LE in 1/1024 s, oldest first (when bit4)

and RR ms = raw * 1000 / 1024 (exact in binary floating point, since 1000/1024 = 0.9765625).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import errors
from ingest.gatt import (
    BodySensorLocation,
    HeartRateMeasurement,
    parse_battery_level,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
    parse_utf8_string,
    rr_1024_to_ms,
)


def hrm(hex_bytes: str) -> HeartRateMeasurement:
    return parse_heart_rate_measurement(bytes.fromhex(hex_bytes))


# --- HR format --------------------------------------------------------------------------------------------------


def test_uint8_hr_minimal() -> None:
    # 00 = flags: uint8, contact unsupported, no EE, no RR; 48 = 72 bpm
    m = hrm("00 48")
    assert m == HeartRateMeasurement(
        hr_bpm=72, sensor_contact=None, energy_expended_kj=None, rr_ms=(), hr_format_uint16=False, rr_1024=()
    )


def test_uint16_hr() -> None:
    # 01 = flags: uint16; 2C 01 = 0x012C = 300 bpm (LE: low byte first)
    m = hrm("01 2C 01")
    assert m.hr_bpm == 300
    assert m.hr_format_uint16 is True


def test_uint16_hr_with_every_field() -> None:
    # 1F = 0001 1111: uint16 (bit0), contact detected (bit1), contact supported (bit2), EE (bit3), RR (bit4)
    # 2C 01 = 300 bpm; 0A 00 = 10 kJ; 00 02 = 0x0200 = 512 -> 512 * 1000 / 1024 = 500.0 ms
    m = hrm("1F 2C 01 0A 00 00 02")
    assert m == HeartRateMeasurement(300, True, 10, (500.0,), True, (512,))


def test_zero_hr_is_decoded_not_rejected() -> None:
    # A strap without contact may send HR 0; judging it is signal quality's job, not the decoder's.
    assert hrm("04 00").hr_bpm == 0


# --- sensor contact: all four values of bits 2..1 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("00", None),  # bits 2..1 = 00: feature not supported
        ("02", None),  # bits 2..1 = 01: bit1 alone still means "not supported" (the bleakheart-style bug)
        ("04", False),  # bits 2..1 = 10: supported, no contact
        ("06", True),  # bits 2..1 = 11: supported, contact
    ],
)
def test_sensor_contact_bits(flags: str, expected: bool | None) -> None:
    m = hrm(f"{flags} 50")  # 0x50 = 80 bpm
    assert m.sensor_contact is expected
    assert m.sensor_contact_supported is (expected is not None)
    assert m.hr_bpm == 80


def test_reserved_flag_bits_are_ignored() -> None:
    # E0 = bits 5-7 set, everything else clear: decodes exactly like flags 00. 3C = 60 bpm.
    assert hrm("E0 3C") == hrm("00 3C")
    # F6 = reserved bits + RR + contact 11: 5A = 90 bpm, RR 00 04 = 1024 -> 1000.0 ms
    m = hrm("F6 5A 00 04")
    assert (m.hr_bpm, m.sensor_contact, m.rr_ms) == (90, True, (1000.0,))


# --- energy expended ------------------------------------------------------------------------------------------


def test_energy_expended() -> None:
    # 08 = EE present; 50 = 80 bpm; 34 12 = 0x1234 = 4660 kJ
    m = hrm("08 50 34 12")
    assert m.energy_expended_kj == 4660
    assert not m.energy_expended_saturated


def test_energy_expended_saturated() -> None:
    # FF FF = 65535 kJ: the field saturates there and stays (HRS §3.1.1.3), so it is flagged, not an increment.
    m = hrm("08 50 FF FF")
    assert m.energy_expended_kj == 0xFFFF
    assert m.energy_expended_saturated


def test_energy_expended_before_rr() -> None:
    # 18 = EE + RR; 46 = 70 bpm; EE 64 00 = 100 kJ; RR 80 03 = 0x0380 = 896 -> 875.0 ms (EE comes first)
    m = hrm("18 46 64 00 80 03")
    assert (m.energy_expended_kj, m.rr_1024, m.rr_ms) == (100, (896,), (875.0,))


# --- RR intervals ---------------------------------------------------------------------------------------------


def test_no_rr() -> None:
    assert hrm("06 48").rr_ms == ()


def test_one_rr() -> None:
    # 10 = RR present; 3C = 60 bpm; 00 04 = 0x0400 = 1024 -> exactly 1000.0 ms
    m = hrm("10 3C 00 04")
    assert m.rr_ms == (1000.0,)
    assert m.rr_1024 == (1024,)


def test_several_rr_keep_sub_millisecond_precision() -> None:
    # 16 = RR + contact 11; 4B = 75 bpm; RR 00 03 = 768 -> 750.0 ms; 1A 03 = 0x031A = 794 -> 775.390625 ms
    # (bleakheart would round the second one to 775; we keep the exact value)
    m = hrm("16 4B 00 03 1A 03")
    assert m.rr_ms == (750.0, 775.390625)
    assert m.rr_ms[1] != round(m.rr_ms[1])


def test_hrm_rr_12_large_mtu() -> None:
    # Vector hrm-rr-12-large-mtu: 12 RR values do not fit ATT_MTU 23 (at most 9) but do fit a larger MTU, so the
    # decoder must not cap the count. 10 = RR present; 46 = 70 bpm; RR raw = 0x0380 + i = 896..907 for i = 0..11,
    # i.e. 80 03, 81 03, ..., 8B 03. ms = 875 + i * 0.9765625.
    payload = "10 46 " + " ".join(f"{0x80 + i:02X} 03" for i in range(12))
    assert len(bytes.fromhex(payload)) == 2 + 24  # 26 B > 20 B, the payload limit at ATT_MTU 23
    m = hrm(payload)
    assert m.hr_bpm == 70
    assert m.rr_1024 == tuple(range(896, 908))
    assert m.rr_ms == (
        875.0,
        875.9765625,
        876.953125,
        877.9296875,
        878.90625,
        879.8828125,
        880.859375,
        881.8359375,
        882.8125,
        883.7890625,
        884.765625,
        885.7421875,
    )


def test_rr_conversion_helper() -> None:
    assert rr_1024_to_ms(1024) == 1000.0
    assert rr_1024_to_ms(1) == 0.9765625
    assert rr_1024_to_ms(0xFFFF) == 63999.0234375


# --- malformed payloads: each error names what is wrong ------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_bytes", "error", "fragment"),
    [
        ("", errors.EmptyPayloadError, "empty payload"),
        ("00", errors.TruncatedFieldError, "'heart rate (uint8)'"),
        ("01 3C", errors.TruncatedFieldError, "'heart rate (uint16)'"),
        ("08 3C 01", errors.TruncatedFieldError, "'energy expended'"),
        ("09 3C 00", errors.TruncatedFieldError, "'energy expended'"),
        ("10 3C", errors.MissingRrValueError, "RR-interval flag is set but no RR value follows"),
        ("18 3C 01 00", errors.MissingRrValueError, "no RR value follows"),
        ("10 3C 00 04 00", errors.OddRrByteCountError, "odd RR byte count 3"),
        ("10 3C 00", errors.OddRrByteCountError, "odd RR byte count 1"),
        ("00 3C 00", errors.TrailingBytesError, "1 unexpected byte(s)"),
    ],
)
def test_malformed_hrm(hex_bytes: str, error: type[errors.MalformedPayloadError], fragment: str) -> None:
    with pytest.raises(error) as info:
        hrm(hex_bytes)
    message = str(info.value)
    assert fragment in message
    assert message.startswith("malformed Heart Rate Measurement")
    assert isinstance(info.value, ValueError)
    assert info.value.retriable is False
    assert info.value.payload == bytes.fromhex(hex_bytes)


def test_truncated_error_carries_the_field() -> None:
    with pytest.raises(errors.TruncatedFieldError) as info:
        hrm("08 3C 01")
    assert (info.value.field, info.value.needed, info.value.available) == ("energy expended", 2, 1)


def test_bytearray_and_memoryview_are_accepted() -> None:
    raw = bytes.fromhex("16 4B 00 03 1A 03")
    assert parse_heart_rate_measurement(bytearray(raw)) == parse_heart_rate_measurement(memoryview(raw))


@given(st.binary(max_size=64))
def test_hrm_decoder_raises_only_documented_errors(payload: bytes) -> None:
    try:
        m = parse_heart_rate_measurement(payload)
    except errors.MalformedPayloadError:
        return
    assert 0 <= m.hr_bpm <= 0xFFFF
    assert len(m.rr_ms) == len(m.rr_1024)
    assert all(ms == raw * 1000 / 1024 for ms, raw in zip(m.rr_ms, m.rr_1024, strict=True))


# --- Body Sensor Location, Battery Level, DIS ---------------------------------------------------------------


def test_body_sensor_location() -> None:
    assert parse_body_sensor_location(b"\x01") is BodySensorLocation.CHEST
    assert parse_body_sensor_location(b"\x06") is BodySensorLocation.FOOT


@pytest.mark.parametrize(
    ("payload", "error", "fragment"),
    [
        (b"", errors.EmptyPayloadError, "empty payload"),
        (b"\x07", errors.ReservedValueError, "value 7 is reserved"),
        (b"\xff", errors.ReservedValueError, "value 255 is reserved"),
        (b"\x01\x00", errors.TrailingBytesError, "one byte, got 2 B"),
    ],
)
def test_body_sensor_location_malformed(payload: bytes, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        parse_body_sensor_location(payload)


def test_battery_level() -> None:
    assert parse_battery_level(b"\x00") == 0
    assert parse_battery_level(b"\x64") == 100  # 0x64 = 100 %
    with pytest.raises(errors.OutOfRangeError, match="level 101 % is above 100 %"):
        parse_battery_level(b"\x65")
    with pytest.raises(errors.EmptyPayloadError):
        parse_battery_level(b"")


@given(st.binary(max_size=4))
def test_single_byte_decoders_raise_only_documented_errors(payload: bytes) -> None:
    for parse in (parse_body_sensor_location, parse_battery_level, parse_utf8_string):
        with contextlib.suppress(errors.MalformedPayloadError):
            parse(payload)


def test_dis_string() -> None:
    assert parse_utf8_string(b"Polar H10\x00") == "Polar H10"
    with pytest.raises(errors.InvalidTextError, match="not UTF-8"):
        parse_utf8_string(b"\xff\xfe")
