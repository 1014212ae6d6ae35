"""Pure builders: decoded GATT values plus the gateway's numbering and clocks become ingest events.

No I/O. Events are validated by a round trip through the strict decoder, so a value that the downstream stages
would reject (a heart rate above 300 bpm, an RR interval of 0) is caught here and dead-lettered with the reason
instead of travelling to Kafka.
"""

from __future__ import annotations

from typing import TypeVar

from ingest.events import SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.gatt import HeartRateMeasurement, PmdFrame, PmdMeasurementType
from ingest.pmd import AccSample
from ingest.wire import Event, decode, encode

E = TypeVar("E", bound=Event)


def validated(event: E) -> E:
    """The event if the strict decoder accepts it; raises :class:`ingest.wire.SchemaError` naming the field."""
    return decode(type(event), encode(event))


def hr_reading(
    measurement: HeartRateMeasurement,
    *,
    patient_id: str,
    device_id: str,
    seq: int,
    gateway_time_ns: int,
    battery_pct: int | None,
) -> SensorHrV1:
    return validated(
        SensorHrV1(
            patient_id=patient_id,
            device_id=device_id,
            seq=seq,
            gateway_time_ns=gateway_time_ns,
            hr_bpm=measurement.hr_bpm,
            rr_ms=measurement.rr_ms,
            sensor_contact=measurement.sensor_contact,
            energy_expended_kj=measurement.energy_expended_kj,
            battery_pct=battery_pct,
        )
    )


def pmd_reading(
    frame: PmdFrame,
    *,
    patient_id: str,
    device_id: str,
    seq: int,
    gateway_time_ns: int,
    fs_hz: float,
) -> SensorEcgV1 | SensorAccV1:
    """An ECG or ACC event; ``gateway_time_ns`` is the anchored host time of the frame's last sample."""
    if frame.measurement_type is PmdMeasurementType.ECG:
        samples_uv: tuple[int, ...] = tuple(s for s in frame.samples if isinstance(s, int))
        return validated(
            SensorEcgV1(
                patient_id=patient_id,
                device_id=device_id,
                seq=seq,
                gateway_time_ns=gateway_time_ns,
                device_time_ns=frame.unix_timestamp_ns,
                fs_hz=fs_hz,
                samples_uv=samples_uv,
            )
        )
    if frame.measurement_type is PmdMeasurementType.ACC:
        samples_mg: tuple[AccSample, ...] = tuple(s for s in frame.samples if isinstance(s, tuple))
        return validated(
            SensorAccV1(
                patient_id=patient_id,
                device_id=device_id,
                seq=seq,
                gateway_time_ns=gateway_time_ns,
                device_time_ns=frame.unix_timestamp_ns,
                fs_hz=fs_hz,
                samples_mg=samples_mg,
            )
        )
    raise ValueError(f"{frame.measurement_type.name} frames are not ingested")
