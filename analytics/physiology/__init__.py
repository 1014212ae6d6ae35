"""Physiology core: pure numpy/scipy functions with unit-bearing names and typed results (no I/O).

Modules, one concept each: ``artefacts`` (Lipponen-Tarvainen RR correction) and ``artefact_stream`` (its
incremental form), ``hrv``, ``prescription``, ``zones``, ``load``, ``phases``, ``recovery``, ``rhythm``,
``quality``, ``timebase``, ``ecg``, ``streaming`` (per-patient live state) with ``snapshot``, and ``report``.
This package imports only numpy, scipy and the standard library.
"""

from analytics.physiology.artefact_stream import CorrectedBeats, StreamingRrCorrector
from analytics.physiology.artefacts import ArtefactCounts, BeatLabel, RrCorrection, correct_rr, no_correction
from analytics.physiology.ecg import EcgSnippet, RPeaks, detect_r_peaks, extract_ecg_snippet
from analytics.physiology.errors import (
    InsufficientDataError,
    InvalidInputError,
    PhysiologyError,
    PrescriptionError,
)
from analytics.physiology.hrv import (
    RestWindow,
    TimeDomainHrv,
    beat_times_s,
    hr_trace_from_rr,
    select_rest_window,
    time_domain_hrv,
)
from analytics.physiology.load import (
    EdwardsTrimp,
    RpeScale,
    SessionRpeLoad,
    banister_trimp,
    edwards_trimp,
    session_rpe_load,
)
from analytics.physiology.phases import Phase, PhaseThresholds, SessionPhases, detect_phases, phase_thresholds
from analytics.physiology.prescription import (
    IntensityMethod,
    PeakHrSource,
    Prescription,
    PrescriptionFlag,
    Sex,
    explicit_prescription,
    fallback_prescription,
    karvonen_prescription,
    percent_peak_prescription,
    threshold_prescription,
)
from analytics.physiology.quality import SignalQuality, SignalState, assess_signal_quality, classify_signal
from analytics.physiology.recovery import (
    ChronotropicResponse,
    HeartRateRecovery,
    chronotropic_response,
    heart_rate_recovery,
)
from analytics.physiology.report import SessionReport, build_session_report, report_to_json
from analytics.physiology.rhythm import RhythmScreen, RhythmWindow, screen_rhythm
from analytics.physiology.snapshot import (
    StreamSnapshot,
    prescription_from_state,
    prescription_to_state,
    recent_rest_hrv,
)
from analytics.physiology.streaming import PatientStream
from analytics.physiology.timebase import hr_per_second
from analytics.physiology.zones import TimeInZones, Zone, band_percent, time_in_zones, zones_of

__all__ = [
    "ArtefactCounts",
    "BeatLabel",
    "ChronotropicResponse",
    "CorrectedBeats",
    "EcgSnippet",
    "EdwardsTrimp",
    "HeartRateRecovery",
    "InsufficientDataError",
    "IntensityMethod",
    "InvalidInputError",
    "PatientStream",
    "PeakHrSource",
    "Phase",
    "PhaseThresholds",
    "PhysiologyError",
    "Prescription",
    "PrescriptionError",
    "PrescriptionFlag",
    "RPeaks",
    "RestWindow",
    "RhythmScreen",
    "RhythmWindow",
    "RpeScale",
    "RrCorrection",
    "SessionPhases",
    "SessionReport",
    "SessionRpeLoad",
    "Sex",
    "SignalQuality",
    "SignalState",
    "StreamSnapshot",
    "StreamingRrCorrector",
    "TimeDomainHrv",
    "TimeInZones",
    "Zone",
    "assess_signal_quality",
    "band_percent",
    "banister_trimp",
    "beat_times_s",
    "build_session_report",
    "chronotropic_response",
    "classify_signal",
    "correct_rr",
    "detect_phases",
    "detect_r_peaks",
    "edwards_trimp",
    "explicit_prescription",
    "extract_ecg_snippet",
    "fallback_prescription",
    "heart_rate_recovery",
    "hr_per_second",
    "hr_trace_from_rr",
    "karvonen_prescription",
    "no_correction",
    "percent_peak_prescription",
    "phase_thresholds",
    "prescription_from_state",
    "prescription_to_state",
    "recent_rest_hrv",
    "report_to_json",
    "screen_rhythm",
    "select_rest_window",
    "session_rpe_load",
    "threshold_prescription",
    "time_domain_hrv",
    "time_in_zones",
    "zones_of",
]
