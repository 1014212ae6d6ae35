"""Pure builders from decoded values to events, with strict validation."""

from __future__ import annotations

import pytest

from ingest.encode import build_heart_rate_measurement, build_pmd_acc_frame, build_pmd_ecg_frame
from ingest.events import SensorAccV1, SensorEcgV1
from ingest.gateway.readings import hr_reading, pmd_reading
from ingest.gatt import parse_heart_rate_measurement, parse_pmd_frame
from ingest.pmd import polar_to_unix_ns
from ingest.wire import SchemaError

IDS = {"patient_id": "patient-1", "device_id": "C0:00:00:00:00:01"}


def test_hr_reading_carries_numbering_clock_and_battery() -> None:
    m = parse_heart_rate_measurement(build_heart_rate_measurement(72, rr_1024=(800, 810), sensor_contact=True))
    event = hr_reading(m, seq=41, gateway_time_ns=123, battery_pct=80, **IDS)
    assert (event.seq, event.hr_bpm, event.battery_pct, event.gateway_time_ns) == (41, 72, 80, 123)
    assert event.rr_ms == (800 * 1000 / 1024, 810 * 1000 / 1024)
    assert event.sensor_contact is True
    assert event.idempotency_key() == "C0:00:00:00:00:01:41"


def test_values_downstream_would_reject_are_caught_here() -> None:
    too_fast = parse_heart_rate_measurement(build_heart_rate_measurement(301, uint16=True))
    with pytest.raises(SchemaError, match="hr_bpm"):
        hr_reading(too_fast, seq=0, gateway_time_ns=1, battery_pct=None, **IDS)
    zero_rr = parse_heart_rate_measurement(build_heart_rate_measurement(60, rr_1024=(0,)))
    with pytest.raises(SchemaError, match="rr_ms"):
        hr_reading(zero_rr, seq=0, gateway_time_ns=1, battery_pct=None, **IDS)


def test_ecg_and_acc_frames_keep_both_clocks() -> None:
    ecg = parse_pmd_frame(build_pmd_ecg_frame(599_616_000_000_000_000, [1, -2, 3]))
    event = pmd_reading(ecg, seq=7, gateway_time_ns=1_750_000_000_000_000_000, fs_hz=130.0, **IDS)
    assert isinstance(event, SensorEcgV1)
    assert event.device_time_ns == polar_to_unix_ns(599_616_000_000_000_000)
    assert event.samples_uv == (1, -2, 3)
    acc = parse_pmd_frame(build_pmd_acc_frame(5, [(1, 2, 3), (-4, 5, -6)]))
    event_acc = pmd_reading(acc, seq=8, gateway_time_ns=9, fs_hz=200.0, **IDS)
    assert isinstance(event_acc, SensorAccV1)
    assert event_acc.samples_mg == ((1, 2, 3), (-4, 5, -6))
