"""`cardiorehab analyze FILE`: the physiology report of one recorded session, as JSON on stdout.

FILE is either a CSV of RR intervals in ms (one per line, or a column named ``rr_ms``) or a recorded session:
JSON lines, each an object with at least ``rr_ms`` (list of numbers) and optionally ``hr_bpm``,
``gateway_time_ns`` and ``sensor_contact`` (the fields of ``sensor.hr.v1``). Bad input exits with code 2 and
a message on stderr naming the line.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analytics.physiology import (
    PeakHrSource,
    PhysiologyError,
    Prescription,
    Sex,
    build_session_report,
    explicit_prescription,
    fallback_prescription,
    hr_per_second,
    karvonen_prescription,
    percent_peak_prescription,
    report_to_json,
    threshold_prescription,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
NS_PER_S = 1e9


class InputFileError(Exception):
    """The input file cannot be read as RR intervals or session messages; the message names the line."""


@dataclass(frozen=True, slots=True)
class SessionInput:
    """What was read from FILE."""

    rr_ms: list[float]
    hr_bpm: list[float] | None
    """1 Hz trace from the messages' ``hr_bpm`` (None for an RR-only file)."""
    kind: str


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``analyze`` on the top-level parser."""
    parser = subparsers.add_parser(
        "analyze",
        help="physiology report (HRV, artefacts, load, zones, recovery, rhythm) of a recording",
        description=__doc__,
    )
    configure_parser(parser)
    parser.set_defaults(func=run)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``analyze`` (shared by :func:`add_parser` and :func:`main`)."""
    parser.add_argument("file", type=Path, help="CSV of RR intervals (ms) or JSON lines of sensor messages")
    parser.add_argument("--no-correction", action="store_true", help="skip RR artefact correction")
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="also draw the session to this PNG")
    rx = parser.add_argument_group("prescription (without --peak-hr a flagged RHR+20..+30 bpm fallback is used)")
    rx.add_argument("--rest-hr", type=float, help="resting HR (bpm); estimated from the recording if absent")
    rx.add_argument("--peak-hr", type=float, help="measured peak HR (bpm)")
    rx.add_argument("--peak-source", choices=[s.value for s in PeakHrSource], default=PeakHrSource.CPET.value)
    rx.add_argument("--method", choices=["karvonen", "pct_peak", "threshold", "bpm"], default="karvonen")
    rx.add_argument("--low", type=float, help="band low: fraction (karvonen, pct_peak) or bpm (bpm)")
    rx.add_argument("--high", type=float, help="band high: fraction (karvonen, pct_peak) or bpm (bpm)")
    rx.add_argument("--vt1-hr", type=float, help="HR at VT1/AT (bpm), for --method threshold")
    rx.add_argument("--ceiling", type=float, help="HR ceiling (bpm); default 70 %% HRR")
    rx.add_argument("--sex", choices=[s.value for s in Sex])
    rx.add_argument("--age", type=int, help="years; only used, flagged, when no peak HR exists")
    rx.add_argument("--beta-blocker", action="store_true", help="RPE primary, HR band informational")
    rx.add_argument("--rpe", type=float, help="session RPE (CR-10) for the session-RPE load")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``analyze`` as a stand-alone command (tests, ``python -m``)."""
    parser = argparse.ArgumentParser(prog="cardiorehab analyze", description=__doc__)
    configure_parser(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Read FILE, build the report, print it as JSON; 2 on bad input."""
    try:
        data = read_input(Path(args.file))
        prescription = prescription_from_args(args, data)
        report = build_session_report(
            data.rr_ms,
            hr_bpm=data.hr_bpm,
            prescription=prescription,
            correct=not args.no_correction,
            rpe_cr10=args.rpe,
            age_years=args.age,
            sex=None if args.sex is None else Sex(args.sex),
        )
    except (InputFileError, PhysiologyError, OSError) as exc:
        print(f"cardiorehab analyze: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = report_to_json(report)
    out["input"]["file"] = str(args.file)
    out["input"]["kind"] = data.kind
    if args.plot is not None:
        from services.cli.analyze_plot import plot_session  # matplotlib only when asked

        plot_session(report, Path(args.plot))
        out["input"]["plot"] = str(args.plot)
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def prescription_from_args(args: argparse.Namespace, data: SessionInput) -> Prescription | None:
    """The prescription the flags describe; None means the report's flagged fallback."""
    sex = None if args.sex is None else Sex(args.sex)
    if args.peak_hr is None:
        if args.method == "bpm" and args.low is not None and args.high is not None and args.rest_hr is not None:
            ceiling = args.ceiling if args.ceiling is not None else args.high + (args.high - args.low)
            return explicit_prescription(
                args.rest_hr, args.low, args.high, ceiling, beta_blocked=args.beta_blocker, sex=sex, age_years=args.age
            )
        if args.rest_hr is None:
            return None
        return fallback_prescription(args.rest_hr, age_years=args.age, beta_blocked=args.beta_blocker, sex=sex)
    if args.rest_hr is None:
        raise InputFileError("--peak-hr needs --rest-hr (the reserve is peak minus rest)")
    source = PeakHrSource(args.peak_source)
    common: dict[str, Any] = {
        "ceiling_bpm": args.ceiling,
        "beta_blocked": args.beta_blocker,
        "sex": sex,
        "age_years": args.age,
    }
    if args.method == "karvonen":
        extra = {k: v for k, v in (("low_fraction_hrr", args.low), ("high_fraction_hrr", args.high)) if v is not None}
        return karvonen_prescription(args.rest_hr, args.peak_hr, source, **extra, **common)
    if args.method == "pct_peak":
        extra = {k: v for k, v in (("low_fraction_peak", args.low), ("high_fraction_peak", args.high)) if v is not None}
        return percent_peak_prescription(args.rest_hr, args.peak_hr, source, **extra, **common)
    if args.method == "threshold":
        if args.vt1_hr is None:
            raise InputFileError("--method threshold needs --vt1-hr")
        return threshold_prescription(args.rest_hr, args.vt1_hr, args.peak_hr, source, **common)
    if args.low is None or args.high is None:
        raise InputFileError("--method bpm needs --low and --high in bpm")
    ceiling = args.ceiling if args.ceiling is not None else args.peak_hr
    return explicit_prescription(
        args.rest_hr,
        args.low,
        args.high,
        ceiling,
        peak_hr_bpm=args.peak_hr,
        peak_hr_source=source,
        beta_blocked=args.beta_blocker,
        sex=sex,
        age_years=args.age,
    )


# --- reading FILE -----------------------------------------------------------------------------------------


def read_input(path: Path) -> SessionInput:
    """Parse FILE as RR CSV or JSON-lines session; raises :class:`InputFileError` naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if not first:
        raise InputFileError(f"{path}: no data")
    if first.startswith("{"):
        return _read_jsonl(path, text)
    return _read_csv(path, text)


def _number(value: str, path: Path, lineno: int, what: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise InputFileError(f"{path} line {lineno}: {what} {value!r} is not a number") from None
    if not math.isfinite(v) or v <= 0:
        raise InputFileError(f"{path} line {lineno}: {what} must be a positive number of ms, got {value!r}")
    return v


def _read_csv(path: Path, text: str) -> SessionInput:
    rows = list(csv.reader(io.StringIO(text)))
    column = 0
    start = 0
    for i, row in enumerate(rows):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if "rr_ms" in cells:
            column, start = cells.index("rr_ms"), i + 1
        elif not _is_number(cells[0]):
            raise InputFileError(
                f"{path} line {i + 1}: expected an RR value in ms or a header with 'rr_ms', got {row!r}"
            )
        break
    rr: list[float] = []
    for i in range(start, len(rows)):
        cells = [c.strip() for c in rows[i]]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if column >= len(cells):
            raise InputFileError(f"{path} line {i + 1}: no rr_ms column (only {len(cells)} fields)")
        rr.append(_number(cells[column], path, i + 1, "rr_ms"))
    if not rr:
        raise InputFileError(f"{path}: no RR intervals")
    return SessionInput(rr_ms=rr, hr_bpm=None, kind="rr_csv")


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _read_jsonl(path: Path, text: str) -> SessionInput:
    rr: list[float] = []
    times: list[float] = []
    hrs: list[float] = []
    any_hr = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path} line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(msg, dict):
            raise InputFileError(f"{path} line {lineno}: expected a JSON object, got {type(msg).__name__}")
        values = msg.get("rr_ms")
        if not isinstance(values, list):
            raise InputFileError(f"{path} line {lineno}: 'rr_ms' must be a list of numbers")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InputFileError(f"{path} line {lineno}: rr_ms value {v!r} is not a number")
            rr.append(_number(str(v), path, lineno, "rr_ms"))
        hr = msg.get("hr_bpm")
        if hr is not None and (isinstance(hr, bool) or not isinstance(hr, int | float)):
            raise InputFileError(f"{path} line {lineno}: hr_bpm {hr!r} is not a number")
        any_hr = any_hr or hr is not None
        hrs.append(math.nan if hr is None else float(hr))
        t_ns = msg.get("gateway_time_ns")
        if t_ns is not None and (isinstance(t_ns, bool) or not isinstance(t_ns, int | float)):
            raise InputFileError(f"{path} line {lineno}: gateway_time_ns {t_ns!r} is not a number")
        t = float(len(times)) if t_ns is None else float(t_ns) / NS_PER_S
        if times and t < times[-1]:
            raise InputFileError(f"{path} line {lineno}: gateway_time_ns goes back in time")
        times.append(t)
    if not rr:
        raise InputFileError(f"{path}: no RR intervals in any message")
    hr_trace = None
    if any_hr:
        t0 = times[0]
        n_s = math.floor(times[-1] - t0) + 1
        hr_trace = hr_per_second(np.asarray(times), np.asarray(hrs), t0, n_s).tolist()
    return SessionInput(rr_ms=rr, hr_bpm=hr_trace, kind="session_jsonl")
