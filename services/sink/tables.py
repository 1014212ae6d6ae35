"""How each topic's events become rows: pure mapping from event to column values, per destination table."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Final

from psycopg import sql

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.wire import Event
from services.db.alerts import alerts_from_stage
from services.db.sessions import sessions_from_stage
from services.sink.columnar import Column, ColumnarCopy, Kind


def array_literal(values: Iterable[float] | Iterable[int]) -> str:
    """A PostgreSQL array literal of numbers: COPY parses it on the server, which is several times cheaper than
    adapting a Python list row by row."""
    return "{" + ",".join(map(repr, values)) + "}"


def matrix_literal(rows: Iterable[Iterable[int]]) -> str:
    """A two-dimensional array literal, e.g. accelerometer (x, y, z) samples."""
    return "{" + ",".join(map(array_literal, rows)) + "}"


def ns_to_dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def s_to_dt(s: int) -> datetime:
    return datetime.fromtimestamp(s, tz=UTC)


@dataclass(frozen=True)
class TableSpec:
    """Destination of one event type: columns in COPY order, the unique key, and what a replay does.

    ``to_row`` gives a row for text COPY; with ``columnar`` the sink writes a binary COPY payload built a column at
    a time for the whole batch instead (services/sink/columnar.py; cheaper to build and to parse). Both map an event
    to the same stored values."""

    event_type: type[Event]
    table: str
    columns: tuple[str, ...]
    conflict: tuple[str, ...]
    to_row: Callable[[Any], Sequence[Any]]
    update_on_conflict: bool = False  # features may be recomputed (late data); sensor rows never change
    # Statements run after the merge in the same transaction, given the staging table (derived current state).
    followups: tuple[Callable[[sql.Identifier], sql.Composed], ...] = ()
    columnar: ColumnarCopy | None = None

    @property
    def direct_copy(self) -> bool:
        """Whether a conflict-free batch may be copied straight into the table (no derived state to update)."""
        return not self.followups

    @cached_property
    def conflict_indexes(self) -> tuple[int, ...]:
        return tuple(self.columns.index(c) for c in self.conflict)

    @cached_property
    def conflict_key(self) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        """The row's unique key (always a tuple), extracted in C."""
        getter = operator.itemgetter(*self.conflict_indexes)
        if len(self.conflict_indexes) == 1:
            return lambda row: (getter(row),)
        return getter

    @cached_property
    def event_key(self) -> Callable[[Any], tuple[Any, ...]]:
        """The unique key of a columnar table's event, from its fields (no row is built for those)."""
        assert self.columnar is not None, f"{self.table} is copied row by row: use conflict_key"
        return self.columnar.key_of(self.conflict)


def _columns(names: Sequence[str], fields: Sequence[str], kinds: Sequence[Kind]) -> list[Column]:
    return [Column(n, f, k) for n, f, k in zip(names, fields, kinds, strict=True)]


