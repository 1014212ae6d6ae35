from __future__ import annotations

import pytest

from services.live.cursor import CursorError, decode_cursor, encode_cursor


def test_round_trip_is_opaque_and_exact() -> None:
    positions = {"features.v1:0": 12, "alerts.v1:11": 0, "alertstate.v1:3": 2**40}
    text = encode_cursor(positions)
    assert text.startswith("c1.") and "features" not in text
    assert decode_cursor(text) == positions


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "features.v1:0:12",
        "c1.!!!",
        "c1." + "A" * 20_000,
        encode_cursor({"nopartition": 1}),
        encode_cursor({"features.v1:x": 1}),
        encode_cursor({"features.v1:0": -1}),
    ],
)
def test_garbage_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(bad)
