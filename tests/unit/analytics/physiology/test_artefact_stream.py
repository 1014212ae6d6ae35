"""The streaming artefact corrector gives exactly the batch result, with a bounded delay."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.physiology import InvalidInputError, StreamingRrCorrector, correct_rr
from analytics.physiology.artefacts import SEGMENT_MARGIN_BEATS
from analytics.physiology.const import LT_INTERP_REACH_BEATS
from tests.unit.analytics.physiology.simulate import inject_artefacts, sinus_rr

MAX_DELAY_BASE = SEGMENT_MARGIN_BEATS + LT_INTERP_REACH_BEATS

SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _stream(rr: np.ndarray, chunks: list[int], block: int, roundtrip_every: int = 0):
    s = StreamingRrCorrector(block_beats=block)
    vals, srcs, corr = [], [], []
    i = k = 0
    while i < rr.size:
        n = chunks[k % len(chunks)]
        out = s.push(rr[i : i + n].tolist())
        vals.append(out.rr_ms), srcs.append(out.source_index), corr.append(out.corrected)
        assert s.pending_beats <= MAX_DELAY_BASE + block + n
        i += n
        k += 1
        if roundtrip_every and k % roundtrip_every == 0:
            s = StreamingRrCorrector.from_state(json.loads(json.dumps(s.to_state())))
    out = s.flush()
    vals.append(out.rr_ms), srcs.append(out.source_index), corr.append(out.corrected)
    return s, np.concatenate(vals), np.concatenate(srcs), np.concatenate(corr)


rr_series = st.builds(
    lambda n, seed, events, af: (
        np.abs(inject_artefacts(sinus_rr(n, seed=seed), events, seed=seed).rr_ms)
        if not af
        else np.random.default_rng(seed).uniform(350, 1300, n)
    ),
    n=st.integers(130, 700),
    seed=st.integers(0, 10_000),
    events=st.integers(0, 3),
    af=st.booleans(),
)


@SETTINGS
@given(
    rr=rr_series,
    chunks=st.lists(st.integers(1, 9), min_size=1, max_size=5),
    block=st.integers(1, 160),
    roundtrip=st.integers(0, 7),
)
def test_streaming_equals_batch(rr: np.ndarray, chunks: list[int], block: int, roundtrip: int) -> None:
    batch = correct_rr(rr)
    s, vals, srcs, corr = _stream(rr, chunks, block, roundtrip)
    assert np.array_equal(vals, batch.rr_ms)
    assert np.array_equal(srcs, batch.source_index)
    assert np.array_equal(corr, batch.corrected_mask)
    assert s.counts() == batch.counts


@SETTINGS
@given(rr=st.lists(st.floats(200, 2500), min_size=0, max_size=150), block=st.integers(1, 40))
def test_streaming_equals_batch_on_arbitrary_short_series(rr: list[float], block: int) -> None:
    arr = np.asarray(rr, dtype=float)
    _, vals, srcs, _ = _stream(arr, [3], block) if arr.size else (None, np.empty(0), np.empty(0, int), None)
    batch = correct_rr(arr)
    assert np.array_equal(vals, batch.rr_ms) and np.array_equal(srcs, batch.source_index)


def test_delay_is_bounded_and_output_arrives_before_flush() -> None:
    rr = sinus_rr(1000, seed=4)
    s = StreamingRrCorrector(block_beats=64)
    emitted = 0
    for i, v in enumerate(rr):
        emitted += s.push([v]).rr_ms.size
        assert i + 1 - s.n_final <= MAX_DELAY_BASE + 64
    assert emitted >= 1000 - MAX_DELAY_BASE - 64
    assert emitted + s.flush().rr_ms.size == correct_rr(rr).rr_ms.size


def test_state_is_plain_json() -> None:
    s = StreamingRrCorrector()
    s.push(sinus_rr(300).tolist())
    state = s.to_state()
    assert json.loads(json.dumps(state)) == state


def test_refuses_bad_values_and_push_after_flush() -> None:
    s = StreamingRrCorrector()
    with pytest.raises(InvalidInputError):
        s.push([800.0, float("nan")])
    s.flush()
    with pytest.raises(InvalidInputError):
        s.push([800.0])
    with pytest.raises(InvalidInputError):
        StreamingRrCorrector(block_beats=0)
