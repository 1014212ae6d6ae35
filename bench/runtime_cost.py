"""CPU per reading of the stream worker's pure part, without Kafka: a probe for work on the runtime, not a benchmark.

Simulated patients (the stream benchmark's fleet, translated like the gateway) are folded through
:meth:`analytics.stream.runtime.PatientRuntime.on_reading`, each reading processed live (50 ms after its gateway
time, so the alert engine runs as it does live; ``--late``: 60 s after, as when a worker drains a backlog), and
every fifth reading's patient writes its state (about once per 5 s per patient, like the worker). Reports CPU µs
per reading, best of ``--repeats``; ``--profile`` adds a cProfile table. Not run by ``make bench`` (it has no
baseline or target); the figure is the one quoted in docs/stream.md.

Run ``.venv/bin/python -m bench.runtime_cost [--patients 200] [--seconds 600] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time

from analytics.stream.defaults import default_prescription
from analytics.stream.runtime import PatientRuntime
from bench.bench_stream import NS_PER_S, Load, scenario_source
from ingest.events import SensorHrV1

START_NS = 1_800_000_000 * NS_PER_S
PROCESSED_AFTER_NS = 50_000_000
STATE_WRITE_EVERY = 5


def readings_of(load: Load, seconds: int) -> list[SensorHrV1]:
    fleet, translator = load.fleet(START_NS)
    out: list[SensorHrV1] = []
    for note in fleet.advance_to(START_NS + seconds * NS_PER_S):
        event = translator.translate(note)
        if isinstance(event, SensorHrV1):
            out.append(event)
    return out


def fold(load: Load, readings: list[SensorHrV1], after_ns: int = PROCESSED_AFTER_NS) -> None:
    rx = {pid: default_prescription(pid) for pid in load.patient_ids}
    runtimes = {pid: PatientRuntime(pid) for pid in load.patient_ids}
    for i, reading in enumerate(readings):
        runtime = runtimes[reading.patient_id]
        runtime.on_reading(reading, rx[reading.patient_id], now_ns=reading.gateway_time_ns + after_ns)
        if i % STATE_WRITE_EVERY == 0:
            runtime.dump()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=600, help="simulated seconds per patient")
    ap.add_argument("--scenario", default="rehab_session")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--late",
        action="store_true",
        help="process every reading late (60 s after it), as a worker draining a backlog does",
    )
    ap.add_argument("--profile", action="store_true", help="also print the top functions by own time (cProfile)")
    args = ap.parse_args()
    load = Load(args.patients, 1, scenario_source(args.scenario), 12)
    readings = readings_of(load, args.seconds)
    gc.freeze()  # the fleet's objects are not what is measured
    after_ns = 60 * NS_PER_S if args.late else PROCESSED_AFTER_NS
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.process_time()
        fold(load, readings, after_ns)
        best = min(best, time.process_time() - t0)
    print(f"{len(readings)} readings, {best / len(readings) * 1e6:.1f} µs of CPU per reading (best of {args.repeats})")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(fold, load, readings, after_ns)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
