"""What the columnar encoder writes is read back by the real server exactly as the text path's rows are: the same
events copied both ways into twin tables give identical rows, for every column type the sink sends in binary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg import sql

from services.sink.columnar import MAX_NS, MAX_S
from services.sink.tables import FEATURES, SENSOR_HR, TableSpec
from tests.integration.services import events_factory as ev

pytestmark = pytest.mark.integration


def copied_both_ways(url: str, spec: TableSpec, events: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Rows of ``events`` copied in text (``spec.to_row``) and as the columnar payload, in the same order."""
    assert spec.columnar is not None
    encoded = spec.columnar.encode(events)
    assert encoded.refused == {}
    cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    with psycopg.connect(url) as conn:
        for name in ("by_text", "by_columns"):
            conn.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                    sql.Identifier(name), sql.Identifier(spec.table)
                )
            )
        with conn.cursor().copy(sql.SQL("COPY by_text ({}) FROM STDIN").format(cols)) as copy:
            for event in events:
                copy.write_row(spec.to_row(event))
        with conn.cursor().copy(sql.SQL("COPY by_columns ({}) FROM STDIN (FORMAT BINARY)").format(cols)) as copy:
            copy.write(encoded.payload)
        order = sql.SQL(", ").join(map(sql.Identifier, spec.conflict))
        text, columns = (
            conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY {}").format(cols, sql.Identifier(t), order)).fetchall()
            for t in ("by_text", "by_columns")
        )
    return text, columns


def test_features_land_as_the_text_path_stores_them(database_url: str) -> None:
    base = ev.features("p-1", 0)
    events = [
        base,
        *(ev.features(f"p-{i % 3}", i, hr_bpm=60.0 + i) for i in range(1, 40)),
        msgspec.structs.replace(
            ev.features("p-edge", 1),
            session_id=None,
            hr_bpm=None,
            zone=None,
            band_pct=3.4e38,
            in_band=None,
            time_in_zone_s=(),
            rmssd_ms=1.2e-38,
            sdnn_ms=-0.0,
            sensor_contact=None,
            battery_pct=None,
            artefact_pct=None,
            prescription_version=None,
            phase="cool_down",
            signal="no_contact",
            cue="ease_off",
            late=True,
            readings=2**31 - 1,
        ),
        msgspec.structs.replace(ev.features("p-edge", 4), band_pct=float("inf"), session_id="sé-ß-💓"),
        msgspec.structs.replace(ev.features("p-edge", 5), time_in_zone_s=(0.1, 2.5e-7, 1e30, 12.0, 0.0, 600.5)),
    ]
    text, columns = copied_both_ways(database_url, FEATURES, events)
    assert len(columns) == len(events)
    assert columns == text


def test_heart_rate_readings_land_as_the_text_path_stores_them(database_url: str) -> None:
    events = [
        *(ev.hr("p-1", "strap-1", seq) for seq in range(30)),
        msgspec.structs.replace(
            ev.hr("p-2", "strap-2", 1),
            device_time_ns=ev.T0_NS - 123_456_789,
            rr_ms=(1234.567890123, 0.0009765625),
            sensor_contact=None,
            energy_expended_kj=65535,
            battery_pct=None,
        ),
        msgspec.structs.replace(ev.hr("p-2", "strap-2", 2), rr_ms=(), seq=2**62),
    ]
    text, columns = copied_both_ways(database_url, SENSOR_HR, events)
    assert len(columns) == len(events)
    assert columns == text


def test_times_are_exact_to_the_microsecond_across_the_whole_range(database_url: str) -> None:
    """Times the text path's float conversion would round wrongly (or refuse): the columnar path stores each one
    exactly, nanoseconds rounded half up to the microsecond."""
    cases = [
        (0, 1_499),
        (1, 1_500),
        (2, 2**63 + 999),
        (1_790_000_000, 1_790_000_000_123_456_789),
        (MAX_S, MAX_NS),
    ]  # by time
    events = [msgspec.structs.replace(ev.features("p-time", 0), t_s=t_s, computed_time_ns=ns) for t_s, ns in cases]
    encoded = FEATURES.columnar.encode(events)  # type: ignore[union-attr]
    assert encoded.refused == {}
    cols = sql.SQL(", ").join(map(sql.Identifier, FEATURES.columns))
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE by_columns (LIKE features INCLUDING DEFAULTS)")
        with conn.cursor().copy(sql.SQL("COPY by_columns ({}) FROM STDIN (FORMAT BINARY)").format(cols)) as copy:
            copy.write(encoded.payload)
        stored = conn.execute("SELECT time, computed_at FROM by_columns ORDER BY time").fetchall()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [
        (epoch + timedelta(seconds=t_s), epoch + timedelta(microseconds=(ns + 500) // 1000)) for t_s, ns in cases
    ]
    assert stored == expected
    assert stored[4][1] == datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
