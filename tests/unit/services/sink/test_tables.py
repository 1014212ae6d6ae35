"""Event → row mapping: every column filled, conflict keys are the idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg import sql

from analytics.events import AlertV1, FeaturesV1, SessionV1
from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from services.sink.repository import _merge_statement
from services.sink.tables import (
    ALERT_EVENTS,
    ALL_TABLES,
    DEAD_LETTERS,
    FEATURES,
    SENSOR_ACC,
    SENSOR_ECG,
    SENSOR_HR,
    SESSION_EVENTS,
)

NS = 1_700_000_000_123_000_000


def test_row_widths_match_columns() -> None:
    samples = {
        SENSOR_HR: SensorHrV1(patient_id="p", device_id="d", seq=1, gateway_time_ns=NS, hr_bpm=80, rr_ms=(750.0,)),
        SENSOR_ECG: SensorEcgV1(
            patient_id="p", device_id="d", seq=1, gateway_time_ns=NS, device_time_ns=NS, fs_hz=130, samples_uv=(1, 2)
        ),
        SENSOR_ACC: SensorAccV1(
            patient_id="p",
            device_id="d",
            seq=1,
            gateway_time_ns=NS,
            device_time_ns=NS,
            fs_hz=25,
            samples_mg=((1, 2, 3),),
        ),
        FEATURES: FeaturesV1(patient_id="p", t_s=1_700_000_000, computed_time_ns=1_700_000_000_500_000_000),
        ALERT_EVENTS: AlertV1(
            alert_id="a", patient_id="p", rule="r", tier="nurse", event="raised", revision=0, t_ns=NS, message="m"
        ),
        SESSION_EVENTS: SessionV1(session_id="s", patient_id="p", event="start", t_ns=NS, started_ns=NS),
        DEAD_LETTERS: DeadLetterV1(stage="s", origin="o", reason="r", received_time_ns=1),
    }
    assert set(samples) == set(ALL_TABLES)
    for spec, event in samples.items():
        row = spec.to_row(event)
        assert len(row) == len(spec.columns), spec.table
        assert set(spec.conflict) <= set(spec.columns)


def test_conflict_keys_are_the_idempotency_keys() -> None:
    alert = AlertV1(
        alert_id="a", patient_id="p", rule="r", tier="nurse", event="raised", revision=3, t_ns=NS, message="m"
    )
    row = ALERT_EVENTS.to_row(alert)
    assert ":".join(str(row[i]) for i in ALERT_EVENTS.conflict_indexes) == alert.idempotency_key()
    session = SessionV1(session_id="s", patient_id="p", event="end", t_ns=NS, started_ns=NS)
    row = SESSION_EVENTS.to_row(session)
    assert ":".join(str(row[i]) for i in SESSION_EVENTS.conflict_indexes) == session.idempotency_key()


def test_reading_time_is_the_gateway_time_in_utc() -> None:
    row = SENSOR_HR.to_row(
        SensorHrV1(patient_id="p", device_id="d", seq=1, gateway_time_ns=1_700_000_000_250_000_000, hr_bpm=80)
    )
    assert row[0] == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)


def test_accelerometer_samples_become_an_n_by_3_array() -> None:
    acc = SensorAccV1(
        patient_id="p",
        device_id="d",
        seq=1,
        gateway_time_ns=NS,
        device_time_ns=NS,
        fs_hz=25,
        samples_mg=((1, 2, 3), (4, 5, 6)),
    )
    assert SENSOR_ACC.to_row(acc)[-1] == "{{1,2,3},{4,5,6}}"


def test_number_arrays_are_copied_as_literals() -> None:
    row = SENSOR_HR.to_row(
        SensorHrV1(patient_id="p", device_id="d", seq=1, gateway_time_ns=NS, hr_bpm=80, rr_ms=(750.0, 812.5))
    )
    assert row[6] == "{750.0,812.5}"
    assert SENSOR_HR.to_row(SensorHrV1(patient_id="p", device_id="d", seq=1, gateway_time_ns=NS, hr_bpm=80))[6] == "{}"


def test_sensor_rows_never_update_and_features_do() -> None:
    assert "DO NOTHING" in _merge_statement(SENSOR_HR).as_string()
    merge = _merge_statement(FEATURES).as_string()
    assert "DO UPDATE SET" in merge and '"patient_id" = EXCLUDED' not in merge


def test_alert_and_session_state_is_derived_after_the_history_insert() -> None:
    assert "DO NOTHING" in _merge_statement(ALERT_EVENTS).as_string()
    derived = ALERT_EVENTS.followups[0](sql.Identifier("stage_alert_events")).as_string()
    assert "alerts.revision < EXCLUDED.revision" in derived and "alert_tier_rank" in derived
    derived = SESSION_EVENTS.followups[0](sql.Identifier("stage_session_events")).as_string()
    assert "INSERT INTO sessions" in derived and "'summary'" in derived
