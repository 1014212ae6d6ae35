"""The worker's in-memory view of the patients on its partitions (plain Python, no faust).

Each patient's :class:`PatientRuntime` is kept decoded between readings, in the shard that folds its readings
(:mod:`analytics.stream.shard`), and written to the faust table every ``persist_interval_s`` (and at every alert
or session event). A bundle of readings is acknowledged to Kafka only after the states of all patients it has
readings of are in the table (:class:`Holds`, :class:`Unstored`), so the committed offset never runs ahead of the
stored state: after a crash the replacement worker restores the state and replays only readings the state has not
seen (older ones are recognised by their sequence numbers and skipped).
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from analytics.events import PrescriptionV1
from analytics.stream.runtime import PatientRuntime


@dataclass
class Entry:
    runtime: PatientRuntime
    partition: int
    rx: PrescriptionV1  # the patient's prescription in force
    last_persist_mono: float = 0.0
    dirty: bool = False


class RuntimeCache:
    def __init__(self, clock: Callable[[], float], persist_interval_s: float) -> None:
        self._clock = clock
        self._interval = persist_interval_s
        self._entries: dict[str, Entry] = {}

    def get(self, patient_id: str) -> Entry | None:
        return self._entries.get(patient_id)

    def put(self, patient_id: str, runtime: PatientRuntime, partition: int, rx: PrescriptionV1) -> Entry:
        """Keep a patient's state; its first write comes due at a fixed point of the interval that depends on the
        patient, not on when it was loaded. Patients loaded together (a worker's start, a rebalance, a class
        starting on the hour) would otherwise all come due in the same second of every interval: a burst of
        thousands of state writes (about 70 µs each) that delays every reading queued behind it."""
        phase = zlib.crc32(patient_id.encode()) / 2**32 * self._interval
        entry = Entry(runtime, partition, rx, last_persist_mono=self._clock() - phase)
        self._entries[patient_id] = entry
        return entry

    def due(self, entry: Entry) -> bool:
        return entry.dirty and self._clock() - entry.last_persist_mono >= self._interval

    def persisted(self, entry: Entry) -> None:
        """Mark ``entry`` stored."""
        entry.last_persist_mono = self._clock()
        entry.dirty = False

    def drop_partitions(self, partitions: set[int]) -> None:
        """Forget patients of partitions we no longer own (their next owner restores them from the table)."""
        for pid in [p for p, e in self._entries.items() if e.partition in partitions]:
            del self._entries[pid]

    def items(self) -> Iterator[tuple[str, Entry]]:
        return iter(list(self._entries.items()))

    def __len__(self) -> int:
        return len(self._entries)


class Unstored:
    """Per patient, the bundles whose readings a shard folded into the patient's state since it was last stored,
    each with the ticket of the request that folded them (requests are answered in ticket order, see
    :class:`analytics.stream.shards.Turns`)."""

    def __init__(self) -> None:
        self._events: dict[bytes, list[tuple[Any, int]]] = {}

    def add(self, key: bytes, event: Any, ticket: int) -> bool:
        """Note that ``key``'s state includes readings of ``event``; True when that is new (hold the event)."""
        events = self._events.setdefault(key, [])
        if events and events[-1][0] is event:
            return False
        events.append((event, ticket))
        return True

    def stored(self, key: bytes, ticket: int) -> list[Any]:
        """``key``'s state as of request ``ticket`` was stored: the events it includes, to be released. Events of
        later requests stay (a tick answered before a batch can store its state after the batch was noted here)."""
        events = self._events.pop(key, [])
        later = [(event, t) for event, t in events if t > ticket]
        if later:
            self._events[key] = later
        return [event for event, t in events if t <= ticket]

    def drop_partitions(self, partitions: set[int]) -> None:
        """Forget the patients of partitions we no longer own (their events are never acknowledged here)."""
        for key in [k for k, events in self._events.items() if events[0][0].message.partition in partitions]:
            del self._events[key]

    def __len__(self) -> int:
        return len(self._events)


class Holds:
    """Counts, per event, the reasons it may not be acknowledged yet (one per patient state not yet stored that
    includes one of its readings, plus one while the event itself is being processed)."""

    def __init__(self) -> None:
        self._held: dict[int, list[Any]] = {}  # id(event) -> [event, count]
        self._forgotten: weakref.WeakSet[Any] = weakref.WeakSet()

    def hold(self, event: Any) -> None:
        if event in self._forgotten:
            return
        held = self._held.get(id(event))
        if held is None:
            self._held[id(event)] = [event, 1]
        else:
            held[1] += 1

    def release(self, event: Any) -> bool:
        """Drop one hold; True when it was the last (the event may be acknowledged now). An event forgotten with its
        partition (:meth:`drop_partitions`) is never acknowledged here, whatever holds it gets after (a pass still
        in flight when the partition went)."""
        held = self._held.get(id(event))
        if held is None:
            return False
        held[1] -= 1
        if held[1] > 0:
            return False
        del self._held[id(event)]
        return True

    def drop_partitions(self, partitions: set[int]) -> None:
        """Forget events of partitions we no longer own (never acknowledged: their next owner reprocesses them)."""
        for key in [k for k, (event, _) in self._held.items() if event.message.partition in partitions]:
            self._forgotten.add(self._held.pop(key)[0])

    def __len__(self) -> int:
        return len(self._held)


class Behind:
    """How far the agent is behind the sensor topic: now minus the append time of the newest reading it processed.

    A patient counts as quiet (and gets clock ticks) when no reading of theirs was *processed* for a while. When the
    worker lags by L seconds every patient's readings are processed L seconds late, so without this correction a
    lagging worker would tick all its patients, and each tick costs a faust event: more lag, more ticks. The figure
    expires after ``valid_s`` without readings (an idle worker is not behind).
    """

    def __init__(self, valid_s: float = 2.0, cap_s: float = 60.0) -> None:
        self._valid_s = valid_s
        self._cap_s = cap_s
        self._seconds = 0.0
        self._at_mono = float("-inf")

    def observe(self, newest_append_ms: int, now_ns: int, now_mono: float) -> None:
        self._seconds = min(self._cap_s, max(0.0, now_ns / 1e9 - newest_append_ms / 1e3))
        self._at_mono = now_mono

    def seconds(self, now_mono: float) -> float:
        return self._seconds if now_mono - self._at_mono <= self._valid_s else 0.0
