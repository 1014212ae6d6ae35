"""Raw sensor history: heart-rate readings (raw or downsampled with ``time_bucket``) and ECG snippets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import args_row, class_row


class HrPoint(msgspec.Struct, frozen=True):
    """One reading or one bucket of readings (a msgspec struct: encodes to JSON fast)."""

    time: datetime
    hr_bpm: float
    rr_ms: list[float]
    sensor_contact: bool | None
    readings: int


@dataclass(frozen=True)
class EcgFrame:
    time: datetime
    device_id: str
    seq: int
    device_time: datetime
    fs_hz: float
    samples_uv: list[int]


async def hr_history(
    conn: AsyncConnection,
    patient_id: str,
    start: datetime,
    end: datetime,
    bucket: timedelta | None,
    limit: int,
) -> list[HrPoint]:
    """Readings in [start, end): each one, or per ``bucket`` the mean HR and every RR interval in order."""
    async with conn.cursor(row_factory=args_row(HrPoint), binary=True) as cur:
        if bucket is None:
            await cur.execute(
                "SELECT time, hr_bpm::float8 AS hr_bpm, rr_ms, sensor_contact, 1 AS readings FROM sensor_hr "
                "WHERE patient_id = %s AND time >= %s AND time < %s ORDER BY time, device_id, seq LIMIT %s",
                (patient_id, start, end, limit),
            )
        else:
            await cur.execute(
                "SELECT time_bucket(%s, h.time) AS time, avg(h.hr_bpm)::float8 AS hr_bpm, "
                "COALESCE(array_agg(u.r ORDER BY h.time, h.seq, u.ord) FILTER (WHERE u.r IS NOT NULL), '{}') AS rr_ms, "
                "bool_and(h.sensor_contact) AS sensor_contact, count(DISTINCT (h.device_id, h.seq))::int AS readings "
                "FROM sensor_hr h LEFT JOIN LATERAL unnest(h.rr_ms) WITH ORDINALITY AS u(r, ord) ON true "
                "WHERE h.patient_id = %s AND h.time >= %s AND h.time < %s GROUP BY 1 ORDER BY 1 LIMIT %s",
                (bucket, patient_id, start, end, limit),
            )
        return await cur.fetchall()


async def ecg_frames(
    conn: AsyncConnection, patient_id: str, start: datetime, end: datetime, limit: int
) -> list[EcgFrame]:
    async with conn.cursor(row_factory=class_row(EcgFrame)) as cur:
        await cur.execute(
            "SELECT time, device_id, seq, device_time, fs_hz, samples_uv FROM sensor_ecg "
            "WHERE patient_id = %s AND time >= %s AND time < %s ORDER BY time, device_id, seq LIMIT %s",
            (patient_id, start, end, limit),
        )
        return await cur.fetchall()
