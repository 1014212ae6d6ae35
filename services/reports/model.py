"""What a session report is built from (plain, frozen inputs) and what it contains (ready-to-draw text and series)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One point of the session's feature history (one second, or one bucket of seconds)."""

    t_s: float
    hr_bpm: float | None
    band_low_bpm: float | None
    band_high_bpm: float | None
    in_band: bool | None


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """The stored session; the summary fields are None until the stream summarised it."""

    session_id: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    time_in_band_s: float | None
    time_in_band_pct: float | None
    peak_hr_bpm: float | None
    mean_hr_bpm: float | None
    trimp_banister: float | None
    trimp_edwards: float | None
    hrr1_bpm: float | None
    hrr2_bpm: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrescriptionFacts:
    version: int
    prescribed_at: datetime
    prescribed_by_name: str
    method: str
    intensity_low: float
    intensity_high: float
    ceiling_bpm: float
    resting_hr_bpm: float
    peak_hr_bpm: float | None
    rpe_low: int
    rpe_high: int
    beta_blocker: bool


@dataclass(frozen=True, slots=True)
class AlertEntry:
    raised_at: datetime
    tier: str
    rule: str
    message: str
    session_id: str | None
    acknowledged_at: datetime | None
    acknowledged_by_name: str | None
    cleared_at: datetime | None


@dataclass(frozen=True, slots=True)
class RpeEntry:
    at: datetime
    rpe: int
    context: str


@dataclass(frozen=True, slots=True)
class SymptomEntry:
    at: datetime
    symptoms: tuple[str, ...]
    severity: int


@dataclass(frozen=True, slots=True)
class ReportInput:
    patient_id: str
    patient_name: str
    clinic_name: str
    timezone: str
    session: SessionFacts
    prescriptions: tuple[PrescriptionFacts, ...]
    points: tuple[SeriesPoint, ...]
    resolution_s: int
    alerts: tuple[AlertEntry, ...]
    rpe: tuple[RpeEntry, ...]
    symptoms: tuple[SymptomEntry, ...]
    generated_at: datetime


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """The figures a nurse reviews; from the stream's summary, or provisional (from the history) while it runs."""

    provisional: bool
    duration_s: float
    time_in_band_s: float
    time_in_band_pct: float | None
    peak_hr_bpm: float | None
    mean_hr_bpm: float | None
    trimp_banister: float | None
    trimp_edwards: float | None
    hrr1_bpm: float | None
    hrr2_bpm: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class SessionReport:
    """Everything the PDF shows, as text and series (the renderer only lays it out)."""

    title: str
    subtitle: str
    prescription: str | None
    provisional_note: str | None
    facts: tuple[Fact, ...]
    minutes: tuple[float, ...]
    hr_bpm: tuple[float | None, ...]
    band_low_bpm: tuple[float | None, ...]
    band_high_bpm: tuple[float | None, ...]
    ceiling_bpm: float | None
    alert_rows: tuple[tuple[str, str, str, str, str], ...]
    entry_rows: tuple[tuple[str, str, str], ...]
    footer: str
