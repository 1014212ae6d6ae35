"""Scenario files: every shipped file loads and documents itself; bad files fail with a message naming the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.simulator import ScenarioError, available_scenarios, load_mix, load_scenario, scenario_from_dict
from ingest.simulator.scenario import SCENARIO_FORMAT

REQUIRED = {
    "rehab_session",
    "ceiling_breach",
    "signal_dropout",
    "irregular_rhythm",
    "beta_blocker",
    "contact_loss",
    "low_battery",
    "demo",
}


def minimal() -> dict[str, Any]:
    return {
        "format": SCENARIO_FORMAT,
        "name": "t",
        "description": "test",
        "patient": {"resting_hr_bpm": 70, "peak_hr_bpm": 150, "hrr1_bpm": 15},
        "strap": {"kind": "hrs"},
        "phases": [{"kind": "rest", "duration_s": 60, "intensity": 0.0}],
    }


def test_every_required_scenario_ships_and_documents_its_intent() -> None:
    assert set(available_scenarios()) >= REQUIRED
    for name in available_scenarios():
        if name == "demo":
            continue
        scenario = load_scenario(name)
        assert scenario.name == name
        assert len(scenario.description) > 80
        assert scenario.duration_s > 0


def test_rehab_session_has_the_session_shape() -> None:
    s = load_scenario("rehab_session")
    kinds = [p.kind for p in s.phases]
    assert kinds[0] == "rest"
    assert s.phases[0].duration_s == 180
    assert kinds[1] == "warm_up"
    assert s.phases[1].end_intensity > s.phases[1].intensity
    assert kinds.count("interval_work") == 4
    assert kinds[-2:] == ["cool_down", "recovery"]
    assert s.phase_at(0).name == "rest"
    assert s.phase_at(180).name == "warm_up"
    assert s.phase_at(10**6).name == "recovery"  # after the end the last phase continues


def test_demo_mix_is_deterministic_and_weighted() -> None:
    mix = load_mix("demo")
    assert len(mix.description) > 80
    total = sum(w for _, w in mix.entries)
    first = [mix(i).name for i in range(total)]
    assert [mix(i + total).name for i in range(total)] == first
    for scenario, weight in mix.entries:
        assert first.count(scenario.name) == weight
    assert {s.strap.kind for s, _ in mix.entries} == {"hrs", "polar_h10"}


def test_repeat_blocks_expand() -> None:
    data = minimal()
    data["phases"] = [
        {
            "repeat": 3,
            "phases": [
                {"name": "w", "kind": "interval_work", "duration_s": 30, "intensity": 0.6},
                {"name": "e", "kind": "interval_recovery", "duration_s": 20, "intensity": 0.3},
            ],
        }
    ]
    s = scenario_from_dict(data)
    assert [p.name for p in s.phases] == ["w", "e"] * 3
    assert s.duration_s == 150


def test_toml_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(
        'format = "cardiorehab.scenario/1"\nname = "small"\ndescription = "toml"\n'
        "[patient]\nresting_hr_bpm = 60\npeak_hr_bpm = 140\nhrr1_bpm = 14\n"
        '[strap]\nkind = "polar_h10"\n'
        '[[phases]]\nkind = "rest"\nduration_s = 30\nintensity = 0.0\n'
        "[episodes]\ndropout = [{start_s = 5, duration_s = 10}]\n",
        encoding="utf-8",
    )
    s = load_scenario(path)
    assert (s.name, s.strap.kind, s.patient.resting_hr_bpm, s.dropouts[0].end_s) == ("small", "polar_h10", 60.0, 15)


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(extra=1), "<scenario>: unknown key(s) ['extra']"),
        (lambda d: d["patient"].pop("hrr1_bpm"), "<scenario>.patient: missing key 'hrr1_bpm'"),
        (lambda d: d["patient"].update(resting_hr_bpm="70"), "patient.resting_hr_bpm: expected a number"),
        (lambda d: d["patient"].update(peak_hr_bpm=75), "patient.peak_hr_bpm: 75 is outside [80.0, 230.0]"),
        (lambda d: d["patient"].update(beta_blocker=1), "patient.beta_blocker: expected true or false"),
        (lambda d: d["strap"].update(kind="garmin"), "strap.kind: 'garmin' is not one of"),
        (lambda d: d["phases"][0].update(kind="sprint"), "phases[0].kind: 'sprint' is not one of"),
        (lambda d: d["phases"][0].update(duration_s=1.5), "phases[0].duration_s: expected whole seconds >= 1"),
        (lambda d: d["phases"][0].update(intensity=2), "phases[0].intensity: 2 is outside [0.0, 1.2]"),
        (lambda d: d.update(phases=[]), "a scenario needs at least one phase"),
        (lambda d: d.update(format="v0"), "format: expected 'cardiorehab.scenario/1'"),
        (lambda d: d.update(episodes={"dropout": [{"start_s": 1}]}), "episodes.dropout[0]: missing key 'duration_s'"),
        (lambda d: d.update(episodes={"storm": []}), "episodes: unknown key(s) ['storm']"),
        (lambda d: d.update(patient=[]), "<scenario>.patient: expected an object"),
    ],
)
def test_bad_scenarios_name_the_key(mutate: Any, fragment: str) -> None:
    data = minimal()
    mutate(data)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no_such_scenario: no scenario file"):
        load_scenario("no_such_scenario")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.json: not valid JSON"):
        load_scenario(bad)
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps({"format": "cardiorehab.scenario-mix/1", "name": "m", "description": "d", "mix": []}))
    with pytest.raises(ScenarioError, match="a mix needs at least one scenario"):
        load_mix(mix)
    with pytest.raises(ScenarioError, match=r"expected 'cardiorehab\.scenario-mix/1'"):
        load_mix("rehab_session")
