"""Reading the features time series, raw or downsampled with ``time_bucket``."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import args_row


class FeaturePoint(msgspec.Struct, frozen=True):
    """One point of history; a msgspec struct so that thousands of them encode to JSON in milliseconds."""

    time: datetime
    hr_bpm: float | None
    zone: int | None
    band_low_bpm: float | None
    band_high_bpm: float | None
    in_band: bool | None
    phase: str
    signal: str


async def feature_history(
    conn: AsyncConnection,
    patient_id: str,
    start: datetime,
    end: datetime,
    bucket: timedelta | None,
    limit: int,
) -> list[FeaturePoint]:
    """Seconds in [start, end): every stored second, or one averaged point per ``bucket``."""
    async with conn.cursor(row_factory=args_row(FeaturePoint), binary=True) as cur:
        if bucket is None:
            await cur.execute(
                "SELECT time, hr_bpm::float8, zone::int4, band_low_bpm::float8, band_high_bpm::float8, in_band, "
                "phase, signal FROM features WHERE patient_id = %s AND time >= %s AND time < %s ORDER BY time LIMIT %s",
                (patient_id, start, end, limit),
            )
        else:
            await cur.execute(
                "SELECT time_bucket(%s, time) AS time, avg(hr_bpm)::float8 AS hr_bpm, max(zone)::int4 AS zone, "
                "avg(band_low_bpm)::float8 AS band_low_bpm, avg(band_high_bpm)::float8 AS band_high_bpm, "
                "bool_and(in_band) AS in_band, last(phase, time) AS phase, last(signal, time) AS signal "
                "FROM features WHERE patient_id = %s AND time >= %s AND time < %s "
                "GROUP BY 1 ORDER BY 1 LIMIT %s",
                (bucket, patient_id, start, end, limit),
            )
        return await cur.fetchall()
