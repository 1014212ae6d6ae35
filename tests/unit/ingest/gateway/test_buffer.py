"""The SQLite store-and-forward buffer: order, durability across restarts, seq persistence, bounds and policy."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from pathlib import Path

import pytest

from ingest.events import DeadLetterV1, SensorEcgV1, SensorHrV1
from ingest.gateway.buffer import BufferLimits, DeadLetterDraft, ReadingBuffer, buffer_file_summary
from ingest.gateway.errors import BufferOwnershipError
from ingest.wire import decode, encode
from tests.sim.util import eventually

pytestmark = pytest.mark.usefixtures("blockbuster")  # the buffer must never block the event loop

PATIENT = "patient-1"
DEVICE = "C0:00:00:00:00:01"


class FixedClock:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def time_ns(self) -> int:
        return self.now_ns


def hr(seq: int, device: str = DEVICE) -> SensorHrV1:
    return SensorHrV1(patient_id=PATIENT, device_id=device, seq=seq, gateway_time_ns=1_000 + seq, hr_bpm=70)


def ecg(seq: int) -> SensorEcgV1:
    return SensorEcgV1(
        patient_id=PATIENT,
        device_id=DEVICE,
        seq=seq,
        gateway_time_ns=2_000 + seq,
        device_time_ns=3_000 + seq,
        fs_hz=130.0,
        samples_uv=tuple(range(73)),
    )


def open_buffer(path: Path, limits: BufferLimits | None = None, **kwargs: object) -> ReadingBuffer:
    limits = limits or BufferLimits(max_rows=1000, max_bytes=10**7, hard_max_rows=2000, hard_max_bytes=2 * 10**7)
    return ReadingBuffer(path, patient_id=PATIENT, limits=limits, flush_interval_s=0.01, **kwargs)  # type: ignore[arg-type]


async def test_rows_come_back_in_insertion_order_and_ack_deletes_them(buffer: ReadingBuffer) -> None:
    for seq in (10, 11, 12):
        buffer.submit(hr(seq))
    buffer.submit(ecg(13))
    await buffer.flush()
    rows = await buffer.peek(10)
    assert [(r.topic, r.ordinal) for r in rows] == [
        ("sensor.hr.v1", 10),
        ("sensor.hr.v1", 11),
        ("sensor.hr.v1", 12),
        ("sensor.ecg.v1", 13),
    ]
    assert rows[3].event() == ecg(13)
    await buffer.ack([rows[0].row_id, rows[1].row_id])
    assert [r.ordinal for r in await buffer.peek(10)] == [12, 13]
    stats = await buffer.stats()
    assert (stats.rows, stats.bulk_rows) == (2, 1)
    assert stats.payload_bytes == len(encode(hr(12))) + len(encode(ecg(13)))


async def test_the_flusher_commits_without_an_explicit_flush(buffer: ReadingBuffer) -> None:
    committed: list[int] = []
    buffer.add_listener(lambda: committed.append(1))
    buffer.submit(hr(1))
    await eventually(lambda: bool(committed), within_s=2.0)
    assert await asyncio.to_thread(buffer_file_summary, buffer.path) == {"sensor.hr.v1": 1}


async def test_rows_and_the_seq_counter_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    clock = FixedClock(1_700_000_000_123_456_789)
    async with open_buffer(path, clock=clock) as buf:
        first = await buf.next_seq(DEVICE)
        assert first == 1_700_000_000_123_456  # a new device starts at host time in µs
        for seq in range(first, first + 5):
            buf.submit(hr(seq))
        rows = await buf.peek(2)
        assert rows == []  # not committed yet: submit only queues
        await buf.flush()
        await buf.ack([r.row_id for r in await buf.peek(2)])
    clock.now_ns += 10**12  # a later clock must not move an existing device's counter
    async with open_buffer(path, clock=clock) as buf:
        assert await buf.next_seq(DEVICE) == first + 5
        assert [r.ordinal for r in await buf.peek(10)] == [first + 2, first + 3, first + 4]
        assert (await buf.stats()).rows == 3


async def test_close_commits_what_was_submitted(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    async with open_buffer(path) as buf:
        for seq in range(50):
            buf.submit(hr(seq))
    assert await asyncio.to_thread(buffer_file_summary, path) == {"sensor.hr.v1": 50}


async def test_the_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"

    def journal_mode() -> str:
        conn = sqlite3.connect(path)
        try:
            return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
        finally:
            conn.close()

    async with open_buffer(path):
        assert await asyncio.to_thread(journal_mode) == "wal"


async def test_soft_limit_drops_the_oldest_ecg_and_never_heart_rate(tmp_path: Path) -> None:
    limits = BufferLimits(max_rows=10, max_bytes=10**7, hard_max_rows=100, hard_max_bytes=10**8)
    async with open_buffer(tmp_path / "b.sqlite3", limits) as buf:
        seq = 0
        for _ in range(5):
            buf.submit(hr(seq))
            seq += 1
            for _ in range(3):
                buf.submit(ecg(seq))
                seq += 1
        await buf.flush()
        rows = await buf.peek(100)
        sensor = [r for r in rows if r.topic != DeadLetterV1.TOPIC]
        assert len(sensor) == 10
        assert [r.ordinal for r in sensor if r.topic == SensorHrV1.TOPIC] == [0, 4, 8, 12, 16]
        # The newest ECG is kept: 5 slots left for ECG, the 5 most recent frames.
        assert [r.ordinal for r in sensor if r.topic == SensorEcgV1.TOPIC] == [13, 14, 15, 17, 18, 19][-5:]
        stats = await buf.stats()
        assert stats.dropped == {"sensor.ecg.v1": 10}
        reports = [decode(DeadLetterV1, r.payload) for r in rows if r.topic == DeadLetterV1.TOPIC]
        assert len(reports) == 1
        assert reports[0].reason.startswith("buffer full: dropped the 10 oldest sensor.ecg.v1 rows")
        assert f"device {DEVICE} seq 1-13" in reports[0].reason
        assert reports[0].key == PATIENT
    async with open_buffer(tmp_path / "b.sqlite3", limits) as buf:
        assert await buf.get_meta("dropped:sensor.ecg.v1") == "10"


async def test_heart_rate_goes_only_above_the_hard_limit(tmp_path: Path) -> None:
    limits = BufferLimits(max_rows=5, max_bytes=10**7, hard_max_rows=20, hard_max_bytes=10**8)
    async with open_buffer(tmp_path / "b.sqlite3", limits) as buf:
        for seq in range(12):
            buf.submit(hr(seq))
        await buf.flush()
        assert (await buf.stats()).dropped == {}  # HR may exceed the soft limit
        assert [r.ordinal for r in await buf.peek(100)] == list(range(12))
        await buf.release()  # peek leased them; a lease protects rows from eviction
        for seq in range(12, 40):
            buf.submit(hr(seq))
        await buf.flush()
        rows = await buf.peek(100)
        hr_rows = [r.ordinal for r in rows if r.topic == SensorHrV1.TOPIC]
        assert len(rows) <= 20
        assert hr_rows == list(range(40 - len(hr_rows), 40))  # the newest are kept
        assert (await buf.stats()).dropped["sensor.hr.v1"] == 40 - len(hr_rows)
        assert any("hard limit" in decode(DeadLetterV1, r.payload).reason for r in rows if r.topic == "deadletter.v1")


async def test_byte_limit_applies_like_the_row_limit(tmp_path: Path) -> None:
    frame = len(encode(ecg(0)))
    limits = BufferLimits(max_rows=1000, max_bytes=4 * frame + 10, hard_max_rows=2000, hard_max_bytes=10**8)
    async with open_buffer(tmp_path / "b.sqlite3", limits) as buf:
        for seq in range(10):
            buf.submit(ecg(seq))
        await buf.flush()
        ecg_rows = [r.ordinal for r in await buf.peek(100) if r.topic == SensorEcgV1.TOPIC]
        assert ecg_rows == [6, 7, 8, 9]


async def test_rows_being_sent_are_never_evicted(tmp_path: Path) -> None:
    limits = BufferLimits(max_rows=4, max_bytes=10**7, hard_max_rows=100, hard_max_bytes=10**8)
    async with open_buffer(tmp_path / "b.sqlite3", limits) as buf:
        for seq in range(4):
            buf.submit(ecg(seq))
        await buf.flush()
        leased = await buf.peek(2)  # the forwarder is sending 0 and 1
        for seq in range(4, 8):
            buf.submit(ecg(seq))
        await buf.flush()
        kept = [r.ordinal for r in await buf.peek(100) if r.topic == SensorEcgV1.TOPIC]
        assert kept[:2] == [r.ordinal for r in leased] == [0, 1]
        assert kept[2:] == [6, 7]


async def test_dead_letters_are_numbered_with_a_stable_origin(buffer: ReadingBuffer) -> None:
    buffer.submit(DeadLetterDraft(f"ble:{DEVICE}/hrm", "truncated field 'hr'", 5, b"\x01"))
    buffer.submit(DeadLetterDraft(f"ble:{DEVICE}/pmd-data", "not a multiple of 3", 6, b"\x00\x01"))
    await buffer.flush()
    rows = await buffer.peek(10)
    letters = [decode(DeadLetterV1, r.payload) for r in rows]
    assert [r.ordinal for r in rows] == [0, 1]
    assert letters[0].origin == f"ble:{DEVICE}/hrm@{buffer.buffer_id}:0"
    assert letters[1].origin == f"ble:{DEVICE}/pmd-data@{buffer.buffer_id}:1"
    assert letters[0].stage == "ingest.gateway"
    assert base64.b64decode(letters[1].payload_b64 or "") == b"\x00\x01"
    assert len({letter.idempotency_key() for letter in letters}) == 2


async def test_pending_groups_and_ack_through(buffer: ReadingBuffer) -> None:
    for seq in range(5):
        buffer.submit(hr(seq))
        buffer.submit(hr(seq, device="other"))
    buffer.submit(ecg(7))
    await buffer.flush()
    assert sorted(await buffer.pending_groups(), key=str) == sorted(
        [("sensor.hr.v1", DEVICE), ("sensor.hr.v1", "other"), ("sensor.ecg.v1", DEVICE)], key=str
    )
    assert await buffer.ack_through("sensor.hr.v1", DEVICE, 2) == 3
    left = [(r.device_id, r.ordinal) for r in await buffer.peek(100) if r.topic == "sensor.hr.v1"]
    assert left == [("other", 0), ("other", 1), ("other", 2), (DEVICE, 3), ("other", 3), (DEVICE, 4), ("other", 4)]
    assert (await buffer.stats()).rows == 8


async def test_a_disk_that_cannot_keep_up_drops_queued_ecg_first(tmp_path: Path) -> None:
    async with open_buffer(tmp_path / "b.sqlite3", max_pending=4) as buf:
        buf.submit(hr(0))
        buf.submit(ecg(1))
        buf.submit(hr(2))
        buf.submit(ecg(3))
        buf.submit(hr(4))  # the queue is full: the oldest queued ECG goes
        await buf.flush()
        rows = await buf.peek(10)
        assert [(r.topic, r.ordinal) for r in rows if r.topic != "deadletter.v1"] == [
            ("sensor.hr.v1", 0),
            ("sensor.hr.v1", 2),
            ("sensor.ecg.v1", 3),
            ("sensor.hr.v1", 4),
        ]
        assert (await buf.stats()).dropped == {"sensor.ecg.v1": 1}
        assert "write backlog" in decode(DeadLetterV1, rows[-1].payload).reason


async def test_one_process_per_buffer_and_one_patient_per_buffer(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    async with open_buffer(path):
        with pytest.raises(BufferOwnershipError, match="another gateway process"):
            await open_buffer(path).open()
    other = ReadingBuffer(path, patient_id="patient-2", limits=BufferLimits(10, 10**6, 10, 10**6))
    with pytest.raises(BufferOwnershipError, match="patient-1"):
        await other.open()
