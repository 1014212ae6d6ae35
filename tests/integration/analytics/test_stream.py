"""Issue 4 on the real broker: alerts from simulated data, signal loss, and a worker killed mid-stream."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.analytics.conftest import Rig, fast_scenario, prescription_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
NS = 1_000_000_000

# Rest, then an effort well above the 130-bpm ceiling for about a minute, then easy: one ceiling episode.
CEILING = fast_scenario(
    "ceiling",
    [
        {"name": "rest", "kind": "rest", "duration_s": 10, "intensity": 0.0},
        {"name": "surge", "kind": "exercise", "duration_s": 60, "intensity": 0.9},
        {"name": "easy", "kind": "exercise", "duration_s": 60, "intensity": 0.3},
    ],
)
# Exercise with the link dropping for 20 s at 40 s.
DROPOUT = fast_scenario(
    "dropout",
    [
        {"name": "rest", "kind": "rest", "duration_s": 10, "intensity": 0.0},
        {"name": "exercise", "kind": "exercise", "duration_s": 80, "intensity": 0.5},
    ],
    {"dropout": [{"start_s": 40, "duration_s": 20}]},
)


def _children_of(worker_pid: int, module: bytes = b"analytics.stream.bundler_process") -> list[int]:
    """Bundler (or runtime shard) processes started by the worker ``worker_pid`` (it passes its pid to them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if module in argv and str(worker_pid).encode() in argv:
                found.append(int(entry.name))
    return found


SHARD = b"analytics.stream.shard_process"


async def _settle(rig: Rig, seconds: float) -> None:
    """Give the workers time to finish what is in flight (ticks, session ends)."""
    await asyncio.sleep(seconds)


async def test_ceiling_breach_and_signal_dropout(rig: Rig) -> None:
    rig.start_worker("w1")
    await rig.wait_ready("w1")
    patients = 4  # sim-001/003 breach the ceiling, sim-002/004 lose their link
    await rig.publish_prescriptions([prescription_for(f"sim-{i:03d}") for i in range(1, patients + 1)])
    await rig.simulate([CEILING, DROPOUT], patients, duration_s=100)
    await _settle(rig, 8)

    alerts = [a for a, _ in rig.observed.alerts]
    for pid in ("sim-001", "sim-003"):
        ceiling = {
            (a.alert_id, a.event, a.revision) for a in alerts if a.patient_id == pid and a.rule == "above_ceiling"
        }
        events = Counter(e for _, e, _ in ceiling)
        assert events["raised"] == 1 and events["cleared"] == 1, (pid, sorted(ceiling))
        assert len({i for i, _, _ in ceiling}) == 1
    for pid in ("sim-002", "sim-004"):
        readings = sorted(r.gateway_time_ns for r in rig.published if r.patient_id == pid)
        gaps = [(a, b) for a, b in itertools.pairwise(readings) if b - a > 10 * NS]
        assert len(gaps) == 1, f"{pid}: expected one dropout, saw gaps {gaps}"
        last_before = gaps[0][0]
        # Only alarms while the simulation ran: when it stops, every strap is "lost" too, correctly.
        lost = [
            (a, ms)
            for a, ms in rig.observed.alerts
            if a.patient_id == pid and a.rule == "signal_lost" and a.event == "raised" and a.t_ns < readings[-1]
        ]
        assert len({a.alert_id for a, _ in lost}) == 1, lost
        delay_s = lost[0][1] / 1000 - last_before / NS
        assert delay_s <= 10.0, f"{pid}: signal lost raised {delay_s:.1f} s after the last beat"
        assert any(
            a.event == "cleared" for a, _ in rig.observed.alerts if a.patient_id == pid and a.rule == "signal_lost"
        )


async def test_killing_one_of_two_workers_loses_no_features_and_duplicates_no_alerts(rig: Rig) -> None:
    a, b = rig.start_worker("wa"), rig.start_worker("wb")
    await rig.wait_ready("wa")
    await rig.wait_ready("wb")
    await _settle(rig, 5)  # let the group settle on two members
    patients = 8
    await rig.publish_prescriptions([prescription_for(f"sim-{i:03d}") for i in range(1, patients + 1)])
    sim = asyncio.create_task(rig.simulate(CEILING, patients, duration_s=100))
    await asyncio.sleep(35)  # mid-breach for every patient
    assert a.proc is not None and _children_of(a.proc.pid), "the worker runs its bundler in a child process"
    assert _children_of(a.proc.pid, SHARD), "the worker runs its patients' physiology in child processes"
    a.kill()
    await sim
    await _settle(rig, 15)
    assert b.running, b.log_tail()
    assert not _children_of(a.proc.pid), "a killed worker's bundler process outlived it"
    assert not _children_of(a.proc.pid, SHARD), "a killed worker's runtime shard processes outlived it"

    seconds_with_readings = {(r.patient_id, r.gateway_time_ns // NS) for r in rig.published}
    seconds_with_features = {(f.patient_id, f.t_s) for f, _ in rig.observed.features}
    missing = seconds_with_readings - seconds_with_features
    assert not missing, f"{len(missing)} seconds lost their features, e.g. {sorted(missing)[:5]}"

    alerts = [al for al, _ in rig.observed.alerts if al.rule == "above_ceiling"]
    for i in range(1, patients + 1):
        mine = {(al.alert_id, al.event, al.revision) for al in alerts if al.patient_id == f"sim-{i:03d}"}
        assert len({x[0] for x in mine}) == 1, f"sim-{i:03d}: more than one ceiling episode: {sorted(mine)}"
        kinds = Counter(e for _, e, _ in mine)
        assert kinds["raised"] == 1 and kinds["cleared"] == 1, (i, sorted(mine))
