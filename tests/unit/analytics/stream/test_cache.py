"""Holds: a bundle is acknowledged only when every patient state that includes one of its readings is stored.
Unstored: a stored state frees the bundles it includes, no others.
RuntimeCache: patients loaded together come due for a write spread over the persist interval."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from analytics.stream.cache import Behind, Holds, RuntimeCache, Unstored


@dataclass(eq=False)
class Message:
    partition: int


@dataclass(eq=False)
class Event:
    message: Message


def test_the_last_release_frees_the_event() -> None:
    holds, bundle = Holds(), Event(Message(0))
    holds.hold(bundle)  # while processing
    holds.hold(bundle)  # patient A's state
    holds.hold(bundle)  # patient B's state
    assert not holds.release(bundle)  # processed
    assert not holds.release(bundle)  # A stored
    assert holds.release(bundle)  # B stored: acknowledge now
    assert len(holds) == 0


def test_equal_events_are_counted_apart() -> None:
    holds, a, b = Holds(), Event(Message(0)), Event(Message(0))
    holds.hold(a)
    holds.hold(b)
    assert holds.release(a) and holds.release(b)


def test_events_of_revoked_partitions_are_forgotten() -> None:
    holds, mine, gone = Holds(), Event(Message(1)), Event(Message(2))
    holds.hold(mine)
    holds.hold(gone)
    holds.drop_partitions({2})
    assert len(holds) == 1 and holds.release(mine)
    assert not holds.release(gone)  # a pass still in flight when its partition went: never acknowledged here


def test_a_forgotten_event_is_never_acknowledged_whatever_holds_it_gets_after() -> None:
    holds, gone = Holds(), Event(Message(2))
    holds.hold(gone)  # while its pass is processed
    holds.drop_partitions({2})
    holds.hold(gone)  # the pass finishes after the revocation: a patient's state includes it
    assert not holds.release(gone) and not holds.release(gone) and len(holds) == 0


def test_a_stored_state_frees_only_the_bundles_of_requests_up_to_its_own() -> None:
    unstored, e1, e2, e3 = Unstored(), Event(Message(0)), Event(Message(0)), Event(Message(0))
    assert unstored.add(b"k", e1, 4) and not unstored.add(b"k", e1, 4)
    assert unstored.add(b"k", e2, 6)
    assert unstored.stored(b"k", 5) == [e1]  # a tick answered between the two batches
    assert unstored.add(b"k", e3, 7)
    assert unstored.stored(b"k", 7) == [e2, e3] and unstored.stored(b"k", 9) == []


def test_behind_is_now_minus_the_newest_append_and_expires_when_idle() -> None:
    behind = Behind(valid_s=2.0, cap_s=60.0)
    assert behind.seconds(now_mono=0.0) == 0.0
    behind.observe(newest_append_ms=1_000_000, now_ns=1_003_500 * 1_000_000, now_mono=10.0)
    assert behind.seconds(now_mono=11.0) == 3.5
    assert behind.seconds(now_mono=12.5) == 0.0  # nothing processed for 2.5 s: idle, not behind
    behind.observe(newest_append_ms=2_000_000, now_ns=1_999_000 * 1_000_000, now_mono=20.0)  # clock skew
    assert behind.seconds(now_mono=20.0) == 0.0
    behind.observe(newest_append_ms=0, now_ns=1_000_000 * 1_000_000, now_mono=30.0)
    assert behind.seconds(now_mono=30.0) == 60.0


def test_patients_loaded_together_come_due_spread_over_the_interval() -> None:
    now = [1000.0]
    cache = RuntimeCache(lambda: now[0], persist_interval_s=5.0)
    runtime: Any = object()
    rx: Any = object()
    entries = [cache.put(f"patient-{i:04d}", runtime, 0, rx) for i in range(1000)]
    for entry in entries:
        entry.dirty = True
    first_due: list[float] = []
    pending = list(entries)
    for step in range(1, 101):  # 5 s in 50 ms steps
        now[0] = 1000.0 + step * 0.05
        first_due += [now[0]] * sum(1 for e in pending if cache.due(e))
        pending = [e for e in pending if not cache.due(e)]
    assert not pending, "every state comes due within one interval"
    per_second = Counter(int(t - 1000.0) for t in first_due)
    assert max(per_second.values()) < 300, per_second  # about 200 a second, not 1,000 at once
    assert min(first_due) - 1000.0 < 0.5 and max(first_due) - 1000.0 > 4.5


def test_a_stored_state_comes_due_again_one_interval_later() -> None:
    now = [50.0]
    cache = RuntimeCache(lambda: now[0], persist_interval_s=5.0)
    runtime: Any = object()
    rx: Any = object()
    entry = cache.put("p", runtime, 0, rx)
    entry.dirty = True
    now[0] = 56.0
    assert cache.due(entry)
    cache.persisted(entry)
    entry.dirty = True
    now[0] = 60.9
    assert not cache.due(entry)
    now[0] = 61.0
    assert cache.due(entry)
