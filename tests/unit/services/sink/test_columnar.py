"""The columnar encoder refuses exactly what the text path's server would refuse, names the column and the value,
and writes a complete binary COPY payload of the rows it keeps."""

from __future__ import annotations

import struct

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.events import FeaturesV1
from ingest.events import SensorHrV1
from services.sink.columnar import MAX_NS, MAX_S, Column, ColumnarCopy
from services.sink.tables import FEATURES, SENSOR_HR
from tests.integration.services import events_factory as ev

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
TRAILER = struct.pack(">h", -1)


def rows_in(payload: bytes) -> int:
    """Walk a binary COPY payload field by field; the number of rows (fails on any malformed length)."""
    assert payload.startswith(SIGNATURE) and payload.endswith(TRAILER)
    flags, extension = struct.unpack_from(">ii", payload, len(SIGNATURE))
    assert flags == 0
    at, rows = len(SIGNATURE) + 8 + extension, 0
    while (fields := struct.unpack_from(">h", payload, at)[0]) != -1:
        at += 2
        for _ in range(fields):
            length = struct.unpack_from(">i", payload, at)[0]
            at += 4 + max(length, 0)
        rows += 1
    assert at + 2 == len(payload)
    return rows


def features(**changes: object) -> FeaturesV1:
    return msgspec.structs.replace(ev.features("p-1", 0), **changes)


def test_every_kept_row_is_in_the_payload_and_nothing_is_refused() -> None:
    events = [ev.features(f"p-{i % 7}", i) for i in range(120)]
    encoded = FEATURES.columnar.encode(events)  # type: ignore[union-attr]
    assert encoded.refused == {} and encoded.rows == 120 and rows_in(encoded.payload) == 120


def test_an_empty_batch_is_a_valid_empty_copy() -> None:
    encoded = FEATURES.columnar.encode([])  # type: ignore[union-attr]
    assert encoded.rows == 0 and rows_in(encoded.payload) == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"band_pct": 1e39}, "band_pct 1e+39 is out of range for type real"),
        ({"rmssd_ms": -1e39}, "rmssd_ms -1e+39 is out of range for type real"),
        ({"sdnn_ms": 1e-50}, "sdnn_ms 1e-50 is out of range for type real"),  # underflow
        ({"time_in_zone_s": (1.0, 1e-50)}, "time_in_zone_s [1.0, 1e-50] holds a value out of range for type real"),
        ({"readings": 2**31}, "readings 2147483648 is out of range for its column"),
        ({"battery_pct": 70_000}, "battery_pct 70000 is out of range for its column"),
        ({"prescription_version": 2**70}, f"prescription_version {2**70} is out of range for its column"),
        ({"t_s": MAX_S + 1}, f"time {MAX_S + 1} is outside the storable range"),
        ({"t_s": 2**70}, f"time {2**70} is outside the storable range"),
        ({"computed_time_ns": MAX_NS + 1}, f"computed_at {MAX_NS + 1} is outside the storable range"),
        ({"session_id": "s\x001"}, "session_id holds a NUL character, which PostgreSQL text cannot store"),
        ({"session_id": "s\ud8001"}, "session_id is not valid UTF-8 text"),
    ],
)
def test_a_value_the_server_would_refuse_is_refused_with_its_column(changes: dict[str, object], reason: str) -> None:
    good = [ev.features("p-1", 1), ev.features("p-2", 1)]
    encoded = FEATURES.columnar.encode([good[0], features(**changes), good[1]])  # type: ignore[union-attr]
    assert encoded.refused == {1: reason}
    assert encoded.rows == 2 and rows_in(encoded.payload) == 2


def test_values_at_the_edges_are_kept() -> None:
    edges = [
        features(band_pct=3.4e38, rmssd_ms=1.2e-38, sdnn_ms=0.0, readings=2**31 - 1, battery_pct=None),
        features(t_s=0, computed_time_ns=0, time_in_zone_s=()),
        features(t_s=MAX_S, computed_time_ns=MAX_NS),  # nanoseconds beyond int64 (after 2262) are still stored
        features(computed_time_ns=2**63 + 5),
        features(band_pct=float("inf")),  # infinity is a value of real, as in the text path
    ]
    encoded = FEATURES.columnar.encode(edges)  # type: ignore[union-attr]
    assert encoded.refused == {} and rows_in(encoded.payload) == len(edges)


def test_several_refusals_in_one_row_report_the_first_column() -> None:
    encoded = FEATURES.columnar.encode([features(band_pct=1e39, readings=-(2**40))])  # type: ignore[union-attr]
    assert encoded.refused == {0: "band_pct 1e+39 is out of range for type real"}
    assert encoded.rows == 0


def fits_real(value: float) -> bool:
    """Independently of numpy: does the server's float4 input accept ``value`` (no overflow, no underflow)?"""
    try:
        stored = struct.unpack(">f", struct.pack(">f", value))[0]
    except OverflowError:
        return False
    return stored != 0 or value == 0


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**72),
            st.one_of(st.none(), st.floats(allow_nan=False, width=64)),
            st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=4),
            st.one_of(st.none(), st.integers(min_value=-(2**33), max_value=2**33)),
        ),
        max_size=12,
    )
)
def test_refusals_match_a_value_by_value_check(rows: list[tuple[int, float | None, list[float], int | None]]) -> None:
    events = [
        features(t_s=t_s, band_pct=band_pct, time_in_zone_s=tuple(zones), prescription_version=version)
        for t_s, band_pct, zones, version in rows
    ]

    def storable(e: FeaturesV1) -> bool:
        return (
            e.t_s <= MAX_S
            and (e.band_pct is None or fits_real(e.band_pct))
            and all(map(fits_real, e.time_in_zone_s))
            and (e.prescription_version is None or -(2**31) <= e.prescription_version < 2**31)
        )

    encoded = FEATURES.columnar.encode(events)  # type: ignore[union-attr]
    assert set(encoded.refused) == {i for i, e in enumerate(events) if not storable(e)}
    assert rows_in(encoded.payload) == encoded.rows == len(events) - len(encoded.refused)


def test_a_column_naming_a_missing_field_fails_at_definition() -> None:
    with pytest.raises(ValueError, match="has no field"):
        ColumnarCopy(SensorHrV1, [Column("time", "no_such_field", "timestamptz_ns"), Column("x", "seq", "int8")])


def test_event_keys_are_the_conflict_columns_fields() -> None:
    event = ev.hr("p", "d", 7)
    assert SENSOR_HR.event_key(event) == ("d", 7, event.gateway_time_ns)
    assert FEATURES.event_key(ev.features("p", 3)) == ("p", ev.features("p", 3).t_s)
