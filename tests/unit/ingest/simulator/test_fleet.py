"""Fleet mechanics: determinism, injected time, ordering, nothing lost or repeated, ground-truth access."""

from __future__ import annotations

import itertools

import pytest

from ingest.gatt import parse_heart_rate_measurement
from ingest.simulator import Fleet, SimNotification, load_mix, load_scenario, simulate_patient

NS = 1_000_000_000


def run(fleet: Fleet, until_s: int, step_s: float) -> list[SimNotification]:
    out: list[SimNotification] = []
    t = 0.0
    while t < until_s:
        t = min(t + step_s, until_s)
        out.extend(fleet.advance_to(int(t * NS)))
    return out


def test_same_seed_same_bytes() -> None:
    mix = load_mix("demo")
    a = Fleet(20, 42, mix).advance_to(90 * NS)
    b = Fleet(20, 42, mix).advance_to(90 * NS)
    assert a == b
    assert len(a) > 20 * 80
    c = Fleet(20, 43, mix).advance_to(90 * NS)
    assert [n.payload for n in a] != [n.payload for n in c]


def test_chunking_does_not_change_the_output() -> None:
    mix = load_mix("demo")
    whole = Fleet(16, 5, mix).advance_to(60 * NS)
    pieces = run(Fleet(16, 5, mix), 60, 0.37)
    assert pieces == whole


def test_time_is_injected_and_ordered() -> None:
    fleet = Fleet(16, 9, load_mix("demo"), start_time_ns=1_700_000_000 * NS)
    assert fleet.advance_to(1_700_000_000 * NS - 1) == []  # nothing before the start
    notes = fleet.advance_to((1_700_000_000 + 30) * NS)
    times = [n.time_ns for n in notes]
    assert times == sorted(times)
    assert min(times) >= 1_700_000_000 * NS
    assert max(times) <= (1_700_000_000 + 30) * NS
    assert all(0 <= fleet.offset_ns(i) < NS for i in range(16))
    assert len({fleet.offset_ns(i) for i in range(16)}) == 16  # straps do not all notify together
    again = fleet.advance_to((1_700_000_000 + 30) * NS)
    assert again == []  # nothing is returned twice


def test_each_patient_notifies_once_a_second() -> None:
    scenario = load_scenario("rehab_session")
    fleet = Fleet(50, 1, scenario)
    notes = fleet.advance_to(40 * NS)
    per_patient: dict[int, list[int]] = {}
    for n in notes:
        if n.kind == "hrm":
            per_patient.setdefault(n.patient_index, []).append(n.time_ns)
    assert set(per_patient) == set(range(50))
    for i, times in per_patient.items():
        assert all(b - a == NS for a, b in itertools.pairwise(times))
        assert (times[0] - fleet.offset_ns(i)) % NS == 0
    hr = [parse_heart_rate_measurement(n.payload).hr_bpm for n in notes if n.kind == "hrm"]
    assert 55 < sum(hr) / len(hr) < 95  # patients drawn around a resting HR of 72 bpm


def test_patients_differ_within_the_variation() -> None:
    fleet = Fleet(200, 2, load_scenario("rehab_session"))
    rest = [fleet.parameters(i).resting_hr_bpm for i in range(200)]
    spread = (sum((r - 72) ** 2 for r in rest) / len(rest)) ** 0.5
    assert 4 < spread < 8  # the scenario's SD is 6 bpm


def test_scenario_sources() -> None:
    a, b = load_scenario("rehab_session"), load_scenario("irregular_rhythm")
    assert [Fleet(3, 0, [a, b]).scenario(i).name for i in range(3)] == ["rehab_session", "irregular_rhythm"] * 1 + [
        "rehab_session"
    ]
    assert Fleet(2, 0, lambda i: b).scenario(1).name == "irregular_rhythm"
    with pytest.raises(ValueError, match="at least 1"):
        Fleet(0, 0, a)
    with pytest.raises(ValueError, match="record_truth=True"):
        Fleet(1, 0, a).truth(0)


def test_simulate_patient_gives_notifications_and_truth() -> None:
    notes, truth = simulate_patient(load_scenario("ceiling_breach"), seed=3, duration_s=120)
    assert notes
    assert all(n.patient_index == 0 for n in notes)
    assert len(truth.hr_bpm) >= 120
    assert truth.beat_times_ns[0] == truth.start_ns + round(truth.beat_times_s[0] * NS)
    assert truth.phase_name(0) == "rest"
