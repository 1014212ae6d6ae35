"""Ground truth of the physiology model: relational checks with tolerances, not golden numbers."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ingest.gatt import parse_heart_rate_measurement
from ingest.simulator import BEAT_ECTOPIC, BEAT_IRREGULAR, BEAT_NORMAL, Fleet, Scenario, scenario_from_dict
from ingest.simulator.physiology import recovery_tau_s
from ingest.simulator.scenario import SCENARIO_FORMAT

if TYPE_CHECKING:
    from conftest import Run

NS = 1_000_000_000


def rmssd_ms(rr_ms: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr_ms) ** 2)))


def clean_mask(labels: np.ndarray) -> np.ndarray:
    """Normal beats whose neighbours are normal too (ectopy would dominate any variability measure)."""
    normal = labels == BEAT_NORMAL
    return normal & np.roll(normal, 1) & np.roll(normal, -1)


def exercise_end(scenario: Scenario) -> int:
    """First second of the first cool-down/recovery phase that follows exercise."""
    t = 0
    previous = "rest"
    for phase in scenario.phases:
        if phase.kind in ("cool_down", "recovery") and previous not in ("cool_down", "recovery", "rest"):
            return t
        previous = phase.kind
        t += phase.duration_s
    raise AssertionError("no exercise end")


def strap_hr(run: Run, name: str) -> dict[int, int]:
    """HR the strap reported, keyed by the second whose end the notification is due at."""
    return {
        round(run.local_s(name, note)) - 1: parse_heart_rate_measurement(note.payload).hr_bpm
        for note in run.of(name, "hrm")
    }


def test_hr_follows_the_phases(run: Run) -> None:
    for name in ("rehab_session", "ceiling_breach", "contact_loss"):
        truth, p = run.truth(name), run.fleet.parameters(run.index(name))
        start = 0
        for phase in truth.scenario.phases:
            end = start + phase.duration_s
            post = phase.kind in ("cool_down", "recovery")
            if phase.duration_s >= 150 and phase.intensity == phase.end_intensity and not post:
                target = p.resting_hr_bpm + phase.intensity * (p.effective_peak_hr_bpm - p.resting_hr_bpm)
                settled = truth.hr_bpm[end - 20 : end]
                assert np.all(np.abs(settled - target) < 3.0), (name, phase.name)
                # the phase label of the ground truth is the scenario's phase
                assert truth.phase_name(end - 1) == phase.name
            start = end
    rehab = run.truth("rehab_session")
    work = rehab.hr_bpm[rehab.phase_index == 2].max()
    assert work > rehab.hr_bpm[:180].mean() + 30  # intervals raise HR well above rest


def test_strap_reports_the_true_hr(run: Run) -> None:
    name = "ceiling_breach"
    truth = run.truth(name)
    reported = strap_hr(run, name)
    diffs = [reported[s] - truth.hr_bpm[s] for s in range(30, truth.scenario.duration_s - 5, 7)]
    assert np.median(np.abs(diffs)) < 3.0


@pytest.mark.parametrize("name", ["rehab_session", "ceiling_breach", "signal_dropout", "beta_blocker"])
def test_hrr1_matches_the_configuration(run: Run, name: str) -> None:
    truth, p = run.truth(name), run.fleet.parameters(run.index(name))
    end = exercise_end(truth.scenario)
    hrr1_true = truth.hr_bpm[end - 1] - truth.hr_bpm[end - 1 + 60]
    assert hrr1_true == pytest.approx(p.hrr1_bpm, abs=0.5)
    reported = strap_hr(run, name)
    hrr1_strap = reported[end - 1] - reported[end - 1 + 60]
    assert hrr1_strap == pytest.approx(p.hrr1_bpm, abs=4.0)


def test_recovery_time_constant() -> None:
    tau = recovery_tau_s(np.array([130.0, 100.0]), np.array([90.0, 95.0]), np.array([20.0, 20.0]))
    # 40 bpm above target, 20 bpm in 60 s: exp(-60/tau) = 1/2 -> tau = 60/ln 2
    assert tau[0] == pytest.approx(60 / np.log(2))
    assert tau[1] == 5.0  # unreachable (only 5 bpm above target): as fast as allowed


def test_rr_variability_falls_as_hr_rises(run: Run) -> None:
    truth = run.truth("ceiling_breach")
    t, rr, ok = truth.beat_times_s, truth.rr_ms, clean_mask(truth.beat_labels)
    rest = ok & (t > 10) & (t < 120)
    steady = ok & (t > 480) & (t < 660)  # 60 % of reserve, settled
    assert rmssd_ms(rr[rest]) > 3 * rmssd_ms(rr[steady])
    assert 10 < rmssd_ms(rr[rest]) < 60  # a plausible resting RMSSD


def test_beta_blocker_blunts_the_peak(run: Run, scenarios: tuple[Scenario, ...]) -> None:
    blocked = run.truth("beta_blocker")
    scenario = scenarios[run.index("beta_blocker")]
    unblocked_scenario = dataclasses.replace(
        scenario, patient=dataclasses.replace(scenario.patient, beta_blocker=False)
    )
    unblocked = Fleet(1, 11, unblocked_scenario, record_truth=True)
    unblocked.advance_to(scenario.duration_s * NS)
    peak_blocked = blocked.hr_bpm.max()
    peak_unblocked = unblocked.truth(0).hr_bpm.max()
    assert peak_blocked < peak_unblocked - 10
    reserve_used = (peak_blocked - 60) / (peak_unblocked - 60)
    assert reserve_used == pytest.approx(0.75, abs=0.02)
    assert blocked.hr_bpm[:170].mean() == pytest.approx(unblocked.truth(0).hr_bpm[:170].mean(), abs=1)


def steady_rest(ectopy_per_min: float, minutes: int, irregular: list[dict[str, int]] | None = None) -> Scenario:
    return scenario_from_dict(
        {
            "format": SCENARIO_FORMAT,
            "name": "steady",
            "description": "steady rest for statistics",
            "patient": {"resting_hr_bpm": 70, "peak_hr_bpm": 150, "hrr1_bpm": 15, "ectopy_per_min": ectopy_per_min},
            "strap": {"kind": "hrs"},
            "phases": [{"kind": "rest", "duration_s": minutes * 60, "intensity": 0.0}],
            "episodes": {"irregular_rhythm": irregular or []},
        }
    )


def test_ectopy_rate_and_compensatory_pause() -> None:
    fleet = Fleet(1, 4, steady_rest(3.0, 30), record_truth=True)
    fleet.advance_to(30 * 60 * NS)
    truth = fleet.truth(0)
    labels, rr = truth.beat_labels, truth.rr_ms
    premature = np.flatnonzero(labels == BEAT_ECTOPIC)
    minutes = truth.beat_times_s[-1] / 60
    assert len(premature) / minutes == pytest.approx(3.0, rel=0.2)
    inner = premature[(premature > 1) & (premature < len(rr) - 1)]
    sinus = np.median(rr[clean_mask(labels)])
    assert np.all(rr[inner] < 0.8 * sinus)  # premature
    # premature + pause = two sinus intervals (a full compensatory pause)
    np.testing.assert_allclose(rr[inner] + rr[inner + 1], 2 * sinus, rtol=0.05)


def test_irregular_rhythm_episodes_are_irregular(run: Run) -> None:
    truth = run.truth("irregular_rhythm")
    t, rr, labels = truth.beat_times_s, truth.rr_ms, truth.beat_labels
    for episode in truth.scenario.irregular_rhythm:
        inside = (t >= episode.start_s + 3) & (t < episode.end_s)
        assert np.all(labels[inside] == BEAT_IRREGULAR)
        x = rr[inside]
        assert rmssd_ms(x) / x.mean() > 0.15  # Dash 2009 flags > 0.1
        # irregularly irregular: consecutive intervals are uncorrelated
        assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.3
    sinus = clean_mask(labels) & (t > 320) & (t < 360)  # sinus rest after the first episode
    assert rmssd_ms(rr[sinus]) / rr[sinus].mean() < 0.08
    assert not np.any(labels[(t > 330) & (t < 890)] == BEAT_IRREGULAR)


def test_true_rr_is_the_beat_spacing(run: Run) -> None:
    truth = run.truth("rehab_session")
    np.testing.assert_allclose(np.diff(truth.beat_times_s) * 1000, truth.rr_ms[1:], atol=1e-6)
    assert np.all(truth.rr_ms >= 250)
