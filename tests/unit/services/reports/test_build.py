"""The report's content: summary figures or provisional ones, the prescription in force, what belongs to it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.reports import ReportInput, build_report, session_figures
from services.reports.build import clock
from tests.unit.services.reports.conftest import points, running


def facts_of(inp: ReportInput) -> dict[str, str]:
    return {f.label: f.value for f in build_report(inp).facts}


def test_a_summarised_session_reports_the_stream_summary(report_input: ReportInput) -> None:
    report = build_report(report_input)
    facts = {f.label: f.value for f in report.facts}
    assert facts["Duration"] == "10:00"
    assert facts["Time in band"] == "5:55 (59 %)"
    assert facts["Peak heart rate"] == "127 bpm"
    assert facts["Training load (Banister TRIMP)"] == "8.2"  # the stream's figure, formatted, not recomputed
    assert facts["Training load (Edwards TRIMP)"] == "21.0"
    assert facts["HRR1 (drop in 1 min)"] == "18 bpm" and facts["HRR2 (drop in 2 min)"] == "35 bpm"
    assert facts["Flags"] == "irregular rhythm screened: record an ECG"
    assert report.provisional_note is None
    assert report.title == "Session report: Alma H."
    assert "10:00 – 10:10 (CET)" in report.subtitle, "times are in the clinic's time zone"


def test_the_prescription_in_force_is_the_one_before_the_session(report_input: ReportInput) -> None:
    report = build_report(report_input)
    assert report.prescription is not None and report.prescription.startswith("Prescription version 1:")
    assert "40%–60% of HR reserve, ceiling 124 bpm, RPE 12–14" in report.prescription
    assert report.ceiling_bpm == 124.0


def test_only_this_sessions_alerts_and_entries_are_listed(report_input: ReportInput) -> None:
    report = build_report(report_input)
    assert [row[1] for row in report.alert_rows] == ["Patient cue"]
    assert report.alert_rows[0][0] == "10:08:20" and report.alert_rows[0][3] == "Nurse Ada Okafor, 10:08:40"
    assert report.alert_rows[0][2].startswith("Above ceiling: heart rate 125 bpm")
    whats = [row[1] for row in report.entry_rows]
    assert whats == ["RPE 13", "Dizzy, Short of breath", "RPE 15"], "the RPE just after the end belongs to it"


def test_a_running_session_gets_provisional_figures_from_its_history(report_input: ReportInput) -> None:
    inp = replace(report_input, session=running())
    figures = session_figures(inp.session, inp.points, inp.resolution_s)
    assert figures.provisional
    assert figures.time_in_band_s == 360.0  # minutes 2-8 at 110 bpm in the 100-120 band
    assert figures.time_in_band_pct == pytest.approx(60.0)
    assert figures.peak_hr_bpm == 125.0 and figures.duration_s == 600.0
    facts = facts_of(inp)
    assert facts["Training load (Banister TRIMP)"] == "after the session ends"
    assert facts["HRR1 (drop in 1 min)"] == "after the session ends"
    assert build_report(inp).provisional_note is not None


def test_downsampled_history_counts_each_bucket_for_its_width(report_input: ReportInput) -> None:
    every_tenth = points()[::10]
    figures = session_figures(running(), every_tenth, 10)
    assert figures.time_in_band_s == 360.0


def test_an_empty_session_reports_dashes_not_errors(report_input: ReportInput) -> None:
    inp = replace(report_input, session=running(), points=(), alerts=(), rpe=(), symptoms=(), prescriptions=())
    report = build_report(inp)
    facts = {f.label: f.value for f in report.facts}
    assert facts["Peak heart rate"] == "—" and facts["Duration"] == "0:00"
    assert report.prescription is None and report.ceiling_bpm is None
    assert report.alert_rows == () and report.entry_rows == ()


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (754, "12:34"), (4000, "1:06:40"), (None, "--:--")])
def test_clock(seconds: float | None, text: str) -> None:
    assert clock(seconds) == text
