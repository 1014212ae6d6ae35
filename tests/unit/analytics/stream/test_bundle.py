"""The sensor bundle: readings decoded once and carried losslessly, invalid records kept raw with the reason,
precise refusal of a malformed bundle, splitting by count and size."""

from __future__ import annotations

import struct
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.stream.bundle import BundleError, bundled, bundles, decode_bundle, encode_bundle
from ingest.events import SensorHrV1
from ingest.wire import encode


class SourceRecord(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def reading(seq: int, rr: tuple[float, ...] = (812.5, 790.0)) -> SensorHrV1:
    return SensorHrV1(
        patient_id="p-1", device_id="strap-1", seq=seq, gateway_time_ns=1_800_000_000 * 10**9 + seq, hr_bpm=75,
        rr_ms=rr, sensor_contact=True, battery_pct=90,
    )  # fmt: skip


valid = st.builds(
    lambda o, t, seq: SourceRecord(o, t, b"p-1", encode(reading(seq))),
    st.integers(0, 2**62),
    st.integers(0, 2**62),
    st.integers(0, 2**40),
)
anything = st.builds(
    SourceRecord, st.integers(0, 2**62), st.integers(0, 2**62), st.none() | st.binary(max_size=40),
    st.none() | st.binary(max_size=300),
)  # fmt: skip
records = st.lists(valid | anything, max_size=30)


@given(st.integers(0, 1023), records)
def test_a_bundle_carries_each_record_decoded_or_raw_with_its_reason(partition: int, rs: list[SourceRecord]) -> None:
    got = decode_bundle(encode_bundle(partition, [bundled(r) for r in rs]))
    assert [(b.offset, b.timestamp, b.key) for b in got] == [(r.offset, r.timestamp, r.key) for r in rs]
    for b, r in zip(got, rs, strict=True):
        if b.reading is not None:  # decoded once by the bundler: the agent gets the same reading
            assert b.value is None and b.error is None and encode(b.reading) == r.value
        else:
            assert b.value == r.value and b.error and "sensor.hr.v1 message" in b.error
        assert b.raw_value() == r.value


def test_an_invalid_reading_keeps_its_bytes_and_says_which_field_is_wrong() -> None:
    bad = b'{"schema_version": 1, "patient_id": 5}'
    (got,) = decode_bundle(encode_bundle(0, [bundled(SourceRecord(7, 8, b"k", bad))]))
    assert got.reading is None and got.value == bad and "patient_id" in (got.error or "")


@given(st.lists(valid | anything, min_size=1, max_size=10), st.data())
def test_a_truncated_bundle_is_refused_not_half_read(rs: list[SourceRecord], data: st.DataObject) -> None:
    whole = encode_bundle(3, [bundled(r) for r in rs])
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(BundleError):
        decode_bundle(whole[:cut])


def test_malformed_bundles_say_what_is_wrong() -> None:
    good = encode_bundle(1, [bundled(SourceRecord(5, 6, b"k", b"v"))])
    with pytest.raises(BundleError, match="magic b'XXXX', expected b'CRB2'"):
        decode_bundle(b"XXXX" + good[4:])
    with pytest.raises(BundleError, match="do not decode as one"):
        decode_bundle(good + b"..")
    with pytest.raises(BundleError, match="magic b'CRB'"):
        decode_bundle(b"CRB")


def test_bundles_keep_order_and_bound_count_and_size() -> None:
    rs = [SourceRecord(i, 0, b"p-1", encode(reading(i, rr=(800.0,) * 20))) for i in range(10)]
    offsets = lambda data: [b.offset for b in decode_bundle(data)]  # noqa: E731
    by_count = list(bundles(2, rs, max_records=4, max_bytes=10_000))
    assert [offsets(d) for d, _ in by_count] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [last for _, last in by_count] == [3, 7, 9]
    by_size = list(bundles(2, rs, max_records=100, max_bytes=900))
    assert all(len(d) <= 900 for d, _ in by_size) and [o for d, _ in by_size for o in offsets(d)] == list(range(10))
    assert len(by_size) > 1
    huge = [SourceRecord(7, 0, None, b"x" * 1000)]
    (only,) = [decode_bundle(d) for d, _ in bundles(0, huge, max_records=10, max_bytes=100)]
    assert [(b.offset, b.value) for b in only] == [(7, b"x" * 1000)]


def crb1(partition: int, rs: list[SourceRecord]) -> bytes:
    """A bundle in the layout workers wrote before 2026-11-24 (raw records)."""
    parts = [struct.pack(">4siI", b"CRB1", partition, len(rs))]
    for r in rs:
        klen, vlen = -1 if r.key is None else len(r.key), -1 if r.value is None else len(r.value)
        parts += [struct.pack(">qqii", r.offset, r.timestamp, klen, vlen), r.key or b"", r.value or b""]
    return b"".join(parts)


@given(records)
def test_bundles_of_the_previous_layout_are_still_read(rs: list[SourceRecord]) -> None:
    assert decode_bundle(crb1(4, rs)) == [bundled(r) for r in rs]


def test_a_malformed_bundle_of_the_previous_layout_is_refused() -> None:
    whole = crb1(0, [SourceRecord(1, 2, b"k", b"value")])
    with pytest.raises(BundleError, match="claims 1\\+5 bytes past the end"):
        decode_bundle(whole[:-1])
    with pytest.raises(BundleError, match="2 bytes left over"):
        decode_bundle(whole + b"..")
    with pytest.raises(BundleError, match="shorter than its 12-byte header"):
        decode_bundle(b"CRB1")
