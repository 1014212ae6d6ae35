"""Simulator benchmark: simulated patient-seconds per second, bytes included, on one core of one process.

A :class:`ingest.simulator.Fleet` of N patients (default 10 000, the ``demo`` mix) is advanced one simulated second
at a time; every notification it emits (HRM, battery, PMD ECG frames) is then decoded with :mod:`ingest.gatt`, and
the two are timed separately, so the report gives the generator's throughput and the decoder's share of the work.
Times are CPU time of this process (``time.process_time``), so other load on the machine does not count; wall time
is reported too. Target: 10 000 patients at 1 Hz in real time, i.e. >= 10 000 patient-seconds/s including byte
encoding.

Run ``.venv/bin/python bench/bench_simulator.py`` (``--quick`` for a short run). Writes
``bench/results/simulator.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.gatt import parse_battery_level, parse_heart_rate_measurement, parse_pmd_frame
from ingest.simulator import Fleet, load_mix, load_scenario

TARGET_PATIENT_SECONDS_PER_S = 10_000
NS_PER_S = 1_000_000_000
WARM_UP_S = 3  # straps lock on during the first seconds; not timed


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
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
    }


def run_case(label: str, source: str, patients: int, seconds: int, seed: int) -> dict[str, object]:
    """Advance a fleet ``seconds`` simulated seconds; time generation and decoding separately."""
    scenarios = load_mix(source) if source == "demo" else load_scenario(source)
    setup_cpu = time.process_time()
    fleet = Fleet(patients, seed, scenarios)
    setup_cpu = time.process_time() - setup_cpu
    fleet.advance_to(WARM_UP_S * NS_PER_S)
    kinds: Counter[str] = Counter()
    payload_bytes = 0
    gen_cpu = dec_cpu = gen_wall = dec_wall = 0.0
    decoders = {"hrm": parse_heart_rate_measurement, "battery": parse_battery_level, "pmd_ecg": parse_pmd_frame}
    for second in range(WARM_UP_S + 1, WARM_UP_S + seconds + 1):
        c0, w0 = time.process_time(), time.perf_counter()
        notes = fleet.advance_to(second * NS_PER_S)
        c1, w1 = time.process_time(), time.perf_counter()
        for note in notes:
            decoders[note.kind](note.payload)
        c2, w2 = time.process_time(), time.perf_counter()
        gen_cpu += c1 - c0
        dec_cpu += c2 - c1
        gen_wall += w1 - w0
        dec_wall += w2 - w1
        kinds.update(n.kind for n in notes)
        payload_bytes += sum(len(n.payload) for n in notes)
    patient_seconds = patients * seconds
    notifications = sum(kinds.values())
    return {
        "case": label,
        "scenarios": source,
        "patients": patients,
        "simulated_seconds": seconds,
        "patient_seconds": patient_seconds,
        "notifications": dict(sorted(kinds.items())),
        "payload_bytes": payload_bytes,
        "setup_cpu_s": round(setup_cpu, 3),
        "generate_cpu_s": round(gen_cpu, 3),
        "decode_cpu_s": round(dec_cpu, 3),
        "generate_wall_s": round(gen_wall, 3),
        "decode_wall_s": round(dec_wall, 3),
        "generate_patient_seconds_per_s": round(patient_seconds / gen_cpu),
        "generate_patient_seconds_per_s_wall": round(patient_seconds / gen_wall),
        "generate_and_decode_patient_seconds_per_s": round(patient_seconds / (gen_cpu + dec_cpu)),
        "decoder_share": round(dec_cpu / (gen_cpu + dec_cpu), 3),
        "generate_us_per_notification": round(gen_cpu / notifications * 1e6, 2),
        "decode_us_per_notification": round(dec_cpu / notifications * 1e6, 2),
        "realtime_factor": round(patient_seconds / gen_cpu / patients, 2),
        "pass": patient_seconds / gen_cpu >= TARGET_PATIENT_SECONDS_PER_S,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run: the demo mix only, 10 simulated seconds")
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=None, help="simulated seconds per case (default 60, quick 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "simulator.json")
    args = ap.parse_args(argv)
    seconds = args.seconds or (10 if args.quick else 60)
    cases = [("demo_mix", "demo")]
    if not args.quick:
        cases += [("hrs_only", "rehab_session"), ("polar_h10_only", "irregular_rhythm")]
    results = [run_case(label, source, args.patients, seconds, args.seed) for label, source in cases]
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "target_patient_seconds_per_s": TARGET_PATIENT_SECONDS_PER_S,
        "pass": bool(results[0]["pass"]),
        "cases": results,
        "note": (
            "one core, one process, CPU time; generate = Fleet.advance_to (physiology, strap, ECG, byte encoding, "
            "SimNotification objects), decode = ingest.gatt on every emitted payload; demo mix: 2 in 16 patients "
            "wear a Polar H10 and also send 130-Hz ECG frames"
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
