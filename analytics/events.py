"""Messages the analytics stage emits, and the prescription it consumes.

``features.v1``      one snapshot per patient per second while a session runs (:class:`FeaturesV1`)
``alerts.v1``        alert lifecycle: raised, updated, cleared (:class:`AlertV1`)
``sessions.v1``      session start, end and summary (:class:`SessionV1`)
``prescriptions.v1`` each patient's current exercise prescription, compacted (:class:`PrescriptionV1`)

``prescriptions.v1`` is produced by ``services`` but defined here, by its consumer: analytics may not import
services (ARCHITECTURE.md, dependency direction), and the prescription is the physiology's input.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec

from ingest.events import Id, UnixNs
from ingest.wire import Event

Bpm = Annotated[float, msgspec.Meta(ge=0, le=300)]
UnixS = Annotated[int, msgspec.Meta(ge=0)]
Phase = Literal["rest", "warm_up", "exercise", "cool_down", "recovery", "unknown"]
SignalState = Literal["ok", "degraded", "no_contact", "stale", "lost"]
Cue = Literal["keep_going", "ease_off", "speed_up", "cool_down", "check_strap", "stop", "rest", "none"]
Tier = Literal["patient_cue", "nurse", "urgent"]


class AlertThresholdsV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-patient alert thresholds set by the clinician; None means the sourced default of the alert engine."""

    ceiling_grace_s: Annotated[int, msgspec.Meta(ge=0, le=600)] | None = None
    absolute_limit_bpm: Bpm | None = None
    do_not_start_rest_hr_bpm: Bpm | None = None
    signal_lost_s: Annotated[float, msgspec.Meta(ge=1, le=300)] | None = None
    low_battery_pct: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None


class PrescriptionV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A clinician's exercise prescription for one patient; the newest ``version`` wins (compacted topic).

    The intensity fields are the clinician's inputs: fractions of heart-rate reserve (``karvonen``), fractions of
    peak HR (``pct_peak``), fractions of the threshold HR (``threshold``) or bpm (``bpm``). Analytics resolves
    them to a bpm band (``analytics.physiology.prescription``).
    """

    TOPIC: ClassVar[str] = "prescriptions.v1"
    COMPACTED: ClassVar[bool] = True

    schema_version: Literal[1] = 1
    patient_id: Id
    clinic_id: Id
    version: Annotated[int, msgspec.Meta(ge=1)]
    prescribed_by: str
    prescribed_time_ns: UnixNs
    method: Literal["karvonen", "pct_peak", "threshold", "bpm"]
    resting_hr_bpm: Bpm
    peak_hr_bpm: Bpm | None
    peak_hr_source: Literal["cpet", "exercise_test", "estimated", "none"]
    intensity_low: Annotated[float, msgspec.Meta(ge=0)]
    intensity_high: Annotated[float, msgspec.Meta(ge=0)]
    threshold_hr_bpm: Bpm | None = None
    ceiling_bpm: Bpm
    beta_blocker: bool = False
    rpe_low: Annotated[int, msgspec.Meta(ge=6, le=20)] = 12
    rpe_high: Annotated[int, msgspec.Meta(ge=6, le=20)] = 14
    sex: Literal["male", "female"] | None = None
    age_years: Annotated[int, msgspec.Meta(ge=0, le=130)] | None = None
    ischaemic_threshold_bpm: Bpm | None = None
    thresholds: AlertThresholdsV1 = AlertThresholdsV1()

    def idempotency_key(self) -> str:
        return f"{self.patient_id}:{self.version}"


class FeaturesV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One second of one patient's session, computed from event time (``t_s`` is the second it describes)."""

    TOPIC: ClassVar[str] = "features.v1"

    schema_version: Literal[1] = 1
    patient_id: Id
    t_s: UnixS
    session_id: str | None = None
    computed_time_ns: UnixNs
    hr_bpm: Bpm | None = None
    zone: Annotated[int, msgspec.Meta(ge=0, le=5)] | None = None
    band_low_bpm: Bpm | None = None
    band_high_bpm: Bpm | None = None
    ceiling_bpm: Bpm | None = None
    band_pct: float | None = None
    in_band: bool | None = None
    time_in_band_s: float = 0.0
    time_in_zone_s: tuple[float, ...] = ()
    elapsed_s: float = 0.0
    trimp_banister: float | None = None
    trimp_edwards: float | None = None
    rmssd_ms: float | None = None
    sdnn_ms: float | None = None
    phase: Phase = "unknown"
    signal: SignalState = "ok"
    data_age_s: float = 0.0
    sensor_contact: bool | None = None
    battery_pct: int | None = None
    artefact_pct: float | None = None
    rhythm_irregular: bool = False
    cue: Cue = "none"
    late: bool = False
    readings: int = 0
    prescription_version: int | None = None

    def idempotency_key(self) -> str:
        return f"{self.patient_id}:{self.t_s}"


class AlertV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step in an alert episode's life. ``alert_id`` is stable for the episode (patient, rule, start time)."""

    TOPIC: ClassVar[str] = "alerts.v1"

    schema_version: Literal[1] = 1
    alert_id: str
    patient_id: Id
    session_id: str | None = None
    rule: str
    tier: Tier
    event: Literal["raised", "updated", "cleared"]
    revision: Annotated[int, msgspec.Meta(ge=0)]
    t_ns: UnixNs
    message: str
    value: float | None = None
    threshold: float | None = None

    def idempotency_key(self) -> str:
        return f"{self.alert_id}:{self.revision}"


class SessionV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Session lifecycle. ``summary`` carries the figures a nurse reviews after the session."""

    TOPIC: ClassVar[str] = "sessions.v1"

    schema_version: Literal[1] = 1
    session_id: str
    patient_id: Id
    event: Literal["start", "end", "summary"]
    t_ns: UnixNs
    started_ns: UnixNs
    ended_ns: UnixNs | None = None
    duration_s: float | None = None
    time_in_band_s: float | None = None
    time_in_band_pct: float | None = None
    peak_hr_bpm: Bpm | None = None
    mean_hr_bpm: Bpm | None = None
    trimp_banister: float | None = None
    trimp_edwards: float | None = None
    hrr1_bpm: float | None = None
    hrr2_bpm: float | None = None
    flags: tuple[str, ...] = ()

    def idempotency_key(self) -> str:
        return f"{self.session_id}:{self.event}"
