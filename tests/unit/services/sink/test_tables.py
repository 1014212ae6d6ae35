"""Event → row mapping: every column filled, conflict keys are the idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.events import FeaturesV1
from ingest.events import DeadLetterV1, SensorHrV1
from services.sink.repository import _merge_statement
from services.sink.tables import ALL_TABLES, DEAD_LETTERS, FEATURES, SENSOR_HR


def test_row_widths_match_columns() -> None:
    samples = {
        SENSOR_HR: SensorHrV1(
            patient_id="p", device_id="d", seq=1, gateway_time_ns=1_700_000_000_123_000_000, hr_bpm=80, rr_ms=(750.0,)
        ),
        FEATURES: FeaturesV1(patient_id="p", t_s=1_700_000_000, computed_time_ns=1_700_000_000_500_000_000),
        DEAD_LETTERS: DeadLetterV1(stage="s", origin="o", reason="r", received_time_ns=1),
    }
    assert set(samples) == set(ALL_TABLES)
    for spec, event in samples.items():
        row = spec.to_row(event)
        assert len(row) == len(spec.columns), spec.table
        assert set(spec.conflict) <= set(spec.columns)


def test_reading_time_is_the_gateway_time_in_utc() -> None:
    row = SENSOR_HR.to_row(
        SensorHrV1(patient_id="p", device_id="d", seq=1, gateway_time_ns=1_700_000_000_250_000_000, hr_bpm=80)
    )
    assert row[0] == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)


def test_sensor_rows_never_update_and_features_do() -> None:
    assert "DO NOTHING" in _merge_statement(SENSOR_HR).as_string()
    merge = _merge_statement(FEATURES).as_string()
    assert "DO UPDATE SET" in merge and '"patient_id" = EXCLUDED' not in merge
