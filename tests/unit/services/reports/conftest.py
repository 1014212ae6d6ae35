"""Report inputs for the pure report tests: a 10-minute session, its history, alerts and entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.reports import (
    AlertEntry,
    PrescriptionFacts,
    ReportInput,
    RpeEntry,
    SeriesPoint,
    SessionFacts,
    SymptomEntry,
)

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def points(seconds: int = 600) -> tuple[SeriesPoint, ...]:
    """HR 80 bpm for the first 2 minutes, 110 (in the 100-120 band) for 6, then 125 (above it) for 2."""
    out = []
    for k in range(seconds):
        hr = 80.0 if k < 120 else 110.0 if k < 480 else 125.0
        out.append(SeriesPoint(START.timestamp() + k, hr, 100.0, 120.0, 100.0 <= hr <= 120.0))
    return tuple(out)


def summarised() -> SessionFacts:
    return SessionFacts(
        session_id="sim-001:1772355600",
        status="summarised",
        started_at=START,
        ended_at=START + timedelta(seconds=600),
        duration_s=600.0,
        time_in_band_s=355.0,
        time_in_band_pct=59.2,
        peak_hr_bpm=127.0,
        mean_hr_bpm=106.5,
        trimp_banister=8.25,
        trimp_edwards=21.0,
        hrr1_bpm=18.0,
        hrr2_bpm=35.0,
        flags=("irregular_rhythm_screened",),
    )


def running() -> SessionFacts:
    blank = dict.fromkeys(
        (
            "ended_at",
            "duration_s",
            "time_in_band_s",
            "time_in_band_pct",
            "peak_hr_bpm",
            "mean_hr_bpm",
            "trimp_banister",
            "trimp_edwards",
            "hrr1_bpm",
            "hrr2_bpm",
        )
    )
    return replace(summarised(), status="active", flags=(), **blank)


def prescription(version: int, at: datetime, ceiling: float) -> PrescriptionFacts:
    return PrescriptionFacts(
        version=version,
        prescribed_at=at,
        prescribed_by_name="Nurse Ada Okafor",
        method="karvonen",
        intensity_low=0.4,
        intensity_high=0.6,
        ceiling_bpm=ceiling,
        resting_hr_bpm=65.0,
        peak_hr_bpm=150.0,
        rpe_low=12,
        rpe_high=14,
        beta_blocker=False,
    )


@pytest.fixture
def report_input() -> ReportInput:
    return ReportInput(
        patient_id="sim-001",
        patient_name="Alma H.",
        clinic_name="Demo Cardiac Rehab",
        timezone="Europe/Berlin",
        session=summarised(),
        prescriptions=(
            prescription(2, START + timedelta(hours=1), 140.0),  # after the session: not the one in force
            prescription(1, START - timedelta(days=3), 124.0),
        ),
        points=points(),
        resolution_s=1,
        alerts=(
            AlertEntry(
                raised_at=START + timedelta(seconds=500),
                tier="patient_cue",
                rule="above_ceiling",
                message="heart rate 125 bpm is above the prescribed ceiling of 124 bpm: ease off",
                session_id="sim-001:1772355600",
                acknowledged_at=START + timedelta(seconds=520),
                acknowledged_by_name="Nurse Ada Okafor",
                cleared_at=START + timedelta(seconds=590),
            ),
            AlertEntry(
                raised_at=START + timedelta(seconds=30),
                tier="nurse",
                rule="signal_lost",
                message="another session's alert",
                session_id="sim-001:other",
                acknowledged_at=None,
                acknowledged_by_name=None,
                cleared_at=None,
            ),
        ),
        rpe=(
            RpeEntry(START + timedelta(seconds=300), 13, "during"),
            RpeEntry(START + timedelta(seconds=630), 15, "session_end"),
            RpeEntry(START + timedelta(hours=5), 9, "during"),  # a later session
        ),
        symptoms=(SymptomEntry(START + timedelta(seconds=400), ("dizziness", "dyspnoea"), 4),),
        generated_at=START + timedelta(hours=2),
    )
