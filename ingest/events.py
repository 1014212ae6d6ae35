"""Messages the ingest stage emits, and the dead-letter record that every stage uses.

``sensor.hr.v1``  one decoded Heart Rate Measurement notification (:class:`SensorHrV1`)
``sensor.ecg.v1`` one decoded Polar PMD ECG frame (:class:`SensorEcgV1`)
``sensor.acc.v1`` one decoded Polar PMD accelerometer frame (:class:`SensorAccV1`)
``deadletter.v1`` input any stage rejected, with the reason (:class:`DeadLetterV1`)

The idempotency key of a sensor message is ``device_id:seq``: the gateway numbers every reading of a device, so a
reading re-sent after a disconnect, a Kafka outage or a gateway restart keeps its key and is stored once.
Both clocks are kept: ``gateway_time_ns`` (host Unix time when the notification arrived, the event time) and, for
frames that carry one, ``device_time_ns`` (the strap's own clock, converted to Unix ns).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec

from ingest.wire import Event

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Seq = Annotated[int, msgspec.Meta(ge=0)]
UnixNs = Annotated[int, msgspec.Meta(ge=0)]
# HRM carries uint8 or uint16 bpm; anything above 300 bpm is not a human heart rate and is rejected here, while
# implausible-but-possible values are judged by signal quality downstream.
HeartRateBpm = Annotated[int, msgspec.Meta(ge=0, le=300)]
# RR travels as uint16 in 1/1024 s, so 0 < RR <= 65535/1024 s.
RrMs = Annotated[float, msgspec.Meta(gt=0, le=65535 * 1000 / 1024)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]


class SensorHrV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One Heart Rate Measurement (0x2A37) notification, decoded, with the gateway's numbering and clocks."""

    TOPIC: ClassVar[str] = "sensor.hr.v1"

    schema_version: Literal[1] = 1
    patient_id: Id
    device_id: Id
    seq: Seq
    gateway_time_ns: UnixNs
    device_time_ns: UnixNs | None = None
    hr_bpm: HeartRateBpm
    rr_ms: tuple[RrMs, ...] = ()
    sensor_contact: bool | None = None
    energy_expended_kj: Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)] | None = None
    battery_pct: Percent | None = None

    def idempotency_key(self) -> str:
        return f"{self.device_id}:{self.seq}"


class SensorEcgV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One Polar PMD ECG frame: single-lead samples in µV; ``device_time_ns`` is the last sample's time."""

    TOPIC: ClassVar[str] = "sensor.ecg.v1"

    schema_version: Literal[1] = 1
    patient_id: Id
    device_id: Id
    seq: Seq
    gateway_time_ns: UnixNs
    device_time_ns: UnixNs
    fs_hz: Annotated[float, msgspec.Meta(gt=0, le=10_000)]
    samples_uv: tuple[int, ...]

    def idempotency_key(self) -> str:
        return f"{self.device_id}:ecg:{self.seq}"


class SensorAccV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One Polar PMD accelerometer frame: (x, y, z) samples in mG; ``device_time_ns`` is the last sample's time."""

    TOPIC: ClassVar[str] = "sensor.acc.v1"

    schema_version: Literal[1] = 1
    patient_id: Id
    device_id: Id
    seq: Seq
    gateway_time_ns: UnixNs
    device_time_ns: UnixNs
    fs_hz: Annotated[float, msgspec.Meta(gt=0, le=10_000)]
    samples_mg: tuple[tuple[int, int, int], ...]

    def idempotency_key(self) -> str:
        return f"{self.device_id}:acc:{self.seq}"


def kafka_origin(topic: str, partition: int, offset: int) -> str:
    """A dead letter's ``origin`` for a Kafka record: ``kafka:<topic>/<partition>@<offset>``."""
    return f"kafka:{topic}/{partition}@{offset}"


class DeadLetterV1(Event, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Input a stage rejected. Nothing is silently dropped: the original bytes and the reason are kept.

    ``origin`` names where the input came from (``kafka:<topic>/<partition>@<offset>`` or ``http:<route>``); it
    plus ``stage`` is the idempotency key, so a consumer that re-reads the same input after a restart writes the
    same dead letter again rather than a second one.
    """

    TOPIC: ClassVar[str] = "deadletter.v1"

    schema_version: Literal[1] = 1
    stage: str
    origin: str
    reason: str
    received_time_ns: UnixNs
    key: str | None = None
    payload_utf8: str | None = None
    payload_b64: str | None = None

    def idempotency_key(self) -> str:
        return f"{self.stage}:{self.origin}"

    def partition_key(self) -> bytes:
        return (self.key or self.origin).encode()
