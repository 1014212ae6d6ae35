"""Run every benchmark, collect ``bench/results/*.json`` and write ``docs/benchmarks.md``.

Each ``bench/bench_<name>.py`` that exists runs as ``python -m bench.bench_<name>`` in its own process group with a
timeout (SIGTERM to the group when it expires, so a benchmark can clean up its topics and subprocesses; SIGKILL a
minute later). ``--quick`` is passed through. Afterwards every ``bench/results/<name>.json`` is read and turned
into the common envelope (``bench/common.py``); the two older formats (simulator, analytics) are adapted here, as
they are, without touching their files. A result that this run did not refresh is shown as stale.

``make bench`` runs this inside ``cardiorehab stack exec`` (the stream benchmark needs the broker). By hand::

    .venv/bin/cardiorehab stack exec -- .venv/bin/python -m bench.run_all [--quick] [--only stream,analytics]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

BENCH_DIR = common.REPO / "bench"
DOC = common.REPO / "docs" / "benchmarks.md"
# generous: the stream benchmark alone runs ~15 minutes at full size on 2 cores
TIMEOUT_S = {"stream": 3600.0}
DEFAULT_TIMEOUT_S = 1800.0
QUICK_TIMEOUT_S = 900.0
KILL_GRACE_S = 90.0

Json = dict[str, Any]


@dataclass
class RunRecord:
    name: str
    command: list[str]
    exit_code: int | None
    seconds: float
    timed_out: bool
    output_tail: list[str]


def discover(only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[str]:
    names = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise SystemExit(f"run_all: no benchmark named {', '.join(unknown)} (have: {', '.join(names)})")
        names = [n for n in names if n in only]
    return [n for n in names if n not in skip]


def _pump(stream: IO[bytes], tail: collections.deque[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace")
        sys.stdout.write(line)
        sys.stdout.flush()
        tail.append(line.rstrip("\n"))


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the benchmark's own process group (it was started in a new session, so the group is its pid)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def run_one(name: str, extra: Sequence[str], timeout_s: float) -> RunRecord:
    cmd = [sys.executable, "-m", f"bench.bench_{name}", *extra]
    print(f"\n=== bench {name}: {' '.join(cmd[1:])} (timeout {timeout_s:.0f} s)", flush=True)
    tail: collections.deque[str] = collections.deque(maxlen=40)
    t0 = time.monotonic()
    proc = subprocess.Popen(  # our interpreter, our module
        cmd, cwd=common.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    assert proc.stdout is not None
    pump = threading.Thread(target=_pump, args=(proc.stdout, tail), daemon=True)
    pump.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        print(f"run_all: {name} exceeded {timeout_s:.0f} s; stopping it", flush=True)
        _stop(proc)
    except KeyboardInterrupt:
        print(f"\nrun_all: interrupted; stopping {name}", flush=True)
        _stop(proc)
        raise
    finally:
        pump.join(timeout=10)
    return RunRecord(name, cmd, proc.returncode, time.monotonic() - t0, timed_out, list(tail))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------------------------------
# Adapters: every result becomes the common envelope


def is_envelope(data: Mapping[str, Any]) -> bool:
    return "benchmark" in data and "figures" in data


def adapt_simulator(data: Mapping[str, Any]) -> Json:
    """bench_simulator.py writes {cases: [...], target_patient_seconds_per_s, pass}; the first case is the demo mix."""
    cases = list(data.get("cases", []))
    main = cases[0] if cases else {}
    target = data.get("target_patient_seconds_per_s")
    figures: Json = {
        "patients": main.get("patients"),
        "simulated_seconds": main.get("simulated_seconds"),
        "generate_patient_seconds_per_s": main.get("generate_patient_seconds_per_s"),
        "generate_and_decode_patient_seconds_per_s": main.get("generate_and_decode_patient_seconds_per_s"),
        "realtime_factor": main.get("realtime_factor"),
        "decoder_share": main.get("decoder_share"),
        "generate_us_per_notification": main.get("generate_us_per_notification"),
        "decode_us_per_notification": main.get("decode_us_per_notification"),
    }
    for case in cases[1:]:
        figures[f"{case.get('case')}: generate_patient_seconds_per_s"] = case.get("generate_patient_seconds_per_s")
    measured = main.get("generate_patient_seconds_per_s")
    checks = [
        common.check(
            f"{main.get('case', 'demo_mix')}: patient-seconds/s generated (CPU time, one core)",
            measured,
            f">= {target}",
            data.get("pass"),
        )
    ]
    return common.envelope(
        "simulator",
        title="Simulated patient-seconds per second (Fleet, bytes included), one core",
        quick=bool(data.get("quick")),
        figures=figures,
        baseline={},
        ratio=None,  # no baseline in this benchmark; realtime_factor says how far above real time it runs
        target={"patient_seconds_per_s": target},
        passed=data.get("pass"),
        checks=checks,
        command="python -m bench.bench_simulator" + (" --quick" if data.get("quick") else ""),
        notes=[str(data["note"])] if data.get("note") else [],
        date=data.get("date"),
        machine=data.get("machine"),
        details={"cases": cases},
    )


def adapt_analytics(data: Mapping[str, Any]) -> Json:
    """bench_analytics.py writes streaming vs batch patient-seconds/s and their ratio."""
    target = data.get("target")
    streaming = data.get("streaming_patient_seconds_per_s")
    return common.envelope(
        "analytics",
        title="Live features per patient-second on one core: streaming state vs batch recompute",
        quick=bool(data.get("quick")),
        figures={
            "patient_seconds_per_s": streaming,
            "patient_seconds_measured": data.get("streaming_patient_seconds"),
        },
        baseline={
            "name": f"batch recompute over the trailing {data.get('batch_window_s', '?')} s each second",
            "patient_seconds_per_s": data.get("batch_patient_seconds_per_s"),
            "patient_seconds_measured": data.get("batch_patient_seconds"),
        },
        ratio=data.get("ratio"),
        target={"patient_seconds_per_s": target},
        passed=data.get("pass"),
        checks=[
            common.check(
                "streaming patient-seconds/s (CPU time, one core)", streaming, f">= {target}", data.get("pass")
            )
        ],
        command="python -m bench.bench_analytics" + (" --quick" if data.get("quick") else ""),
        notes=[str(data["note"])] if data.get("note") else [],
        date=data.get("date"),
        machine=data.get("machine"),
    )


def adapt_generic(name: str, data: Mapping[str, Any]) -> Json:
    """Unknown shape: its scalar top-level fields become the figures; pass/target/ratio kept when present."""
    skip = {"date", "machine", "quick", "pass", "target", "ratio", "note", "notes", "benchmark"}
    figures = {k: v for k, v in data.items() if k not in skip and (v is None or isinstance(v, str | int | float))}
    target = data.get("target")
    return common.envelope(
        name,
        title=f"{name} (result file not in the common envelope; shown as found)",
        quick=bool(data.get("quick")),
        figures=figures,
        ratio=data.get("ratio") if isinstance(data.get("ratio"), int | float) else None,
        target=target if isinstance(target, dict) else ({"target": target} if target is not None else {}),
        passed=data.get("pass") if isinstance(data.get("pass"), bool) else None,
        command=f"python -m bench.bench_{name}",
        notes=[str(data["note"])] if data.get("note") else [],
        date=data.get("date"),
        machine=data.get("machine"),
    )


def normalise(name: str, data: Mapping[str, Any]) -> Json:
    if is_envelope(data):
        env = dict(data)
        for key, default in (("baseline", {}), ("checks", []), ("notes", []), ("details", {}), ("target", {})):
            env.setdefault(key, default)
        env.setdefault("ratio", None)
        env.setdefault("pass", None)
        return env
    if name == "simulator" or ("cases" in data and "target_patient_seconds_per_s" in data):
        return adapt_simulator(data)
    if name == "analytics" or "streaming_patient_seconds_per_s" in data:
        return adapt_analytics(data)
    return adapt_generic(name, data)


# ---------------------------------------------------------------------------------------------------------------
# Markdown


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    if isinstance(value, list | dict):
        return "`" + json.dumps(value, separators=(",", ":"))[:120] + "`"
    return str(value).replace("|", "\\|").replace("\n", " ")


def verdict(passed: Any) -> str:
    return {True: "**pass**", False: "**FAIL**"}.get(passed, "**inconclusive**")


def figures_table(env: Mapping[str, Any]) -> list[str]:
    figures: Mapping[str, Any] = env.get("figures", {})
    baseline: Mapping[str, Any] = env.get("baseline", {})
    base_name = baseline.get("name")
    keys = list(figures) + [k for k in baseline if k not in figures and k != "name"]
    if baseline:
        lines = [f"| figure | measured | baseline: {fmt(base_name or 'baseline')} |", "|---|---:|---:|"]
        lines += [f"| {k} | {fmt(figures.get(k))} | {fmt(baseline.get(k))} |" for k in keys]
    else:
        lines = ["| figure | measured |", "|---|---:|"]
        lines += [f"| {k} | {fmt(figures.get(k))} |" for k in keys]
    return lines


def profile_section(env: Mapping[str, Any]) -> list[str]:
    """Where the worker's CPU goes (stream benchmark with py-spy)."""
    prof = env.get("details", {}).get("profile_worker")
    if not isinstance(prof, dict) or "self_by_library_pct" not in prof:
        return []
    lines = [
        "",
        f"Where one worker's CPU goes (py-spy, {fmt(prof.get('seconds'))} s at {prof.get('rate_hz')} Hz while "
        f"draining a backlog, {fmt(prof.get('samples'))} samples; busy {fmt(prof.get('active_fraction'))} of the "
        "time):",
        "",
        "| self time in | % of samples |",
        "|---|---:|",
    ]
    without = prof.get("self_by_library_pct_without_syscall_leaves") or {}
    if without:
        lines[-2:] = [
            "| self time in | % of samples | % without socket-write/epoll leaves |",
            "|---|---:|---:|",
        ]
        lines += [f"| {fmt(k)} | {fmt(v)} | {fmt(without.get(k))} |" for k, v in prof["self_by_library_pct"].items()]
    else:
        lines += [f"| {fmt(k)} | {fmt(v)} |" for k, v in prof["self_by_library_pct"].items()]
    spans = prof.get("spans_pct")
    if isinstance(spans, dict) and spans:
        lines += ["", "| inside (inclusive) | % of samples |", "|---|---:|"]
        lines += [f"| {fmt(k)} | {fmt(v)} |" for k, v in spans.items()]
    if prof.get("note"):
        lines += ["", f"({fmt(prof['note'])})"]
    top = prof.get("top_self_pct") or []
    if top:
        lines += ["", "| hottest functions (self) | % |", "|---|---:|"]
        lines += [f"| `{f}` | {fmt(p)} |" for f, p in top[:10]]
    return lines


