"""The synchronous core of the store-and-forward buffer: one SQLite file, its schema, and the policy when full.

:class:`BufferStore` is used from one thread only (:class:`ingest.gateway.buffer.ReadingBuffer` owns that thread
and is the asynchronous API); it can be driven directly in tests.

Durability: WAL journal with ``synchronous=FULL``. In WAL mode NORMAL survives a process crash but can lose the
last commits on power loss; a home gateway is exactly the kind of box that gets unplugged, and the buffer exists
to not lose readings, so every commit is fsynced. Commits are batched by the caller (one per flush interval,
default 50 ms), so this costs a bounded ~20 fsyncs/s. One process at a time (a ``flock`` on ``<file>.lock``,
released by the kernel even on SIGKILL), one patient per file.

Bounds and the policy when full (:class:`BufferLimits`):

- below ``max_rows``/``max_bytes`` (the soft limit) everything is kept;
- above the soft limit the **oldest ECG/ACC rows** are dropped first, so the newest waveform is kept and ECG/ACC
  can never crowd out heart rate; a new ECG/ACC row that finds no older one to displace is itself dropped;
- heart rate and dead letters are only dropped above ``hard_max_rows``/``hard_max_bytes``, again oldest first;
- rows leased by the forwarder (being sent right now) are never dropped;
- every drop is counted (``dropped:<topic>`` in the file's meta table) and reported as one ``deadletter.v1``
  record per topic and commit, naming the device, the ``seq`` range and the limit, so nothing disappears silently.

Only payload bytes count towards ``max_bytes``; the SQLite file is larger (indexes, free pages, the WAL).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import os
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.gateway.clock import Clock
from ingest.gateway.errors import BufferOwnershipError
from ingest.wire import Event, decode, encode

KEEP: Final = 0  # heart rate and dead letters: dropped only above the hard limit
BULK: Final = 1  # ECG and ACC: dropped first, oldest first, above the soft limit

EVENT_TYPES: Final[Mapping[str, type[Event]]] = {
    cls.TOPIC: cls for cls in (SensorHrV1, SensorEcgV1, SensorAccV1, DeadLetterV1)
}
PRIORITY: Final[Mapping[str, int]] = {
    SensorHrV1.TOPIC: KEEP,
    DeadLetterV1.TOPIC: KEEP,
    SensorEcgV1.TOPIC: BULK,
    SensorAccV1.TOPIC: BULK,
}
STAGE: Final = "ingest.gateway"
# Room kept below the hard limit for the drop-report dead letters a commit may add (one per topic + memory).
_REPORT_RESERVE_ROWS: Final = len(PRIORITY) + 1
_REPORT_RESERVE_BYTES: Final = _REPORT_RESERVE_ROWS * 1024
_EVICT_CHUNK_ROWS: Final = 1000

# (topic, priority, device_id, ordinal, event_time_ns, payload)
_Row = tuple[str, int, str | None, int, int, bytes]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    next_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    priority INTEGER NOT NULL,
    device_id TEXT,
    ordinal INTEGER NOT NULL,
    event_time_ns INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_by_priority ON readings (priority, id);
CREATE INDEX IF NOT EXISTS readings_by_group ON readings (topic, device_id, ordinal);
"""


@dataclass(frozen=True, slots=True)
class BufferLimits:
    """Soft limits (ECG/ACC dropped above them) and hard limits (anything dropped above them)."""

    max_rows: int
    max_bytes: int
    hard_max_rows: int
    hard_max_bytes: int

    def __post_init__(self) -> None:
        if not 0 < self.max_rows <= self.hard_max_rows:
            raise ValueError("need 0 < max_rows <= hard_max_rows")
        if not 0 < self.max_bytes <= self.hard_max_bytes:
            raise ValueError("need 0 < max_bytes <= hard_max_bytes")


@dataclass(frozen=True, slots=True)
class DeadLetterDraft:
    """Input the gateway rejected. The buffer numbers it and builds the :class:`DeadLetterV1`.

    ``source`` says where it came from (``ble:<device>/<characteristic>``); the buffer appends
    ``@<buffer id>:<number>`` to make the origin, and so the idempotency key, unique and stable.
    """

    source: str
    reason: str
    received_time_ns: int
    payload: bytes | None = None


