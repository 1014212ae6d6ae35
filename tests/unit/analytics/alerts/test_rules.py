"""Every rule, with a fake clock: when it raises, when it escalates, when it clears, and that it does so once."""

from __future__ import annotations

import msgspec

from analytics.alerts.snapshot import resolve_thresholds
from analytics.events import AlertThresholdsV1, PrescriptionV1
from tests.unit.analytics.alerts.conftest import NS, Run, snapshot, with_thresholds


def test_ceiling_needs_the_grace_period_then_cues_the_patient(run: Run) -> None:
    assert run.seconds(19, hr_bpm=135.0) == []
    raised = run.seconds(2, hr_bpm=135.0)
    assert [(a.event, a.tier, a.rule) for a in raised] == [("raised", "patient_cue", "above_ceiling")]
    assert "ease off" in raised[0].message and raised[0].value == 135.0 and raised[0].threshold == 130.0


def test_ceiling_escalates_to_the_nurse_if_the_cue_is_not_followed(run: Run) -> None:
    run.seconds(90, hr_bpm=135.0)
    assert run.of("above_ceiling") == [("raised", "patient_cue"), ("updated", "nurse")]


def test_ceiling_hysteresis_no_flapping_at_the_ceiling(run: Run) -> None:
    run.seconds(25, hr_bpm=135.0)
    for _ in range(15):  # hovering between ceiling − 3 and the ceiling neither clears nor re-raises
        run.seconds(1, hr_bpm=129.0)
        run.seconds(1, hr_bpm=131.0)
    assert run.of("above_ceiling") == [("raised", "patient_cue")]
    run.seconds(9, hr_bpm=120.0)
    assert run.of("above_ceiling") == [("raised", "patient_cue")]
    run.seconds(2, hr_bpm=120.0)
    assert run.of("above_ceiling") == [("raised", "patient_cue"), ("cleared", "patient_cue")]


def test_one_episode_keeps_one_id_and_counts_revisions(run: Run) -> None:
    run.seconds(90, hr_bpm=135.0)
    run.seconds(15, hr_bpm=100.0)
    ids = {a.alert_id for a in run.alerts if a.rule == "above_ceiling"}
    assert len(ids) == 1
    assert [a.revision for a in run.alerts if a.rule == "above_ceiling"] == [0, 1, 2]
    run.seconds(25, hr_bpm=135.0)  # a new episode gets a new id
    assert len({a.alert_id for a in run.alerts if a.rule == "above_ceiling"}) == 2


def test_absolute_limit_calls_the_nurse_after_five_seconds(run: Run) -> None:
    run.seconds(4, hr_bpm=150.0)
    assert run.of("above_absolute_limit") == []
    run.seconds(2, hr_bpm=150.0)
    assert run.of("above_absolute_limit") == [("raised", "nurse")]


def test_do_not_start_only_before_exercise(run: Run) -> None:
    run.seconds(40, phase="rest", exercise_seen=False, rest_hr_bpm=124.0, hr_bpm=124.0)
    assert run.of("do_not_start") == [("raised", "nurse")]
    quiet = Run()
    quiet.seconds(40, phase="exercise", exercise_seen=True, rest_hr_bpm=124.0, hr_bpm=124.0)
    assert quiet.of("do_not_start") == []


def test_inappropriate_response_when_hr_never_rises(run: Run) -> None:
    run.seconds(700, session_max_hr_bpm=75.0, hr_bpm=74.0, rest_hr_bpm=70.0)
    assert run.of("inappropriate_response") == [("raised", "nurse")]
    beta = Run()
    beta.seconds(700, session_max_hr_bpm=75.0, hr_bpm=74.0, thresholds=with_thresholds(beta_blocker=True))
    assert beta.of("inappropriate_response") == []


