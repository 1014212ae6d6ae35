"""The binary COPY encoders refuse what PostgreSQL would refuse and pack the documented layouts."""

from __future__ import annotations

import struct

import pytest

from services.sink.binary import (
    INT2_RANGE,
    MAX_NS,
    PG_EPOCH_S,
    check_float4,
    check_int,
    float4_array,
    timestamptz_ns,
    timestamptz_s,
)


def test_timestamps_count_microseconds_from_2000() -> None:
    assert timestamptz_s(PG_EPOCH_S) == bytes(8)
    assert struct.unpack(">q", timestamptz_s(PG_EPOCH_S + 1))[0] == 1_000_000
    assert struct.unpack(">q", timestamptz_s(0))[0] == -PG_EPOCH_S * 1_000_000
    # nanoseconds round to the nearest microsecond, as PostgreSQL stores them
    assert struct.unpack(">q", timestamptz_ns(PG_EPOCH_S * 10**9 + 1_499))[0] == 1
    assert struct.unpack(">q", timestamptz_ns(PG_EPOCH_S * 10**9 + 1_500))[0] == 2


@pytest.mark.parametrize("ns", [-1, MAX_NS + 1])
def test_timestamps_outside_the_storable_range_are_refused(ns: int) -> None:
    with pytest.raises(ValueError, match="outside the storable range"):
        timestamptz_ns(ns)


def test_float4_range_is_checked_like_the_server() -> None:
    check_float4([0.0, 1.5, -3.4e38, 1e-30])
    with pytest.raises(ValueError, match="out of range for type real"):
        check_float4([1.0, 1e39])
    with pytest.raises(ValueError, match="underflow"):
        check_float4([1e-50])


def test_int_bounds_name_the_column() -> None:
    check_int(None, INT2_RANGE, "hr_bpm")
    check_int(32_767, INT2_RANGE, "hr_bpm")
    with pytest.raises(ValueError, match="hr_bpm 70000 is out of range"):
        check_int(70_000, INT2_RANGE, "hr_bpm")


def test_float4_array_layout() -> None:
    packed = float4_array([1.0, 2.5])
    ndim, has_nulls, oid, length, lower = struct.unpack_from(">iiiii", packed)
    assert (ndim, has_nulls, oid, length, lower) == (1, 0, 700, 2, 1)
    assert struct.unpack_from(">ifif", packed, 20) == (4, 1.0, 4, 2.5)
    assert struct.unpack(">iii", float4_array([])) == (0, 0, 700)