@dataclass(frozen=True, slots=True)
class BufferedRow:
    """One stored reading: ``ordinal`` is the device ``seq`` (sensor rows) or the dead-letter number."""

    row_id: int
    topic: str
    device_id: str | None
    ordinal: int
    payload: bytes

    def event(self) -> Event:
        return decode(EVENT_TYPES[self.topic], self.payload)


@dataclass(slots=True)
class Totals:
    """Rows and payload bytes stored, overall and of the ECG/ACC kind."""

    rows: int = 0
    payload_bytes: int = 0
    bulk_rows: int = 0
    bulk_bytes: int = 0

    def add(self, priority: int, rows: int, size: int) -> None:
        self.rows += rows
        self.payload_bytes += size
        if priority == BULK:
            self.bulk_rows += rows
            self.bulk_bytes += size


@dataclass(slots=True)
class _DropGroup:
    rows: int = 0
    devices: dict[str | None, tuple[int, int]] = field(default_factory=dict)  # device -> (min, max) ordinal

    def add(self, device_id: str | None, ordinal: int) -> None:
        self.rows += 1
        low, high = self.devices.get(device_id, (ordinal, ordinal))
        self.devices[device_id] = (min(low, ordinal), max(high, ordinal))


class BufferStore:
    """The buffer file; every method runs on the caller's thread (one thread per store)."""

    def __init__(self, path: Path, *, patient_id: str, limits: BufferLimits, clock: Clock) -> None:
        self._path = path
        self._patient_id = patient_id
        self._limits = limits
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._lock_file: IO[bytes] | None = None
        self._totals = Totals()
        self._leased_max_id = 0
        self._buffer_id = ""

    @property
    def buffer_id(self) -> str:
        """Random id of this buffer file, part of every dead letter's origin."""
        return self._buffer_id

    def totals(self) -> Totals:
        return dataclasses.replace(self._totals)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("buffer is not open")
        return self._conn

    def open(self) -> None:
        """Take the file lock, open (or create) the file, check it belongs to this patient."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = open(f"{self._path}.lock", "ab")  # noqa: SIM115 - held for the buffer's lifetime
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            lock_file.close()
            raise BufferOwnershipError(
                f"{self._path} is open in another gateway process; stop it first (one gateway per buffer)"
            ) from exc
        self._lock_file = lock_file
        try:
            conn = sqlite3.connect(self._path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(_SCHEMA)
            self._conn = conn
            self._bind_patient()
            self._load_totals()
        except BaseException:
            self.close()
            raise

    def _bind_patient(self) -> None:
        db = self._db()
        with _transaction(db):
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('patient_id', 'buffer_id')"))
            owner = rows.get("patient_id")
            if owner is not None and owner != self._patient_id:
                raise BufferOwnershipError(
                    f"{self._path} holds readings of patient {owner!r}, not {self._patient_id!r}; forward or move "
                    "it before enrolling this gateway for another patient"
                )
            self._buffer_id = rows.get("buffer_id") or uuid.uuid4().hex[:16]
            db.executemany(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                [("patient_id", self._patient_id), ("buffer_id", self._buffer_id), ("dl_next", "0")],
            )

    def _load_totals(self) -> None:
        self._totals = Totals()
        for priority, rows, size in self._db().execute(
            "SELECT priority, count(*), coalesce(sum(length(payload)), 0) FROM readings GROUP BY priority"
        ):
            self._totals.add(priority, rows, size)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def next_seq(self, device_id: str, first: int) -> int:
        """The device's next seq; a new device is registered starting at ``first``."""
        db = self._db()
        with _transaction(db):
            row = db.execute("SELECT next_seq FROM devices WHERE device_id = ?", (device_id,)).fetchone()
            if row is not None:
                return int(row[0])
            db.execute(
                "INSERT INTO devices (device_id, first_seq, next_seq) VALUES (?, ?, ?)", (device_id, first, first)
            )
            return first

    def append(
        self, items: list[Event | DeadLetterDraft], memory_dropped: Mapping[str, int], *, backlog_limit: int = 0
    ) -> Counter[str]:
        """Store readings in one transaction, enforce the limits, report drops; returns the drops by topic."""
        db = self._db()
        dropped: Counter[str] = Counter()
        with _transaction(db):
            dl_next = int(self.get_meta("dl_next") or "0")
            seq_range: dict[str, tuple[int, int]] = {}
            rows: list[_Row] = []
            for item in items:
                if isinstance(item, DeadLetterDraft):
                    event: Event = self._dead_letter(item, dl_next)
                    rows.append((DeadLetterV1.TOPIC, KEEP, None, dl_next, item.received_time_ns, encode(event)))
                    dl_next += 1
                    continue
                device_id: str = getattr(item, "device_id")  # noqa: B009 - every sensor event has one
                seq: int = getattr(item, "seq")  # noqa: B009
                time_ns: int = getattr(item, "gateway_time_ns")  # noqa: B009
                rows.append((item.TOPIC, PRIORITY[item.TOPIC], device_id, seq, time_ns, encode(item)))
                low, high = seq_range.get(device_id, (seq, seq))
                seq_range[device_id] = (min(low, seq), max(high, seq))
            self._insert(db, rows)
            for device_id, (low, high) in seq_range.items():
                db.execute(
                    "INSERT INTO devices (device_id, first_seq, next_seq) VALUES (?, ?, ?) ON CONFLICT(device_id) "
                    "DO UPDATE SET next_seq = max(next_seq, excluded.next_seq)",
                    (device_id, low, high + 1),
                )
            groups = self._enforce_limits(db)
            reports: list[DeadLetterDraft] = []
            now = self._clock.time_ns()
            for topic, group in groups.items():
                dropped[topic] += group.rows
                reports.append(DeadLetterDraft(f"buffer:{self._patient_id}", self._drop_reason(topic, group), now))
            for topic, count in memory_dropped.items():
                dropped[topic] += count
                reports.append(
                    DeadLetterDraft(
                        f"buffer:{self._patient_id}",
                        f"buffer write backlog: dropped {count} queued {topic} readings before they reached the "
                        f"disk (more than {backlog_limit} waiting; the disk is too slow or failing)",
                        now,
                    )
                )
            report_rows: list[_Row] = []
            for report in reports:
                report_rows.append(
                    (DeadLetterV1.TOPIC, KEEP, None, dl_next, now, encode(self._dead_letter(report, dl_next)))
                )
                dl_next += 1
            self._insert(db, report_rows)
            for topic, count in dropped.items():
                total = int(self.get_meta(f"dropped:{topic}") or "0") + count
                self.set_meta({f"dropped:{topic}": str(total)})
            self.set_meta({"dl_next": str(dl_next)})
        return dropped

    def _insert(self, db: sqlite3.Connection, rows: list[_Row]) -> None:
        db.executemany(
            "INSERT INTO readings (topic, priority, device_id, ordinal, event_time_ns, payload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        for _topic, priority, _device, _ordinal, _time, payload in rows:
            self._totals.add(priority, 1, len(payload))

    def _dead_letter(self, draft: DeadLetterDraft, number: int) -> DeadLetterV1:
        return DeadLetterV1(
            stage=STAGE,
            origin=f"{draft.source}@{self._buffer_id}:{number}",
            reason=draft.reason,
            received_time_ns=draft.received_time_ns,
            key=self._patient_id,
            payload_b64=None if draft.payload is None else base64.b64encode(draft.payload).decode("ascii"),
        )

    def _drop_reason(self, topic: str, group: _DropGroup) -> str:
        ranges = ", ".join(
            f"device {device} seq {low}-{high}" if device is not None else f"dead letters {low}-{high}"
            for device, (low, high) in group.devices.items()
        )
        limits = self._limits
        which = (
            f"soft limit {limits.max_rows} rows / {limits.max_bytes} B (ECG/ACC dropped first)"
            if PRIORITY[topic] == BULK
            else f"hard limit {limits.hard_max_rows} rows / {limits.hard_max_bytes} B"
        )
        return (
            f"buffer full: dropped the {group.rows} oldest {topic} rows ({ranges}) to stay under the {which}; "
            "Kafka has been unreachable for too long"
        )

    def _enforce_limits(self, db: sqlite3.Connection) -> dict[str, _DropGroup]:
        limits, totals = self._limits, self._totals
        groups: dict[str, _DropGroup] = {}

        def over_soft() -> bool:
            return totals.rows > limits.max_rows or totals.payload_bytes > limits.max_bytes

        def over_hard() -> bool:
            return (
                totals.rows > limits.hard_max_rows - _REPORT_RESERVE_ROWS
                or totals.payload_bytes > limits.hard_max_bytes - _REPORT_RESERVE_BYTES
            )

        if over_soft():
            self._evict(db, BULK, over_soft, groups)
        if over_hard():
            self._evict(db, None, over_hard, groups)
        return groups

    def _evict(
        self,
        db: sqlite3.Connection,
        priority: int | None,
        still_over: Callable[[], bool],
        groups: dict[str, _DropGroup],
    ) -> None:
        where = "id > ?" if priority is None else "priority = ? AND id > ?"
        params: tuple[int, ...] = (self._leased_max_id,) if priority is None else (priority, self._leased_max_id)
        while still_over():
            candidates = db.execute(
                f"SELECT id, topic, priority, device_id, ordinal, length(payload) FROM readings "  # noqa: S608
                f"WHERE {where} ORDER BY id LIMIT {_EVICT_CHUNK_ROWS}",
                params,
            ).fetchall()
            if not candidates:
                return
            victims: list[int] = []
            for row_id, topic, row_priority, device_id, ordinal, size in candidates:
                victims.append(row_id)
                self._totals.add(row_priority, -1, -size)
                groups.setdefault(topic, _DropGroup()).add(device_id, ordinal)
                if not still_over():
                    break
            db.executemany("DELETE FROM readings WHERE id = ?", [(v,) for v in victims])

    def peek(self, limit: int) -> list[BufferedRow]:
        rows = [
            BufferedRow(row_id, topic, device_id, ordinal, bytes(payload))
            for row_id, topic, device_id, ordinal, payload in self._db().execute(
                "SELECT id, topic, device_id, ordinal, payload FROM readings ORDER BY id LIMIT ?", (limit,)
            )
        ]
        self._leased_max_id = rows[-1].row_id if rows else 0
        return rows

    def ack(self, row_ids: list[int]) -> None:
        db = self._db()
        with _transaction(db):
            for chunk_start in range(0, len(row_ids), 500):
                chunk = row_ids[chunk_start : chunk_start + 500]
                marks = ",".join("?" * len(chunk))
                for priority, rows, size in db.execute(
                    f"SELECT priority, count(*), coalesce(sum(length(payload)), 0) FROM readings "  # noqa: S608
                    f"WHERE id IN ({marks}) GROUP BY priority",
                    chunk,
                ).fetchall():
                    self._totals.add(priority, -rows, -size)
                db.execute(f"DELETE FROM readings WHERE id IN ({marks})", chunk)  # noqa: S608
        self._leased_max_id = 0

    def pending_groups(self) -> list[tuple[str, str | None]]:
        return [(str(t), d) for t, d in self._db().execute("SELECT DISTINCT topic, device_id FROM readings")]

    def ack_through(self, topic: str, device_id: str | None, ordinal: int) -> int:
        db = self._db()
        where = "topic = ? AND device_id IS ? AND ordinal <= ?"
        with _transaction(db):
            for priority, rows, size in db.execute(
                f"SELECT priority, count(*), coalesce(sum(length(payload)), 0) FROM readings WHERE {where} "  # noqa: S608
                "GROUP BY priority",
                (topic, device_id, ordinal),
            ).fetchall():
                self._totals.add(priority, -rows, -size)
            deleted = db.execute(f"DELETE FROM readings WHERE {where}", (topic, device_id, ordinal)).rowcount  # noqa: S608
        return int(deleted)

    def release(self) -> None:
        self._leased_max_id = 0

    def get_meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, items: Mapping[str, str]) -> None:
        self._db().executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            list(items.items()),
        )


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); nests as a no-op inside an open transaction."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def buffer_file_summary(path: Path) -> dict[str, int]:
    """Row counts per topic of a buffer file, read-only (for operators and tests; safe while a gateway runs)."""
    if not os.path.exists(path):
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {topic: int(n) for topic, n in conn.execute("SELECT topic, count(*) FROM readings GROUP BY topic")}
    finally:
        conn.close()