def test_irregular_rhythm_is_a_screen_and_fast_af_is_urgent(run: Run) -> None:
    raised = run.seconds(1, rhythm_irregular=True, hr_bpm=95.0)
    assert [(a.tier, a.message) for a in raised] == [("nurse", "irregular rhythm, record an ECG")]
    run.seconds(1, rhythm_irregular=True, hr_bpm=128.0)
    assert run.of("irregular_rhythm") == [("raised", "nurse"), ("updated", "urgent")]
    run.seconds(119, rhythm_irregular=False, hr_bpm=100.0)
    assert run.of("irregular_rhythm")[-1] == ("updated", "urgent")
    run.seconds(2, rhythm_irregular=False, hr_bpm=100.0)
    assert run.of("irregular_rhythm")[-1] == ("cleared", "urgent")


def test_signal_lost_within_seconds_during_exercise_with_a_data_derived_id(run: Run) -> None:
    last = run.clock.now_ns
    raised = run.seconds(12, make=lambda now: snapshot(now, hr_bpm=None, last_valid_ns=last, last_reading_ns=last))
    assert [(a.event, a.tier) for a in raised] == [("raised", "urgent")]
    assert raised[0].alert_id == f"p1:signal_lost:{last + 10 * NS}"
    assert raised[0].t_ns - last == 10 * NS  # raised on the first tick 10 s after the last valid beat


def test_signal_lost_at_rest_is_a_nurse_alert(run: Run) -> None:
    last = run.clock.now_ns
    run.seconds(12, make=lambda now: snapshot(now, phase="recovery", hr_bpm=None, last_valid_ns=last))
    assert run.of("signal_lost") == [("raised", "nurse")]


def test_no_contact_cues_the_patient_then_clears(run: Run) -> None:
    run.seconds(4, sensor_contact=False, hr_bpm=None)
    assert run.of("no_contact") == [("raised", "patient_cue")]
    run.seconds(4, sensor_contact=True)
    assert run.of("no_contact") == [("raised", "patient_cue"), ("cleared", "patient_cue")]


def test_low_battery_cue_then_nurse_then_hysteresis(run: Run) -> None:
    run.seconds(1, battery_pct=14)
    run.seconds(1, battery_pct=5)
    run.seconds(1, battery_pct=18)
    assert run.of("low_battery") == [("raised", "patient_cue"), ("updated", "nurse")]
    run.seconds(1, battery_pct=20)
    assert run.of("low_battery")[-1] == ("cleared", "nurse")


def test_session_end_clears_session_alerts(run: Run) -> None:
    run.seconds(25, hr_bpm=135.0)
    cleared = run.seconds(1, session_id=None)
    assert [(a.rule, a.event) for a in cleared] == [("above_ceiling", "cleared")]
    assert cleared[0].message == "cleared: session ended"


def test_unknown_hr_neither_raises_nor_clears(run: Run) -> None:
    run.seconds(25, hr_bpm=135.0)
    run.seconds(30, hr_bpm=None)
    assert run.of("above_ceiling") == [("raised", "patient_cue")]


def test_replaying_the_same_snapshots_gives_the_same_alerts() -> None:
    a, b = Run(), Run()
    for r in (a, b):
        r.seconds(30, hr_bpm=135.0)
        r.seconds(20, hr_bpm=100.0)
    assert a.alerts == b.alerts


def test_thresholds_come_from_the_prescription_with_sourced_defaults() -> None:
    rx = PrescriptionV1(
        patient_id="p",
        clinic_id="c",
        version=1,
        prescribed_by="dr",
        prescribed_time_ns=0,
        method="karvonen",
        resting_hr_bpm=60,
        peak_hr_bpm=132,
        peak_hr_source="cpet",
        intensity_low=0.4,
        intensity_high=0.6,
        ceiling_bpm=118,
    )
    t = resolve_thresholds(rx)
    assert (t.ceiling_bpm, t.absolute_limit_bpm, t.ceiling_grace_s, t.signal_lost_s) == (118, 132, 20, 8)
    custom = resolve_thresholds(
        msgspec.structs.replace(rx, thresholds=AlertThresholdsV1(ceiling_grace_s=45, signal_lost_s=5))
    )
    assert (custom.ceiling_grace_s, custom.signal_lost_s) == (45, 5)
