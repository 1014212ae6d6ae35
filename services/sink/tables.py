"""How each topic's events become rows: pure mapping from event to column values, per destination table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.events import FeaturesV1
from ingest.events import DeadLetterV1, SensorHrV1
from ingest.wire import Event


def ns_to_dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def s_to_dt(s: int) -> datetime:
    return datetime.fromtimestamp(s, tz=UTC)


@dataclass(frozen=True)
class TableSpec:
    """Destination of one event type: columns in COPY order, the unique key, and what a replay does."""

    event_type: type[Event]
    table: str
    columns: tuple[str, ...]
    conflict: tuple[str, ...]
    to_row: Callable[[Any], Sequence[Any]]
    update_on_conflict: bool = False  # features may be recomputed (late data); sensor rows never change


def _hr_row(e: SensorHrV1) -> tuple[Any, ...]:
    return (
        ns_to_dt(e.gateway_time_ns),
        e.patient_id,
        e.device_id,
        e.seq,
        ns_to_dt(e.device_time_ns) if e.device_time_ns is not None else None,
        e.hr_bpm,
        list(e.rr_ms),
        e.sensor_contact,
        e.energy_expended_kj,
        e.battery_pct,
    )


def _features_row(e: FeaturesV1) -> tuple[Any, ...]:
    return (
        s_to_dt(e.t_s),
        e.patient_id,
        e.session_id,
        ns_to_dt(e.computed_time_ns),
        e.hr_bpm,
        e.zone,
        e.band_low_bpm,
        e.band_high_bpm,
        e.ceiling_bpm,
        e.band_pct,
        e.in_band,
        e.time_in_band_s,
        list(e.time_in_zone_s),
        e.elapsed_s,
        e.trimp_banister,
        e.trimp_edwards,
        e.rmssd_ms,
        e.sdnn_ms,
        e.phase,
        e.signal,
        e.data_age_s,
        e.sensor_contact,
        e.battery_pct,
        e.artefact_pct,
        e.rhythm_irregular,
        e.cue,
        e.late,
        e.readings,
        e.prescription_version,
    )


def _dead_letter_row(e: DeadLetterV1) -> tuple[Any, ...]:
    return (e.stage, e.origin, e.reason, ns_to_dt(e.received_time_ns), e.key, e.payload_utf8, e.payload_b64)


SENSOR_HR = TableSpec(
    SensorHrV1,
    "sensor_hr",
    (
        "time",
        "patient_id",
        "device_id",
        "seq",
        "device_time",
        "hr_bpm",
        "rr_ms",
        "sensor_contact",
        "energy_kj",
        "battery_pct",
    ),
    ("device_id", "seq", "time"),
    _hr_row,
)
FEATURES = TableSpec(
    FeaturesV1,
    "features",
    (
        "time",
        "patient_id",
        "session_id",
        "computed_at",
        "hr_bpm",
        "zone",
        "band_low_bpm",
        "band_high_bpm",
        "ceiling_bpm",
        "band_pct",
        "in_band",
        "time_in_band_s",
        "time_in_zone_s",
        "elapsed_s",
        "trimp_banister",
        "trimp_edwards",
        "rmssd_ms",
        "sdnn_ms",
        "phase",
        "signal",
        "data_age_s",
        "sensor_contact",
        "battery_pct",
        "artefact_pct",
        "rhythm_irregular",
        "cue",
        "late",
        "readings",
        "prescription_version",
    ),
    ("patient_id", "time"),
    _features_row,
    update_on_conflict=True,
)
DEAD_LETTERS = TableSpec(
    DeadLetterV1,
    "dead_letters",
    ("stage", "origin", "reason", "received_at", "key", "payload_utf8", "payload_b64"),
    ("stage", "origin"),
    _dead_letter_row,
)

ALL_TABLES: tuple[TableSpec, ...] = (SENSOR_HR, FEATURES, DEAD_LETTERS)