def _hr_row(e: SensorHrV1) -> tuple[Any, ...]:
    return (
        ns_to_dt(e.gateway_time_ns),
        e.patient_id,
        e.device_id,
        e.seq,
        ns_to_dt(e.device_time_ns) if e.device_time_ns is not None else None,
        e.hr_bpm,
        array_literal(e.rr_ms),
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
        array_literal(e.time_in_zone_s),
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


_FEATURES_COLUMNS: Final = (
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
)
# Every column is the FeaturesV1 field of the same name but these two; a field added to FeaturesV1 without a
# column (or a renamed one) fails here, at import, rather than shifting values into the wrong columns.
_FEATURES_FIELDS: Final = tuple({"time": "t_s", "computed_at": "computed_time_ns"}.get(c, c) for c in _FEATURES_COLUMNS)
if set(FeaturesV1.__struct_fields__) != {"schema_version", *_FEATURES_FIELDS}:
    raise RuntimeError("FeaturesV1's fields and the features columns differ: update services/sink/tables.py")


def _ecg_row(e: SensorEcgV1) -> tuple[Any, ...]:
    return (
        ns_to_dt(e.gateway_time_ns),
        e.patient_id,
        e.device_id,
        e.seq,
        ns_to_dt(e.device_time_ns),
        e.fs_hz,
        array_literal(e.samples_uv),
    )


def _acc_row(e: SensorAccV1) -> tuple[Any, ...]:
    return (
        ns_to_dt(e.gateway_time_ns),
        e.patient_id,
        e.device_id,
        e.seq,
        ns_to_dt(e.device_time_ns),
        e.fs_hz,
        matrix_literal(e.samples_mg),
    )


def _alert_row(e: AlertV1) -> tuple[Any, ...]:
    return (
        e.alert_id,
        e.event,
        e.revision,
        ns_to_dt(e.t_ns),
        e.patient_id,
        e.session_id,
        e.rule,
        e.tier,
        e.message,
        e.value,
        e.threshold,
    )


def _session_row(e: SessionV1) -> tuple[Any, ...]:
    return (
        e.session_id,
        e.event,
        e.patient_id,
        ns_to_dt(e.t_ns),
        ns_to_dt(e.started_ns),
        ns_to_dt(e.ended_ns) if e.ended_ns is not None else None,
        e.duration_s,
        e.time_in_band_s,
        e.time_in_band_pct,
        e.peak_hr_bpm,
        e.mean_hr_bpm,
        e.trimp_banister,
        e.trimp_edwards,
        e.hrr1_bpm,
        e.hrr2_bpm,
        list(e.flags),
    )


def _dead_letter_row(e: DeadLetterV1) -> tuple[Any, ...]:
    return (e.stage, e.origin, e.reason, ns_to_dt(e.received_time_ns), e.key, e.payload_utf8, e.payload_b64)


_HR_COLUMNS: Final = (
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
)
SENSOR_HR = TableSpec(
    SensorHrV1,
    "sensor_hr",
    _HR_COLUMNS,
    ("device_id", "seq", "time"),
    _hr_row,
    columnar=ColumnarCopy(
        SensorHrV1,
        _columns(
            _HR_COLUMNS,
            (
                "gateway_time_ns",
                "patient_id",
                "device_id",
                "seq",
                "device_time_ns",
                "hr_bpm",
                "rr_ms",
                "sensor_contact",
                "energy_expended_kj",
                "battery_pct",
            ),
            ("timestamptz_ns", "text", "text", "int8", "timestamptz_ns", "int2", "float8[]", "bool", "int4", "int2"),
        ),
    ),
)
FEATURES = TableSpec(
    FeaturesV1,
    "features",
    _FEATURES_COLUMNS,
    ("patient_id", "time"),
    _features_row,
    update_on_conflict=True,
    columnar=ColumnarCopy(
        FeaturesV1,
        _columns(
            _FEATURES_COLUMNS,
            _FEATURES_FIELDS,
            (
                "timestamptz_s",  # time
                "text",  # patient_id
                "text",  # session_id
                "timestamptz_ns",  # computed_at
                "float4",  # hr_bpm
                "int2",  # zone
                "float4",  # band_low_bpm
                "float4",  # band_high_bpm
                "float4",  # ceiling_bpm
                "float4",  # band_pct
                "bool",  # in_band
                "float4",  # time_in_band_s
                "float4[]",  # time_in_zone_s
                "float4",  # elapsed_s
                "float4",  # trimp_banister
                "float4",  # trimp_edwards
                "float4",  # rmssd_ms
                "float4",  # sdnn_ms
                "text",  # phase
                "text",  # signal
                "float4",  # data_age_s
                "bool",  # sensor_contact
                "int2",  # battery_pct
                "float4",  # artefact_pct
                "bool",  # rhythm_irregular
                "text",  # cue
                "bool",  # late
                "int4",  # readings
                "int4",  # prescription_version
            ),
        ),
    ),
)
DEAD_LETTERS = TableSpec(
    DeadLetterV1,
    "dead_letters",
    ("stage", "origin", "reason", "received_at", "key", "payload_utf8", "payload_b64"),
    ("stage", "origin"),
    _dead_letter_row,
)

_FRAME_COLUMNS = ("time", "patient_id", "device_id", "seq", "device_time", "fs_hz")
SENSOR_ECG = TableSpec(
    SensorEcgV1, "sensor_ecg", (*_FRAME_COLUMNS, "samples_uv"), ("device_id", "seq", "time"), _ecg_row
)
SENSOR_ACC = TableSpec(
    SensorAccV1, "sensor_acc", (*_FRAME_COLUMNS, "samples_mg"), ("device_id", "seq", "time"), _acc_row
)
# The engine's steps go into the history keyed by alert_id:revision; the current state follows from all of them.
ALERT_EVENTS = TableSpec(
    AlertV1,
    "alert_events",
    (
        "alert_id",
        "kind",
        "revision",
        "at",
        "patient_id",
        "session_id",
        "rule",
        "tier",
        "message",
        "value",
        "threshold",
    ),
    ("alert_id", "revision"),
    _alert_row,
    followups=(alerts_from_stage,),
)
SESSION_EVENTS = TableSpec(
    SessionV1,
    "session_events",
    (
        "session_id",
        "event",
        "patient_id",
        "t",
        "started_at",
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
        "flags",
    ),
    ("session_id", "event"),
    _session_row,
    followups=(sessions_from_stage,),
)

ALL_TABLES: tuple[TableSpec, ...] = (
    SENSOR_HR,
    SENSOR_ECG,
    SENSOR_ACC,
    FEATURES,
    ALERT_EVENTS,
    SESSION_EVENTS,
    DEAD_LETTERS,
)
