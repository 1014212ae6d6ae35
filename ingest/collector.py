"""The cyclic garbage collector setting of our long-running stream processes (the sink, the stream workers)."""

from __future__ import annotations

import gc


def collect_less_often(gen0_threshold: int) -> None:
    """Run CPython's cyclic garbage collector less often in this process.

    A stream process allocates a few hundred thousand short-lived, acyclic objects a second (Kafka records, events,
    column lists, per-reading results), which reference counting frees. CPython starts a young-generation
    collection when the tracked objects allocated minus those freed exceed the first threshold (700 by default), so
    with the default the collector ran thousands of times a second and walked every batch in flight again and
    again: about a tenth of the sink's time (``bench/bench_sink.py``, measured with ``gc.callbacks``), and in the
    stream worker, whose thousands of patient states make each older-generation pass long, pauses that queued every
    reading behind them (``bench/bench_stream.py``). With a threshold above what the batches in flight hold, their
    objects are freed before a collection would visit them and collections become rare. The cost is that cyclic
    garbage (rare here) waits longer: at most ``gen0_threshold`` objects, tens of megabytes.
    """
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)
