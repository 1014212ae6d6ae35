"""The session report and its JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analytics.physiology import (
    PeakHrSource,
    PrescriptionFlag,
    build_session_report,
    hr_per_second,
    karvonen_prescription,
    report_to_json,
)
from tests.unit.analytics.physiology.simulate import inject_artefacts, session_readings, sinus_rr

TOP_LEVEL = {"hrv", "artefacts", "load", "zones", "recovery", "rhythm"}
HRV_KEYS = {"mean_nn_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "mean_hr_bpm"}


def test_full_session_report_with_prescription() -> None:
    readings = session_readings(1500, seed=3)
    rr = [v for r in readings for v in r[2]]
    hr = hr_per_second(np.array([r[0] for r in readings]), np.array([r[1] for r in readings]), 0.0, 1500)
    p = karvonen_prescription(65.0, 150.0, PeakHrSource.CPET)
    rep = build_session_report(rr, hr_bpm=hr, prescription=p, rpe_cr10=4)
    out = report_to_json(rep)
    json.dumps(out, allow_nan=False)
    assert out.keys() >= TOP_LEVEL and out["hrv"].keys() >= HRV_KEYS
    assert out["hrv"]["window"]["start_s"] == 0.0  # the pre-exercise rest
    assert out["hrv"]["mean_hr_bpm"] < 70
    assert out["load"]["banister_trimp"] > 0 and out["load"]["edwards_trimp"] > 0
    assert out["load"]["session_rpe_au"] == pytest.approx(4 * 25.0)
    assert out["zones"]["in_band_s"] > 300 and out["zones"]["band_is_primary"]
    assert out["recovery"]["hrr1_bpm"] is not None and out["recovery"]["exercise_end_s"] is not None
    assert out["phases"]["exercise"] > 300
    assert out["rhythm"]["message"] is None and out["rhythm"]["screen"] == "no irregularity detected"
    assert out["prescription"]["flags"] == [PrescriptionFlag.DEFAULT_CEILING.value, PrescriptionFlag.DEFAULT_SEX.value]


def test_report_counts_injected_artefacts_and_no_correction_skips_them() -> None:
    inj = inject_artefacts(sinus_rr(1500, seed=4), 12, seed=4)
    out = report_to_json(build_session_report(inj.rr_ms))
    a = out["artefacts"]
    assert a["missed"] + a["extra"] + a["ectopic"] >= 12 and a["total"] <= 15
    assert set(a["indices"]) == {"missed", "extra", "ectopic", "long", "short"}
    raw = report_to_json(build_session_report(inj.rr_ms, correct=False))
    assert raw["artefacts"]["total"] == 0 and raw["input"]["artefact_correction"] is False
    assert raw["hrv_whole_recording"]["rmssd_ms"] > 2 * out["hrv_whole_recording"]["rmssd_ms"]


def test_fallback_prescription_is_flagged_in_report() -> None:
    out = report_to_json(build_session_report(sinus_rr(800, seed=5)))
    flags = set(out["prescription"]["flags"])
    assert {"no_measured_peak", "fallback_band_rhr_plus_20_30", "rest_hr_estimated"} <= flags
    assert out["load"]["banister_trimp"] is None and "no peak HR" in out["load"]["note"]
