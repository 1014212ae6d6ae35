"""Writing a faust table for a patient while processing a batch of several patients' readings.

faust decides which changelog partition and which local RocksDB a table write belongs to from the *current
event* (a context variable it sets while iterating a stream). When the sensor agent takes readings in batches
(``noack_take``), the current event is whichever arrived last, which may be another patient's, on another
partition. :func:`event_context` makes the patient's own reading current for the duration of its table write.

Reads have the same trap the other way round: with a current event, the RocksDB store looks for a key only in
that event's partition. :func:`no_event_context` makes it look wherever the key is (a patient's stored state is
read for a runtime shard, outside any event of the patient's own partition).

This relies on ``faust.streams._current_event`` (faust-streaming 0.15.3); the agent tests fail if it changes.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event


@contextmanager
def event_context(event: Any) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@contextmanager
def no_event_context() -> Iterator[None]:
    token = _current_event.set(None)
    try:
        yield
    finally:
        _current_event.reset(token)
