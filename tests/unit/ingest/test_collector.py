"""The collector setting of the stream processes."""

from __future__ import annotations

import gc

from ingest.collector import collect_less_often


def test_the_collector_threshold_is_raised_and_the_older_generations_kept() -> None:
    before = gc.get_threshold()
    try:
        collect_less_often(200_000)
        assert gc.get_threshold() == (200_000, before[1], before[2])
    finally:
        gc.set_threshold(*before)
