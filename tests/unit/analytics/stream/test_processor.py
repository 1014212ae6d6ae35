"""The pure per-patient step behind the faust agent."""

from __future__ import annotations

from analytics.events import PrescriptionV1
from analytics.stream.defaults import default_prescription
from analytics.stream.processor import PatientState, apply_reading, band_of, dump_state, load_state, zone_of
from ingest.events import SensorHrV1

NS = 1_000_000_000
T0 = 1_800_000_000


def reading(seq: int, t_s: float, hr: int = 100, device: str = "d1") -> SensorHrV1:
    return SensorHrV1(patient_id="p1", device_id=device, seq=seq, gateway_time_ns=int(t_s * NS), hr_bpm=hr)


def karvonen(rest: float = 60, peak: float = 160, lo: float = 0.4, hi: float = 0.6) -> PrescriptionV1:
    return PrescriptionV1(
        patient_id="p1",
        clinic_id="c",
        version=2,
        prescribed_by="dr",
        prescribed_time_ns=0,
        method="karvonen",
        resting_hr_bpm=rest,
        peak_hr_bpm=peak,
        peak_hr_source="cpet",
        intensity_low=lo,
        intensity_high=hi,
        ceiling_bpm=140,
    )


def test_karvonen_band() -> None:
    band = band_of(karvonen())
    assert (band.low_bpm, band.high_bpm) == (100.0, 120.0)  # 60 + 0.4·100, 60 + 0.6·100


def test_edwards_zones_by_percent_of_peak() -> None:
    band = band_of(karvonen(peak=200))
    assert [zone_of(hr, band) for hr in (99, 100, 119, 120, 150, 180, 199, 200, 230)] == [0, 1, 1, 2, 3, 5, 5, 5, 5]


def test_replayed_reading_changes_nothing() -> None:
    rx = default_prescription("p1")
    state, first = apply_reading(PatientState(), reading(1, T0, 100), rx, now_ns=T0 * NS)
    again, duplicate = apply_reading(state, reading(1, T0, 100), rx, now_ns=T0 * NS)
    assert first is not None and duplicate is None and again == state


def test_time_in_band_counts_each_second_once() -> None:
    rx = default_prescription("p1")  # band 90-110
    state = PatientState()
    for i, (t, hr) in enumerate([(T0, 100), (T0 + 0.5, 100), (T0 + 1, 100), (T0 + 2, 130), (T0 + 3, 95)]):
        state, features = apply_reading(state, reading(i, t, hr), rx, now_ns=int(t * NS))
    assert state.time_in_band_s == 3.0
    assert features is not None and features.t_s == T0 + 3 and features.elapsed_s == 3.0


def test_state_survives_serialisation() -> None:
    rx = default_prescription("p1")
    state, _ = apply_reading(PatientState(), reading(5, T0), rx, now_ns=T0 * NS)
    assert load_state(dump_state(state)) == state
    assert load_state(None) == PatientState()


def test_zero_heart_rate_means_no_reading_not_zero() -> None:
    _, features = apply_reading(PatientState(), reading(1, T0, hr=0), default_prescription("p1"), now_ns=T0 * NS)
    assert features is not None and features.hr_bpm is None and features.zone is None and features.in_band is None