def benchmark_section(env: Mapping[str, Any], run: RunRecord | None, fresh: bool) -> list[str]:
    name = env["benchmark"]
    lines = [f"## {name}: {env.get('title', '')}", ""]
    status = verdict(env.get("pass"))
    if not fresh and run is None:
        status += " — not re-run by this run_all"
    elif not fresh and run is not None:
        why = "timed out" if run.timed_out else f"exit code {run.exit_code}"
        status += f" — **STALE**: this run did not refresh the result ({why}); figures are from {env.get('date')}"
    lines += [
        f"Result: {status}. Measured {env.get('date')}{' (quick run)' if env.get('quick') else ''}"
        + (f", {run.seconds:.0f} s wall" if run is not None else "")
        + ".",
        "",
    ]
    lines += figures_table(env)
    ratio = env.get("ratio")
    if env.get("baseline"):
        lines += ["", f"Ratio: **{fmt(ratio)}** (measured / baseline)."]
    else:
        lines += ["", "No baseline in this benchmark, so no ratio."]
    target = env.get("target") or {}
    if target:
        lines += ["", "Target: " + ", ".join(f"{k} {fmt(v)}" for k, v in target.items()) + "."]
    checks = env.get("checks") or []
    if checks:
        lines += ["", "| check | measured | target | result |", "|---|---:|---:|---|"]
        lines += [
            f"| {fmt(c.get('name'))} | {fmt(c.get('measured'))} | {fmt(c.get('target'))} | {verdict(c.get('pass'))} |"
            for c in checks
        ]
    lines += profile_section(env)
    notes = env.get("notes") or []
    if notes:
        lines += [""] + [f"- {fmt(n)}" for n in notes]
    if run is not None and not fresh:
        lines += ["", "Last lines of its output:", "", "```", *run.output_tail[-15:], "```"]
    command = env.get("command")
    if command:
        lines += ["", f"Reproduce: `{command}` (stack up; see below)."]
    return [*lines, ""]


