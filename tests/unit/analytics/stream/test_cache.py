"""Holds: a bundle is acknowledged only when every patient state that includes one of its readings is stored."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.stream.cache import Holds


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
