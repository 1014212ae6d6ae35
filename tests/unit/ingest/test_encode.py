"""Encoders: hand-derived bytes, ATT_MTU limits, and property-based round trips through the decoders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import errors
from ingest.encode import (
    build_battery_level,
    build_body_sensor_location,
    build_heart_rate_measurement,
    build_pmd_acc_frame,
    build_pmd_control_point_response,
    build_pmd_ecg_frame,
    build_pmd_ecg_frames,
    build_pmd_features,
    build_pmd_measurement_stopped,
    build_pmd_settings_response,
    max_rr_per_notification,
    pack_deltas_lsb_first,
    rr_ms_to_1024,
    signed_bit_width,
    split_rr_intervals,
)
from ingest.gatt import (
    BodySensorLocation,
    parse_battery_level,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
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
)

# --- Heart Rate Measurement ---------------------------------------------------------------------------------------


def test_build_hrm_by_hand() -> None:
    # flags 16 = RR (bit4) + contact supported (bit2) + detected (bit1); 4B = 75; RR 768 = 00 03, 794 = 1A 03
    assert build_heart_rate_measurement(75, rr_1024=(768, 794), sensor_contact=True) == bytes.fromhex(
        "16 4B 00 03 1A 03"
    )
    # flags 0D = uint16 (bit0) + supported, no contact (bit2) + EE (bit3); 2C 01 = 300; EE 0A 00 = 10
    assert build_heart_rate_measurement(300, sensor_contact=False, energy_expended_kj=10, uint16=True) == (
        bytes.fromhex("0D 2C 01 0A 00")
    )
    assert build_heart_rate_measurement(60) == bytes.fromhex("00 3C")


def test_energy_expended_saturates() -> None:
    # 70000 kJ cannot be sent; the field saturates at FF FF
    assert build_heart_rate_measurement(80, energy_expended_kj=70_000) == bytes.fromhex("08 50 FF FF")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"hr_bpm": 256}, "does not fit the uint8 format"),
        ({"hr_bpm": -1}, "does not fit"),
        ({"hr_bpm": 65536, "uint16": True}, "does not fit the uint16 format"),
        ({"hr_bpm": 60, "rr_1024": (70_000,)}, "does not fit a uint16"),
        ({"hr_bpm": 60, "energy_expended_kj": -1}, "is negative"),
    ],
)
def test_build_hrm_rejects(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(errors.EncodeError, match=fragment):
        build_heart_rate_measurement(**kwargs)  # type: ignore[arg-type]


def test_rr_ms_to_1024_rounds_to_nearest() -> None:
    assert rr_ms_to_1024(1000.0) == 1024
    assert rr_ms_to_1024(875.0) == 896
    # 800 ms = 819.2 units -> 819; 800.3 ms = 819.5072 -> 820; half a unit (0.48828125 ms) rounds up
    assert rr_ms_to_1024(800.0) == 819
    assert rr_ms_to_1024(800.3) == 820
    assert rr_ms_to_1024(0.48828125) == 1
    with pytest.raises(errors.EncodeError, match="exceeds the uint16"):
        rr_ms_to_1024(64_000.0)
    with pytest.raises(errors.EncodeError, match="non-negative finite"):
        rr_ms_to_1024(float("nan"))


@pytest.mark.parametrize(
    ("uint16", "with_energy", "expected"),
    # ATT_MTU 23 -> 20 B payload. UINT8: 20 - 2 = 18 B = 9 RR; with EE 16 B = 8. UINT16: 17 B -> 8; with EE 15 -> 7.
    [(False, False, 9), (False, True, 8), (True, False, 8), (True, True, 7)],
)
def test_max_rr_per_notification_at_mtu_23(uint16: bool, with_energy: bool, expected: int) -> None:
    assert max_rr_per_notification(23, uint16, with_energy) == expected


def test_max_rr_grows_with_mtu_and_rejects_small_mtu() -> None:
    # MTU 247: 244 B payload - 2 = 242 B = 121 RR
    assert max_rr_per_notification(247) == 121
    with pytest.raises(errors.EncodeError, match="below the minimum"):
        max_rr_per_notification(22)


def test_split_rr_intervals() -> None:
    rr = list(range(900, 920))  # 20 values
    chunks = split_rr_intervals(rr, mtu=23, with_energy=True)
    assert [len(c) for c in chunks] == [8, 9, 3]  # first carries EE, the others do not
    assert [v for c in chunks for v in c] == rr
    assert split_rr_intervals([]) == [()]
    for chunk in split_rr_intervals(rr, uint16=True):
        assert len(build_heart_rate_measurement(70, rr_1024=chunk, uint16=True)) <= 20


@given(
    hr=st.integers(0, 255),
    rr=st.lists(st.integers(0, 0xFFFF), max_size=40),
    contact=st.sampled_from([None, False, True]),
    energy=st.none() | st.integers(0, 0xFFFF),
)
def test_hrm_round_trip_uint8(hr: int, rr: list[int], contact: bool | None, energy: int | None) -> None:
    m = parse_heart_rate_measurement(
        build_heart_rate_measurement(hr, rr_1024=rr, sensor_contact=contact, energy_expended_kj=energy)
    )
    assert (m.hr_bpm, m.rr_1024, m.sensor_contact, m.energy_expended_kj, m.hr_format_uint16) == (
        hr,
        tuple(rr),
        contact,
        energy,
        False,
    )


@given(hr=st.integers(0, 0xFFFF), rr_ms=st.lists(st.floats(0.0, 63_999.0), max_size=12))
def test_hrm_round_trip_uint16_from_ms(hr: int, rr_ms: list[float]) -> None:
    raw = [rr_ms_to_1024(v) for v in rr_ms]
    m = parse_heart_rate_measurement(build_heart_rate_measurement(hr, rr_1024=raw, uint16=True))
    assert m.hr_bpm == hr
    # rounding to the nearest 1/1024 s is off by at most half a unit
    assert all(abs(a - b) <= 1000 / 2048 for a, b in zip(m.rr_ms, rr_ms, strict=True))


# --- BSL, battery ---------------------------------------------------------------------------------------------------


def test_bsl_and_battery() -> None:
    assert parse_body_sensor_location(build_body_sensor_location(1)) is BodySensorLocation.CHEST
    assert parse_battery_level(build_battery_level(42)) == 42
    with pytest.raises(errors.EncodeError):
        build_battery_level(101)
    with pytest.raises(errors.EncodeError):
        build_body_sensor_location(256)


# --- PMD frames -----------------------------------------------------------------------------------------------------


def test_build_ecg_frame_by_hand() -> None:
    # 00 ECG; 00 CA 9A 3B 00.. = 1e9 ns; 00 raw; 1000 = E8 03 00; -1 = FF FF FF
    assert build_pmd_ecg_frame(1_000_000_000, [1000, -1]) == bytes.fromhex("00 00CA9A3B00000000 00 E80300 FFFFFF")
    with pytest.raises(errors.EncodeError, match="int24"):
        build_pmd_ecg_frame(0, [1 << 23])


def test_vectorised_ecg_frames_match_single_frames() -> None:
    rng = np.random.default_rng(5)
    samples = rng.integers(-20_000, 20_000, size=(4, 73))
    stamps = np.array([1, 2**60, 599_616_000_000_000_000, 7], dtype=np.uint64)
    frames = build_pmd_ecg_frames(stamps, samples)
    for stamp, row, built in zip(stamps.tolist(), samples.tolist(), frames, strict=True):
        assert built == build_pmd_ecg_frame(stamp, row)
        assert parse_pmd_frame(built).samples == tuple(row)


def test_build_acc_frames_reproduce_the_6bit_vector() -> None:
    samples = [(100, -200, 1000), (101, -202, 1003), (97, -197, 997)]
    built = build_pmd_acc_frame(1_000_000_000, samples, compressed=True, delta_bits=6)
    assert built == bytes.fromhex("02 00CA9A3B00000000 81 6400 38FF E803 0602 813FF0850E")
    # without a forced width the encoder picks the smallest that fits (|-6| needs 4 bits)
    assert build_pmd_acc_frame(0, samples, compressed=True)[16] == 4
    assert build_pmd_acc_frame(0, samples) == bytes.fromhex(
        "02 0000000000000000 01 6400 38FF E803 6500 36FF EB03 6100 3BFF E503"
    )


def test_pack_deltas_and_widths() -> None:
    assert pack_deltas_lsb_first([1, -2, 3, -4, 5, -6], 6) == bytes.fromhex("81 3F F0 85 0E")
    assert [signed_bit_width([v]) for v in (0, -1, 1, -2, 2, 127, -128, 128)] == [1, 1, 2, 2, 3, 8, 8, 9]
    with pytest.raises(errors.EncodeError, match="does not fit 3 signed bits"):
        pack_deltas_lsb_first([4], 3)


acc_samples = st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=40)


@given(samples=acc_samples, block=st.integers(1, 255), ts=st.integers(0, 2**64 - 1))
def test_acc_delta_round_trip(samples: list[tuple[int, int, int]], block: int, ts: int) -> None:
    f = parse_pmd_frame(build_pmd_acc_frame(ts, samples, compressed=True, samples_per_block=block))
    assert (f.timestamp_ns, f.compressed, f.samples) == (ts, True, tuple(samples))


@given(samples=acc_samples)
def test_acc_raw_round_trip(samples: list[tuple[int, int, int]]) -> None:
    assert parse_pmd_frame(build_pmd_acc_frame(5, samples)).samples == tuple(samples)


@given(samples=st.lists(st.integers(-(1 << 23), (1 << 23) - 1), min_size=1, max_size=80), ts=st.integers(0, 2**64 - 1))
def test_ecg_round_trip(samples: list[int], ts: int) -> None:
    f = parse_pmd_frame(build_pmd_ecg_frame(ts, samples))
    assert (f.measurement_type, f.timestamp_ns, f.samples) == (PmdMeasurementType.ECG, ts, tuple(samples))


# --- PMD control point ----------------------------------------------------------------------------------------------


def test_control_point_builders_round_trip() -> None:
    assert build_pmd_features([PmdMeasurementType.ECG, PmdMeasurementType.ACC]) == bytes.fromhex("0F 05 00")
    assert parse_pmd_features(build_pmd_features(list(PmdMeasurementType)[:5])).measurement_types == set(
        list(PmdMeasurementType)[:5]
    )
    ok = build_pmd_control_point_response(2, PmdMeasurementType.ECG)
    assert ok == bytes.fromhex("F0 02 00 00 00")
    err = build_pmd_control_point_response(2, PmdMeasurementType.ECG, 10)
    assert err == bytes.fromhex("F0 02 00 0A")
    assert parse_pmd_control_point_response(err) == PmdControlPointResponse(
        2, 0, PmdMeasurementType.ECG, 10, False, b""
    )
    stopped = build_pmd_measurement_stopped([PmdMeasurementType.ECG])
    assert stopped == bytes.fromhex("01 00")
    assert parse_pmd_control_point_response(stopped) == PmdMeasurementStopped((PmdMeasurementType.ECG,))


@given(st.sets(st.sampled_from([t for t in PmdMeasurementType if t is not PmdMeasurementType.OFFLINE_TEMP])))
def test_features_round_trip(types: set[PmdMeasurementType]) -> None:
    assert parse_pmd_features(build_pmd_features(types)).measurement_types == types


@given(
    op=st.integers(1, 9),
    measurement=st.sampled_from(list(PmdMeasurementType)),
    status=st.integers(0, 14),
    more=st.booleans(),
    params=st.binary(max_size=20),
)
def test_control_point_response_round_trip(
    op: int, measurement: PmdMeasurementType, status: int, more: bool, params: bytes
) -> None:
    parsed = parse_pmd_control_point_response(
        build_pmd_control_point_response(op, measurement, status, more=more, parameters=params)
    )
    ok = status == 0
    assert parsed == PmdControlPointResponse(
        op, int(measurement), measurement, status, more and ok, params if ok else b""
    )


def test_settings_response_round_trip() -> None:
    params = build_pmd_settings_response(sample_rates_hz=(130,), resolutions_bits=(14,))
    assert params == bytes.fromhex("00 01 82 00 01 01 0E 00")
    full = build_pmd_settings_response(sample_rates_hz=(25, 200), ranges=(2, 8), channels=(3,), factor=0.5)
    assert parse_pmd_settings(full) == PmdSettings(sample_rates_hz=(25, 200), ranges=(2, 8), channels=(3,), factor=0.5)
    response = build_pmd_control_point_response(1, PmdMeasurementType.ECG, parameters=params)
    parsed = parse_pmd_control_point_response(response)
    assert isinstance(parsed, PmdControlPointResponse)
    assert parse_pmd_settings(parsed.parameters).sample_rates_hz == (130,)
