"""Builds a :class:`~services.reports.model.SessionReport` from plain inputs (pure: no I/O, no clock).

The words match the dashboard's report page (``dashboard/static/js/report.js``), so the printed page and the PDF
say the same thing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.reports.model import (
    AlertEntry,
    Fact,
    PrescriptionFacts,
    ReportInput,
    SeriesPoint,
    SessionFacts,
    SessionFigures,
    SessionReport,
)

TIERS: Final = {"urgent": "Urgent", "nurse": "Nurse", "patient_cue": "Patient cue"}
RULES: Final = {
    "above_ceiling": "Above ceiling",
    "above_absolute_limit": "Above stop limit",
    "do_not_start": "Do not start",
    "inappropriate_response": "HR not rising",
    "irregular_rhythm": "Irregular rhythm",
    "signal_lost": "Signal lost",
    "no_contact": "No strap contact",
    "low_battery": "Low battery",
}
SYMPTOMS: Final = {
    "chest_pain": "Chest pain",
    "chest_tightness": "Chest tightness",
    "dyspnoea": "Short of breath",
    "dizziness": "Dizzy",
    "palpitations": "Heart racing or fluttering",
    "nausea": "Feeling sick",
    "fatigue": "Very tired",
    "leg_pain": "Leg pain",
    "sweating": "Cold sweat",
    "other": "Something else",
}
# Session summary flags (sessions.v1) and prescription flags (analytics.physiology.prescription), in words.
FLAGS: Final = {
    "hrr1_abnormal": "HRR1 abnormal (12 bpm or less)",
    "hrr2_abnormal": "HRR2 abnormal (42 bpm or less)",
    "irregular_rhythm_screened": "irregular rhythm screened: record an ECG",
    "signal_lost": "signal lost during the session",
    "low_chronotropic_response": "low chronotropic response (under 80 % of the prescribed reserve used)",
    "no_measured_peak": "no measured peak HR",
    "fallback_band_rhr_plus_20_30": "fallback band (resting HR + 20-30 bpm)",
    "age_predicted_peak_220_minus_age": "age-predicted peak HR (220 - age)",
    "beta_blocker_rpe_primary": "beta-blocker: RPE is the primary target",
    "rest_hr_estimated": "resting HR estimated",
    "sex_unknown_banister_k_male": "sex unknown: Banister TRIMP uses the male constant",
    "default_ceiling_70pct_hrr": "default ceiling (70 % of HR reserve)",
}
METHOD_UNITS: Final = {
    "karvonen": "of HR reserve",
    "pct_peak": "of peak HR",
    "threshold": "of threshold HR",
    "bpm": "bpm",
}
ENTRY_GRACE: Final = timedelta(minutes=1)  # an RPE given just after the end still belongs to the session


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock(seconds: float | None) -> str:
    """754 -> "12:34"; 4000 -> "1:06:40"."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = int(seconds)
    h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _num(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}{' ' + unit if unit else ''}"


def session_figures(session: SessionFacts, points: tuple[SeriesPoint, ...], resolution_s: int) -> SessionFigures:
    """The session's figures: the stream's summary when there is one, else provisional ones from the history.

    Provisional time in band counts the history points in band (``resolution_s`` each); peak and mean heart rate
    come from the points (bucket means when the history is downsampled, so a provisional peak may read low).
    Training load and heart-rate recovery need the stream's per-second state and come only with the summary.
    """
    provisional = session.status != "summarised"
    in_band_s = sum(resolution_s for p in points if p.in_band)
    if session.duration_s is not None:
        duration = session.duration_s
    elif points:
        duration = points[-1].t_s - session.started_at.timestamp() + resolution_s
    else:
        duration = 0.0
    hrs = [p.hr_bpm for p in points if p.hr_bpm is not None]
    time_in_band = session.time_in_band_s if session.time_in_band_s is not None else float(in_band_s)
    pct = session.time_in_band_pct
    if pct is None and duration > 0:
        pct = 100.0 * time_in_band / duration
    return SessionFigures(
        provisional=provisional,
        duration_s=max(0.0, duration),
        time_in_band_s=time_in_band,
        time_in_band_pct=pct,
        peak_hr_bpm=session.peak_hr_bpm if session.peak_hr_bpm is not None else (max(hrs) if hrs else None),
        mean_hr_bpm=session.mean_hr_bpm if session.mean_hr_bpm is not None else (sum(hrs) / len(hrs) if hrs else None),
        trimp_banister=session.trimp_banister,
        trimp_edwards=session.trimp_edwards,
        hrr1_bpm=session.hrr1_bpm,
        hrr2_bpm=session.hrr2_bpm,
        flags=session.flags,
    )


def prescription_in_force(prescriptions: tuple[PrescriptionFacts, ...], started: datetime) -> PrescriptionFacts | None:
    """The newest version prescribed before the session started (else the oldest there is)."""
    ordered = sorted(prescriptions, key=lambda p: p.version, reverse=True)
    before = [p for p in ordered if p.prescribed_at <= started]
    return before[0] if before else (ordered[-1] if ordered else None)


