"""Shared helpers for the benchmarks: machine description, the results envelope, percentiles and /proc CPU readings.

Every benchmark written from now on writes ``bench/results/<name>.json`` with :func:`write_result`, so that
``bench/run_all.py`` can render it without an adapter. The envelope::

    {
      "benchmark": "stream",            # the name; also the file name
      "title": "...",                   # one line saying what is measured
      "date": "2026-01-01T00:00:00+00:00",
      "machine": {...},                 # machine_info()
      "quick": false,
      "figures": {...},                 # the system under test: flat name -> number/str/bool
      "baseline": {...},                # the same figures for the baseline measured in the same run ({} if none)
      "ratio": 0.42,                    # the headline measured/baseline ratio (null if no baseline)
      "target": {...},                  # the criteria, e.g. {"p99_ms": 250}
      "pass": true,                     # all checks passed (null: inconclusive)
      "checks": [{"name", "measured", "target", "pass"}],
      "command": "...",                 # how to reproduce
      "notes": ["..."],                 # caveats worth reading next to the numbers
      "details": {...}                  # anything else (free-form)
    }
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Json = dict[str, Any]


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info() -> Json:
    """CPU model, cores, RAM, kernel, OS and Python of this machine."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    frac = pos - lo
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * frac)


def summarize(values: Sequence[float], *, digits: int = 1) -> Json:
    """count, p50, p90, p99, p99.9, max and mean of a sample (rounded)."""
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "p999": None, "max": None, "mean": None}
    ordered = sorted(values)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, digits)

    return {
        "count": len(ordered),
        "p50": r(percentile(ordered, 50)),
        "p90": r(percentile(ordered, 90)),
        "p99": r(percentile(ordered, 99)),
        "p999": r(percentile(ordered, 99.9)),
        "max": r(float(ordered[-1])),
        "mean": r(sum(ordered) / len(ordered)),
    }


# ---------------------------------------------------------------------------------------------------------------
# CPU from /proc


def proc_cpu_times(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU seconds of one process (all its threads); None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may contain spaces: split after the last ')'
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process (all its threads), in seconds; None if it is gone."""
    times = proc_cpu_times(pid)
    return None if times is None else times[0] + times[1]


def _children_map() -> dict[int, list[int]]:
    """parent pid -> child pids, from a scan of /proc (``task/*/children`` is not always compiled in)."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(")") + 2 :].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a process and its live descendants."""
    own = proc_cpu_seconds(pid)
    if own is None:
        return None
    total = own
    children = _children_map()
    stack = list(children.get(pid, []))
    seen = {pid}
    while stack:
        child = stack.pop()
        if child in seen:
            continue
        seen.add(child)
        total += proc_cpu_seconds(child) or 0.0
        stack.extend(children.get(child, []))
    return total


def system_cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat (busy excludes idle and iowait)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    values = [float(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values[:8])
    return total - idle, total


def system_busy_fraction(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    """Fraction (0..1) of all cores that were busy between two :func:`system_cpu_times` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# Results


def check(name: str, measured: Any, target: Any, passed: bool | None) -> Json:
    return {"name": name, "measured": measured, "target": target, "pass": passed}


def overall_pass(checks: Iterable[Mapping[str, Any]]) -> bool | None:
    """False if any check failed, None if none failed but one is inconclusive, True if all passed."""
    results = [c.get("pass") for c in checks]
    if any(r is False for r in results):
        return False
    if any(r is None for r in results):
        return None
    return True


def envelope(
    name: str,
    *,
    title: str,
    quick: bool,
    figures: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
    ratio: float | None = None,
    target: Mapping[str, Any] | None = None,
    passed: bool | None = None,
    checks: Sequence[Mapping[str, Any]] = (),
    command: str = "",
    notes: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
    date: str | None = None,
    machine: Mapping[str, Any] | None = None,
) -> Json:
    """Build the common results envelope (see the module docstring)."""
    return {
        "benchmark": name,
        "title": title,
        "date": date or utc_now_iso(),
        "machine": dict(machine) if machine is not None else machine_info(),
        "quick": quick,
        "figures": dict(figures),
        "baseline": dict(baseline or {}),
        "ratio": ratio,
        "target": dict(target or {}),
        "pass": passed,
        "checks": [dict(c) for c in checks],
        "command": command,
        "notes": list(notes),
        "details": dict(details or {}),
    }


def write_result(result: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write an envelope to ``bench/results/<benchmark>.json`` (or ``path``); returns the path."""
    out = path or RESULTS_DIR / f"{result['benchmark']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    return out
