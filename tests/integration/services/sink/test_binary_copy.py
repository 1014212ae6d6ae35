"""What the sink packs for binary COPY is read back by the real server as the values meant."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from services.sink.binary import float4_array, timestamptz_ns, timestamptz_s

pytestmark = pytest.mark.integration


def test_timestamps_and_real_arrays_round_trip_through_the_server(database_url: str) -> None:
    rows = [
        (1_763_856_000, 1_763_856_000_123_456_789, [72.5, -1.25, 3.0e38]),
        (0, 0, []),
        (1_000_000_000, 999_999_999_999_999_999, [0.0]),
    ]
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE packed (at_s timestamptz, at_ns timestamptz, values real[])")
        with conn.cursor().copy("COPY packed FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bytea", "bytea", "bytea"])
            for s, ns, values in rows:
                copy.write_row((timestamptz_s(s), timestamptz_ns(ns), float4_array(values)))
        back = conn.execute("SELECT at_s, at_ns, values FROM packed").fetchall()
    assert len(back) == len(rows)
    for (s, ns, values), (at_s, at_ns, stored) in zip(rows, back, strict=True):
        assert at_s == datetime.fromtimestamp(s, UTC)
        micros = (ns + 500) // 1000
        assert at_ns == datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
        assert stored == pytest.approx(values, rel=1e-7)