def prescription_text(p: PrescriptionFacts) -> str:
    if p.method == "bpm":
        target = f"{p.intensity_low:.0f}–{p.intensity_high:.0f} bpm"
    else:
        target = f"{p.intensity_low * 100:.0f}%–{p.intensity_high * 100:.0f}% {METHOD_UNITS.get(p.method, p.method)}"
    beta = ", on a beta-blocker" if p.beta_blocker else ""
    return (
        f"Prescription version {p.version}: {target}, ceiling {p.ceiling_bpm:.0f} bpm, "
        f"RPE {p.rpe_low}–{p.rpe_high}{beta}."
    )


def facts(f: SessionFigures) -> tuple[Fact, ...]:
    pending = "after the session ends" if f.provisional else "not available"

    def later(value: float | None, digits: int, unit: str = "") -> str:
        return pending if value is None else _num(value, digits, unit)

    flags = "; ".join(FLAGS.get(x, x.replace("_", " ")) for x in f.flags) or "none"
    return (
        Fact("Duration", clock(f.duration_s)),
        Fact("Time in band", f"{clock(f.time_in_band_s)} ({_num(f.time_in_band_pct, 0, '%')})"),
        Fact("Peak heart rate", _num(f.peak_hr_bpm, 0, "bpm")),
        Fact("Mean heart rate", _num(f.mean_hr_bpm, 0, "bpm")),
        Fact("Training load (Banister TRIMP)", later(f.trimp_banister, 1)),
        Fact("Training load (Edwards TRIMP)", later(f.trimp_edwards, 1)),
        Fact("HRR1 (drop in 1 min)", later(f.hrr1_bpm, 0, "bpm")),
        Fact("HRR2 (drop in 2 min)", later(f.hrr2_bpm, 0, "bpm")),
        Fact("Flags", flags),
    )


def _alert_row(a: AlertEntry, tz: ZoneInfo) -> tuple[str, str, str, str, str]:
    acked = (
        f"{a.acknowledged_by_name or 'a nurse'}, {a.acknowledged_at.astimezone(tz):%H:%M:%S}"
        if a.acknowledged_at
        else "—"
    )
    return (
        f"{a.raised_at.astimezone(tz):%H:%M:%S}",
        TIERS.get(a.tier, a.tier),
        f"{RULES.get(a.rule, a.rule.replace('_', ' '))}: {a.message}",
        acked,
        f"{a.cleared_at.astimezone(tz):%H:%M:%S}" if a.cleared_at else "active",
    )


def build_report(inp: ReportInput) -> SessionReport:
    s = inp.session
    tz = _zone(inp.timezone)
    end = s.ended_at or inp.generated_at
    figures = session_figures(s, inp.points, inp.resolution_s)
    rx = prescription_in_force(inp.prescriptions, s.started_at)
    start_local = s.started_at.astimezone(tz)
    until = f"{s.ended_at.astimezone(tz):%H:%M}" if s.ended_at else "still running"
    alerts = sorted(
        (a for a in inp.alerts if a.session_id in (None, s.session_id) and s.started_at <= a.raised_at <= end),
        key=lambda a: a.raised_at,
    )
    entries: list[tuple[datetime, str, str]] = [
        (r.at, f"RPE {r.rpe}", r.context.replace("_", " "))
        for r in inp.rpe
        if s.started_at <= r.at <= end + ENTRY_GRACE
    ]
    entries += [
        (x.at, ", ".join(SYMPTOMS.get(c, c) for c in x.symptoms), f"severity {x.severity}/10")
        for x in inp.symptoms
        if s.started_at <= x.at <= end + ENTRY_GRACE
    ]
    entries.sort(key=lambda e: e[0])
    t0 = s.started_at.timestamp()
    return SessionReport(
        title=f"Session report: {inp.patient_name}",
        subtitle=(
            f"{inp.patient_id} · {start_local:%d %b %Y, %H:%M} – {until} ({start_local.tzname()}) · "
            f"session {s.session_id} · {inp.clinic_name}"
        ),
        prescription=prescription_text(rx) if rx else None,
        provisional_note=(
            "The session is still running: figures are provisional; training load and recovery come with its summary."
            if figures.provisional
            else None
        ),
        facts=facts(figures),
        minutes=tuple((p.t_s - t0) / 60.0 for p in inp.points),
        hr_bpm=tuple(p.hr_bpm for p in inp.points),
        band_low_bpm=tuple(p.band_low_bpm for p in inp.points),
        band_high_bpm=tuple(p.band_high_bpm for p in inp.points),
        ceiling_bpm=rx.ceiling_bpm if rx else None,
        alert_rows=tuple(_alert_row(a, tz) for a in alerts),
        entry_rows=tuple((f"{at.astimezone(tz):%H:%M:%S}", what, detail) for at, what, detail in entries),
        footer=f"cardiorehab · generated {inp.generated_at.astimezone(tz):%d %b %Y %H:%M %Z}",
    )