def render(
    envs: Sequence[tuple[Json, RunRecord | None, bool]], machine: Mapping[str, Any], quick: bool, render_only: bool
) -> str:
    date = common.utc_now_iso()
    load = common.load_average()
    if render_only:
        intro = (
            f"Re-rendered by `bench/run_all.py --render-only` on {date} from the files in `bench/results/`; each "
            "benchmark says when it was measured. Baselines were measured in the same run as their figures."
        )
    else:
        intro = (
            f"Written by `bench/run_all.py` on {date}{' from a quick run (--quick)' if quick else ''}. Every figure "
            "below was measured on this machine in that run unless marked stale; baselines were measured in the "
            "same run on the same machine."
        )
    lines = [
        "# Benchmarks",
        "",
        intro,
        "",
        "## Machine",
        "",
        "| CPU | cores | RAM | kernel | Python | load average at start |",
        "|---|---:|---:|---|---|---|",
        f"| {fmt(machine.get('cpu'))} | {fmt(machine.get('cores'))} | {fmt(machine.get('ram_gib'))} GiB | "
        f"{fmt(machine.get('kernel'))} | {fmt(machine.get('python'))} | "
        f"{'—' if load is None else ' / '.join(f'{x:.2f}' for x in load)} |",
        "",
        "The machine is shared (other engineers' tests run on it): treat small differences as noise.",
        "",
        "## Summary",
        "",
        "| benchmark | ratio | result | measured |",
        "|---|---:|---|---|",
    ]
    for env, _run, fresh in envs:
        lines.append(
            f"| {env['benchmark']} | {fmt(env.get('ratio'))} | {verdict(env.get('pass'))}"
            f"{'' if fresh else (' (not run this time)' if _run is None else ' (stale)')} | {env.get('date')}"
            f"{' quick' if env.get('quick') else ''} |"
        )
    lines.append("")
    for env, run, fresh in envs:
        lines += benchmark_section(env, run, fresh)
    lines += [
        "## How to reproduce",
        "",
        "`make bench` (starts the local stack if needed and runs `python -m bench.run_all` in it), or by hand: "
        "`.venv/bin/cardiorehab stack exec -- .venv/bin/python -m bench.run_all [--quick] [--only NAME,...]`. One "
        "benchmark: `.venv/bin/python -m bench.bench_NAME [--quick]` writes `bench/results/NAME.json`, and "
        "`.venv/bin/python -m bench.run_all --render-only` re-renders this page from the result files.",
        "",
    ]
    return "\n".join(lines)


