"""What the simulated straps emit: bytes that decode, the true RR, artefacts, contact, dropouts, battery, energy."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ingest.gatt import (
    HeartRateMeasurement,
    parse_battery_level,
    parse_heart_rate_measurement,
    parse_pmd_frame,
)
from ingest.simulator import Fleet, scenario_from_dict
from ingest.simulator.scenario import SCENARIO_FORMAT

if TYPE_CHECKING:
    from conftest import Run

NS = 1_000_000_000


def decoded_hrm(run: Run, name: str) -> dict[int, HeartRateMeasurement]:
    """Decoded HRM keyed by the second k whose beats it reports (it is due at the end of k, local k + 1)."""
    return {round(run.local_s(name, n)) - 1: parse_heart_rate_measurement(n.payload) for n in run.of(name, "hrm")}


def true_raw_by_second(run: Run, name: str) -> dict[int, list[int]]:
    truth = run.truth(name)
    out: dict[int, list[int]] = collections.defaultdict(list)
    raw = np.floor(truth.rr_ms / 1000 * 1024 + 0.5).astype(int)
    for t, r in zip(truth.beat_times_s[1:], raw[1:], strict=True):  # nobody reports the first beat
        out[int(t)].append(int(r))
    return out


def test_every_payload_decodes(run: Run) -> None:
    counts: collections.Counter[str] = collections.Counter()
    for note in run.notes:
        counts[note.kind] += 1
        if note.kind == "hrm":
            parse_heart_rate_measurement(note.payload)
        elif note.kind == "battery":
            assert 0 <= parse_battery_level(note.payload) <= 100
        else:
            frame = parse_pmd_frame(note.payload)
            assert len(frame.samples) == 73
    assert counts["hrm"] > 10_000
    assert counts["pmd_ecg"] > 4_000
    assert counts["battery"] >= 7


def test_one_notification_per_second_after_lock_on(run: Run) -> None:
    name = "ceiling_breach"
    times = [n.time_ns for n in run.of(name, "hrm")]
    assert set(np.diff(times).tolist()) == {NS}
    assert run.local_s(name, run.of(name, "hrm")[0]) <= 3.0  # the strap locks on within a few beats
    assert parse_heart_rate_measurement(run.of(name, "hrm")[0].payload).rr_ms != ()


def test_reported_rr_are_the_true_rr(run: Run) -> None:
    name = "ceiling_breach"  # no artefacts, no contact loss: every interval is reported exactly once
    hrm, truth = decoded_hrm(run, name), true_raw_by_second(run, name)
    seconds = sorted(hrm)
    assert len(seconds) > 1200
    for k in seconds:
        assert list(hrm[k].rr_1024) == truth.get(k, []), k
    assert all(m.sensor_contact is True for m in hrm.values())


def test_motion_artefacts_miss_and_add_beats(run: Run) -> None:
    name = "rehab_session"
    episode = run.truth(name).scenario.motion_artefacts[0]
    hrm, truth = decoded_hrm(run, name), true_raw_by_second(run, name)
    inside = range(episode.start_s, episode.end_s)
    clean = [k for k in hrm if k < episode.start_s - 3 or k > episode.end_s + 3]
    assert all(list(hrm[k].rr_1024) == truth.get(k, []) for k in clean)
    changed = [k for k in inside if list(hrm[k].rr_1024) != truth.get(k, [])]
    assert len(changed) >= 3
    counts = [len(hrm[k].rr_1024) - len(truth.get(k, [])) for k in changed]
    assert min(counts) < 0 or max(counts) > 0  # beats missed (merged) or added (split)
    # missed beats merge intervals and extra beats split them, so the reported time still adds up
    window = range(episode.start_s - 1, episode.end_s + 3)
    reported = sum(sum(hrm[k].rr_1024) for k in window)
    true = sum(sum(truth.get(k, [])) for k in window)
    assert abs(reported - true) < 1.5 * 1024


def test_contact_loss(run: Run) -> None:
    name = "contact_loss"
    hrm = decoded_hrm(run, name)
    episodes = run.truth(name).scenario.contact_loss
    for episode in episodes:
        for k in range(episode.start_s, episode.end_s):
            m = hrm[k]  # the strap keeps notifying
            assert (m.sensor_contact, m.hr_bpm, m.rr_ms) == (False, 0, ())
        after = hrm[episode.end_s + 2]
        assert after.sensor_contact is True
        assert after.hr_bpm > 40
    lost = {k for e in episodes for k in range(e.start_s, e.end_s)}
    assert all(m.sensor_contact is True for k, m in hrm.items() if k not in lost)


def test_dropouts_send_nothing(run: Run) -> None:
    name = "signal_dropout"
    local = [run.local_s(name, n) for n in run.of(name)]
    for episode in run.truth(name).scenario.dropouts:
        # second k is notified at local k + 1: seconds start..end-1 are silent
        assert not [t for t in local if episode.start_s + 0.5 < t < episode.end_s + 0.5]
        assert any(episode.end_s + 0.5 < t < episode.end_s + 1.5 for t in local)  # and then it resumes
    assert len(local) > 1000


def test_battery_drains_and_the_strap_dies(run: Run) -> None:
    name = "low_battery"
    levels = [(run.local_s(name, n), parse_battery_level(n.payload)) for n in run.of(name, "battery")]
    assert [level for _, level in levels] == [6, 5, 4, 3, 2, 1]
    # 20 %/h = 1 % per 180 s; the level shown is rounded up, so it changes when it reaches a whole percent
    assert [round(t) for t, _ in levels] == [1, 180, 360, 540, 720, 900]
    last = max(run.local_s(name, n) for n in run.of(name))
    assert last == pytest.approx(1079, abs=0.01)  # 6 % at 20 %/h is empty at 1080 s, then nothing at all
    slow = [parse_battery_level(n.payload) for n in run.of("rehab_session", "battery")]
    assert slow == sorted(slow, reverse=True)
    assert len(slow) >= 2


def test_energy_expended_every_tenth_notification(run: Run) -> None:
    name = "rehab_session"
    decoded = [parse_heart_rate_measurement(n.payload) for n in run.of(name, "hrm")]
    with_energy = [i for i, m in enumerate(decoded) if m.energy_expended_kj is not None]
    assert with_energy == list(range(0, len(decoded), 10))
    energy = [decoded[i].energy_expended_kj for i in with_energy]
    assert energy == sorted(energy)
    # ~34 min at 1-4 METs for an 80 kg patient: 6-22 kJ/min
    assert 200 < energy[-1] < 800


def small_h10(**strap: object) -> Fleet:
    scenario = scenario_from_dict(
        {
            "format": SCENARIO_FORMAT,
            "name": "small",
            "description": "two minutes at rest on a strap with options",
            "patient": {"resting_hr_bpm": 65, "peak_hr_bpm": 150, "hrr1_bpm": 15},
            "strap": {"kind": "polar_h10", **strap},
            "phases": [{"kind": "rest", "duration_s": 120, "intensity": 0.0}],
            "episodes": {"dropout": [{"start_s": 40, "duration_s": 20}]},
        }
    )
    return Fleet(2, 3, scenario, record_truth=True)


def test_strap_options_reach_the_flags() -> None:
    fleet = small_h10(hr_uint16=True, contact_supported=False, energy_expended=False)
    notes = fleet.advance_to(100 * NS)
    decoded = [parse_heart_rate_measurement(n.payload) for n in notes if n.kind == "hrm"]
    assert decoded
    assert all(m.hr_format_uint16 for m in decoded)
    assert all(m.sensor_contact is None and m.energy_expended_kj is None for m in decoded)


def test_h10_dropout_silences_ecg_too() -> None:
    fleet = small_h10()
    notes = fleet.advance_to(100 * NS)
    for patient in (0, 1):
        start = fleet.truth(patient).start_ns
        mine = [n for n in notes if n.patient_index == patient]
        hrm = [(n.time_ns - start) / NS for n in mine if n.kind == "hrm"]
        assert not [t for t in hrm if 40.5 < t < 60.5]  # seconds 40..59 are silent (due at 41..60)
        ecg = [(n.time_ns - start) / NS for n in mine if n.kind == "pmd_ecg"]
        assert not [t for t in ecg if 40 <= t < 60]  # no frame whose last sample falls in the dropout
        assert [t for t in ecg if t < 40]
        assert [t for t in ecg if t > 60]
