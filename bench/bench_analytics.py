"""Analytics benchmark: patient-seconds of live features per second on one core.

Streaming, as the live processor (``analytics/stream/runtime.py``) uses :class:`PatientStream`: per patient and
per second one sensor reading (``update``), then ``snapshot`` at the reading's time, and the snapshot fields the
runtime reads are read (so nothing the runtime pays for can be deferred out of the measurement); every 5 s of
simulated time per patient the state is written with ``to_state`` (the worker persists it about every 5 s).
Two figures: with persistence (the headline, ``streaming_patient_seconds_per_s``, which ``pass`` is judged on)
and without it. The cost of ``to_state`` / ``from_state`` and the state's JSON size are reported separately.

Baseline, in the same run: the batch functions recomputing the same features each second over the trailing
window (5 minutes of HR and RR).

Readings are simulated like a Polar H10 through the gateway: integer heart rate (bpm) and RR intervals in
1/1024 s converted to ms (``ingest.gatt``), one reading a second, rest / warm-up / exercise / cool-down / recovery
with ~1 % premature beats.

Run ``.venv/bin/python bench/bench_analytics.py`` (``--quick`` for a smoke run). Writes
``bench/results/analytics.json``. Times are CPU time of this process (``time.process_time``), best of
``--repeats`` runs, so other work on a shared machine disturbs the figure as little as possible.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.physiology.artefacts import correct_rr
from analytics.physiology.load import banister_trimp, edwards_trimp
from analytics.physiology.phases import detect_phases
from analytics.physiology.prescription import PeakHrSource, Prescription, Sex, karvonen_prescription
from analytics.physiology.quality import assess_signal_quality
from analytics.physiology.rhythm import screen_rhythm
from analytics.physiology.snapshot import StreamSnapshot, recent_rest_hrv
from analytics.physiology.streaming import PatientStream
from analytics.physiology.timebase import hr_per_second
from analytics.physiology.zones import time_in_zones

TARGET_PATIENT_SECONDS_PER_S = 50_000
BATCH_WINDOW_S = 300
PERSIST_EVERY_S = 5
"""The stream worker stores each patient's state about every 5 s (``persist_interval_s``)."""

Reading = tuple[float, float, tuple[float, ...], bool]
"""(time s, heart rate bpm, RR intervals ms, skin contact): immutable, like the decoded ``SensorHrV1``."""


def simulate_session(seed: int, duration_s: int) -> list[Reading]:
    """One reading per second: rest, warm-up, exercise, cool-down, recovery; RR with ~1 % ectopy.

    Heart rate is whole bpm and RR is a whole number of 1/1024 s, as a Polar H10 reports them.
    """
    rng = np.random.default_rng(seed)
    knots_t = np.array([0, 0.15, 0.3, 0.75, 0.9, 1.0]) * duration_s
    knots_hr = np.array([65, 68, 110, 115, 80, 70]) + rng.normal(0, 3, 6)
    t = 0.0
    readings: list[Reading] = []
    pending: list[float] = []
    for sec in range(duration_s):
        hr_now = float(np.interp(sec, knots_t, knots_hr))
        while t < sec + 1:
            rr = 60000.0 / hr_now * (1 + 0.03 * math.sin(t / 4.0) + 0.01 * rng.normal())
            if rng.random() < 0.01:
                rr *= 0.7
            rr = round(rr * 1.024) * 1000 / 1024  # 1/1024-s ticks, exact in ms (ingest.gatt.rr_1024_to_ms)
            t += rr / 1000.0
            pending.append(rr)
        readings.append((sec + 0.5, float(round(hr_now + rng.normal(0, 1))), tuple(pending), True))
        pending = []
    return readings


def read_live_fields(snap: StreamSnapshot) -> tuple[object, ...]:
    """The snapshot fields ``analytics/stream/runtime.py`` reads for every reading (features, alerts, summary)."""
    tiz = snap.time_in_zones
    return (
        snap.hr_bpm,
        snap.phase,
        tiz.in_band_s,
        tiz.in_band_pct,
        tiz.seconds_by_zone,
        snap.trimp_banister,
        snap.trimp_edwards,
        snap.rmssd_ms,
        snap.sdnn_ms,
        snap.session_peak_hr_bpm,
        snap.rhythm_irregular,
        snap.artefacts.corrected_pct,
        snap.recovery,
        snap.signal.state,
        snap.signal.data_age_s,
        snap.elapsed_s,
        snap.readings,
    )


def bench_streaming(sessions: list[list[Reading]], p: Prescription, *, persist: bool) -> tuple[float, int]:
    """CPU seconds spent and patient-seconds processed by the streaming form, as the live processor uses it."""
    streams = [PatientStream(p, 0.0) for _ in sessions]
    n = 0
    # the simulated input is immutable tuples: after one collection the cyclic GC stops tracking it, so it does
    # not rescan the benchmark's own input during the run (the streams' allocations are collected as usual)
    gc.collect()
    start = time.process_time()
    for sec in range(len(sessions[0])):
        for i, (ps, sess) in enumerate(zip(streams, sessions, strict=True)):
            t_s, hr, rr, contact = sess[sec]
            ps.update(t_s, hr, rr, contact)
            read_live_fields(ps.snapshot(t_s))
            if persist and (sec + i) % PERSIST_EVERY_S == 0:  # patients' writes are spread over the 5 s
                ps.to_state()
            n += 1
    return time.process_time() - start, n