def collect(
    names: Sequence[str], runs: Mapping[str, RunRecord], started: float, render_only: bool
) -> list[tuple[Json, RunRecord | None, bool]]:
    """(envelope, run, fresh) for every benchmark run or found in bench/results (fresh: refreshed by this run)."""
    out: list[tuple[Json, RunRecord | None, bool]] = []
    known = set(names)
    paths = {p.stem: p for p in sorted(common.RESULTS_DIR.glob("*.json"))}
    for name in list(names) + sorted(n for n in paths if n not in known):
        path = paths.get(name)
        run = runs.get(name)
        if path is None:
            if run is not None:
                env = common.envelope(name, title="no result file", quick=False, figures={}, passed=False)
                out.append((env, run, False))
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            env = common.envelope(name, title=f"unreadable result file: {exc}", quick=False, figures={}, passed=False)
            out.append((env, run, False))
            continue
        fresh = run is not None and path.stat().st_mtime >= started and not run.timed_out
        out.append((normalise(name, data), run, fresh or render_only))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    ap.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default: per benchmark)")
    ap.add_argument(
        "--bench-arg",
        action="append",
        default=[],
        metavar="NAME=ARG",
        help="extra argument for one benchmark, e.g. stream=--workers=2 (repeatable)",
    )
    ap.add_argument("--render-only", action="store_true", help="run nothing; re-render the page from the results")
    ap.add_argument("--doc", type=Path, default=DOC)
    args = ap.parse_args(argv)
    only = [n for n in args.only.split(",") if n]
    skip = [n for n in args.skip.split(",") if n]
    names = discover(only, skip)
    extra: dict[str, list[str]] = collections.defaultdict(list)
    for item in args.bench_arg:
        name, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--bench-arg wants NAME=ARG, got {item!r}")
        extra[name].append(value)
    started = time.time()
    runs: dict[str, RunRecord] = {}
    if not args.render_only:
        for name in names:
            timeout = args.timeout or (QUICK_TIMEOUT_S if args.quick else TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S))
            runs[name] = run_one(name, (["--quick"] if args.quick else []) + extra[name], timeout)
    envs = collect(names, runs, started, args.render_only)
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render(envs, common.machine_info(), args.quick, args.render_only))
    print(f"\nrun_all: wrote {args.doc}")
    for env, run, fresh in envs:
        state = "fresh" if fresh else ("not run" if run is None else "STALE")
        code = "" if run is None else f", exit {run.exit_code}{' (timeout)' if run.timed_out else ''}"
        result = verdict(env.get("pass")).strip("*")
        print(f"  {env['benchmark']:<12} {result:<13} ratio {fmt(env.get('ratio')):<8} {state}{code}")
    refreshed = {env["benchmark"] for env, _run, fresh in envs if fresh}
    failed_runs = [r for r in runs.values() if r.timed_out or r.name not in refreshed]
    return 1 if failed_runs else 0


if __name__ == "__main__":
    raise SystemExit(main())
