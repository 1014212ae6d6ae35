"""The sensor bundle framing: lossless round trip, precise refusal of anything malformed, splitting by size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.stream.bundle import Bundled, BundleError, bundle_partition, bundles, decode_bundle, encode_bundle

records = st.lists(
    st.builds(
        Bundled,
        st.integers(0, 2**62),
        st.integers(0, 2**62),
        st.none() | st.binary(max_size=40),
        st.none() | st.binary(max_size=300),
    ),
    max_size=30,
)


@given(st.integers(0, 1023), records)
def test_a_bundle_round_trips_every_record_unchanged(partition: int, rs: list[Bundled]) -> None:
    data = encode_bundle(partition, rs)
    assert bundle_partition(data) == partition
    assert decode_bundle(data) == rs


@given(records.filter(bool), st.data())
def test_a_truncated_bundle_is_refused_not_half_read(rs: list[Bundled], data: st.DataObject) -> None:
    whole = encode_bundle(3, rs)
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(BundleError):
        decode_bundle(whole[:cut])


def test_malformed_bundles_say_what_is_wrong() -> None:
    good = encode_bundle(1, [Bundled(5, 6, b"k", b"v")])
    with pytest.raises(BundleError, match="magic b'XXXX'"):
        decode_bundle(b"XXXX" + good[4:])
    with pytest.raises(BundleError, match="2 bytes left over"):
        decode_bundle(good + b"..")
    with pytest.raises(BundleError, match="shorter than its 12-byte header"):
        decode_bundle(b"CRB1")


def test_bundles_keep_order_and_bound_count_and_size() -> None:
    rs = [Bundled(i, 0, b"k", b"x" * 100) for i in range(10)]
    by_count = list(bundles(2, rs, max_records=4, max_bytes=10_000))
    assert [decode_bundle(d) for d, _ in by_count] == [rs[:4], rs[4:8], rs[8:]]
    assert [last for _, last in by_count] == [3, 7, 9]
    by_size = list(bundles(2, rs, max_records=100, max_bytes=600))
    assert all(len(d) <= 600 for d, _ in by_size) and [r for d, _ in by_size for r in decode_bundle(d)] == rs
    huge = [Bundled(7, 0, None, b"x" * 1000)]
    assert [decode_bundle(d) for d, _ in bundles(0, huge, max_records=10, max_bytes=100)] == [huge]