def state_costs(sessions: list[list[Reading]], p: Prescription) -> dict[str, float]:
    """What persisting costs: ``to_state`` timed where the worker calls it (every 5 s, all patients interleaved,
    so caches are cold), then, on the states at the end of the sessions, their compact-JSON size, the JSON
    encoding the worker adds (msgspec) and ``from_state`` after decoding (a cache miss in the worker)."""
    streams = [PatientStream(p, 0.0) for _ in sessions]
    to_state_s: list[float] = []
    gc.collect()
    for sec in range(len(sessions[0])):
        for i, (ps, sess) in enumerate(zip(streams, sessions, strict=True)):
            t_s, hr, rr, contact = sess[sec]
            ps.update(t_s, hr, rr, contact)
            read_live_fields(ps.snapshot(t_s))
            if (sec + i) % PERSIST_EVERY_S == 0:
                start = time.perf_counter()
                ps.to_state()
                to_state_s.append(time.perf_counter() - start)
    states = [ps.to_state() for ps in streams]
    texts = [json.dumps(s, allow_nan=False, separators=(",", ":")) for s in states]
    decoded = [json.loads(t) for t in texts]
    from_s = min(_cpu(lambda: [PatientStream.from_state(d) for d in decoded]) for _ in range(5)) / len(decoded)
    out: dict[str, float] = {
        "to_state_us": round(sum(to_state_s) / len(to_state_s) * 1e6, 1),
        "from_state_us": round(from_s * 1e6, 1),
        "json_bytes": round(sum(map(len, texts)) / len(texts)),
    }
    encode = msgspec.json.Encoder().encode  # what the worker stores (the whole runtime state, this included)
    out["msgspec_encode_us"] = round(
        min(_cpu(lambda: [encode(s) for s in states]) for _ in range(5)) / len(states) * 1e6, 1
    )
    return out


def _cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of one call."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def bench_batch(session: list[Reading], p: Prescription, seconds: range) -> tuple[float, int]:
    """Recompute the same features with the batch functions over the trailing window, each second."""
    t_all = np.array([r[0] for r in session])
    hr_all = np.array([r[1] for r in session])
    rr_by_sec = [r[2] for r in session]
    rest_level = p.rest_hr_bpm + 0.2 * (p.heart_rate_reserve_bpm or 0.0)
    n = 0
    start = time.process_time()
    for sec in seconds:
        lo = max(sec + 1 - BATCH_WINDOW_S, 0)
        hr = hr_per_second(t_all[lo : sec + 1], hr_all[lo : sec + 1], float(lo), sec + 1 - lo)
        time_in_zones(hr, p)
        assert p.peak_hr_bpm is not None
        banister_trimp(hr, p.rest_hr_bpm, p.peak_hr_bpm, p.banister_k)
        edwards_trimp(hr, p.peak_hr_bpm)
        detect_phases(hr, p)
        rr = [v for chunk in rr_by_sec[lo : sec + 1] for v in chunk]
        if len(rr) >= 4:
            c = correct_rr(rr)
            recent_rest_hrv(c.rr_ms.tolist(), rest_level)
            screen_rhythm(c.rr_ms, c.corrected_mask)
        assess_signal_quality(sec + 1.0, t_all[lo : sec + 1], hr_all[lo : sec + 1], None, 0.0)
        n += 1
    return time.process_time() - start, n


def machine() -> dict[str, object]:
    """Platform and CPU description."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu, "cores": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--repeats", type=int, default=3, help="take the best of this many runs")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "analytics.json")
    args = ap.parse_args(argv)
    n_patients, duration_s, batch_seconds = (4, 600, 60) if args.quick else (16, 3600, 600)
    p = karvonen_prescription(65.0, 150.0, PeakHrSource.CPET, sex=Sex.MALE)
    sessions = [simulate_session(seed, duration_s) for seed in range(n_patients)]
    # best of N repeats (like timeit): the machine is shared, the minimum is the least-disturbed run; the two
    # streaming forms alternate so that both see the same machine conditions
    plain: list[tuple[float, int]] = []
    persisted: list[tuple[float, int]] = []
    for _ in range(args.repeats):
        plain.append(bench_streaming(sessions, p, persist=False))
        persisted.append(bench_streaming(sessions, p, persist=True))
    s_el, s_n = min(persisted)
    np_el, np_n = min(plain)
    b_el, b_n = min(
        bench_batch(sessions[0], p, range(duration_s - batch_seconds, duration_s)) for _ in range(args.repeats)
    )
    state = state_costs(sessions, p)
    stream_rate, plain_rate, batch_rate = s_n / s_el, np_n / np_el, b_n / b_el
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "streaming_patient_seconds": s_n,
        "batch_patient_seconds": b_n,
        "streaming_patient_seconds_per_s": round(stream_rate, 1),
        "streaming_with_persistence_patient_seconds_per_s": round(stream_rate, 1),
        "streaming_without_persistence_patient_seconds_per_s": round(plain_rate, 1),
        "batch_patient_seconds_per_s": round(batch_rate, 1),
        "ratio": round(stream_rate / batch_rate, 1),
        "target": TARGET_PATIENT_SECONDS_PER_S,
        "pass": stream_rate >= TARGET_PATIENT_SECONDS_PER_S,
        "pass_without_persistence": plain_rate >= TARGET_PATIENT_SECONDS_PER_S,
        "persist_every_s": PERSIST_EVERY_S,
        "state": state,
        "batch_window_s": BATCH_WINDOW_S,
        "repeats": args.repeats,
        "clock": "time.process_time (CPU time of this process, one core)",
        "note": (
            "one core, one process; streaming = update + snapshot (+ the fields the runtime reads) per "
            f"patient-second, plus to_state every {PERSIST_EVERY_S} s per patient (headline and pass; "
            "also given without it); best of repeats"
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
