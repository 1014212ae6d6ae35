"""The worker's in-memory view of the patients on its partitions (plain Python, no faust).

Each patient's :class:`PatientRuntime` is kept decoded between readings and written to the faust table every
``persist_interval_s`` (and at every alert or session event). Readings are acknowledged to Kafka only after the
state that includes them is in the table, so the committed offset never runs ahead of the stored state: after a
crash the replacement worker restores the state and replays only readings the state has not seen (older ones
are recognised by their sequence numbers and skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from analytics.stream.runtime import PatientRuntime


@dataclass
class Entry:
    runtime: PatientRuntime
    partition: int
    pending: list[Any] = field(default_factory=list)  # faust events not yet acknowledged
    last_persist_mono: float = 0.0
    dirty: bool = False


class RuntimeCache:
    def __init__(self, clock: Callable[[], float], persist_interval_s: float) -> None:
        self._clock = clock
        self._interval = persist_interval_s
        self._entries: dict[str, Entry] = {}
        self.known: dict[str, int] = {}  # patients on our partitions that may need ticks: id -> partition

    def get(self, patient_id: str) -> Entry | None:
        return self._entries.get(patient_id)

    def put(self, patient_id: str, runtime: PatientRuntime, partition: int) -> Entry:
        entry = Entry(runtime, partition, last_persist_mono=self._clock())
        self._entries[patient_id] = entry
        self.known[patient_id] = partition
        return entry

    def due(self, entry: Entry) -> bool:
        return entry.dirty and self._clock() - entry.last_persist_mono >= self._interval

    def persisted(self, entry: Entry) -> list[Any]:
        """Mark ``entry`` stored; returns the events that may now be acknowledged."""
        entry.last_persist_mono = self._clock()
        entry.dirty = False
        pending, entry.pending = entry.pending, []
        return pending

    def drop_partitions(self, partitions: set[int]) -> None:
        """Forget patients of partitions we no longer own (their next owner restores them from the table)."""
        for pid in [p for p, e in self._entries.items() if e.partition in partitions]:
            del self._entries[pid]
        for pid in [p for p, part in self.known.items() if part in partitions]:
            del self.known[pid]

    def items(self) -> Iterator[tuple[str, Entry]]:
        return iter(list(self._entries.items()))

    def __len__(self) -> int:
        return len(self._entries)
