"""``POST /api/v1/devices/{device_id}/readings``: a device posts its own Heart Rate Measurements.

The device token names one device and the patient it is enrolled to; every reading must carry exactly those, so a
device can write only its own patient's stream. Accepted readings are published to ``sensor.hr.v1`` (idempotent by
``device_id:seq``, so a retried post never duplicates a reading) and acknowledged once Kafka has them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal

import msgspec
from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from ingest.events import SensorHrV1
from services.api.deps import ConnDep, CurrentDevice, ProducerDep
from services.api.params import DeviceId
from services.api.problems import http_error, responses
from services.db import devices as devices_repo

router = APIRouter(prefix="/api/v1/devices", tags=["readings"])

MAX_BATCH: Final = 500
FUTURE_TOLERANCE_NS: Final = 5 * 60 * 1_000_000_000  # clocks drift; more than 5 min ahead is a broken clock
TOUCH_EVERY: Final = timedelta(minutes=1)
IdStr = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class SensorHrReading(BaseModel):
    """One decoded Heart Rate Measurement, as on ``sensor.hr.v1`` (``SensorHrV1``)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    patient_id: IdStr
    device_id: IdStr
    seq: int = Field(ge=0, le=2**63 - 1)
    gateway_time_ns: int = Field(ge=0, le=2**63 - 1, description="Unix ns when the gateway received it")
    device_time_ns: int | None = Field(default=None, ge=0, le=2**63 - 1)
    hr_bpm: int = Field(ge=0, le=300)
    rr_ms: list[Annotated[float, Field(gt=0, le=65535 * 1000 / 1024)]] = Field(default_factory=list, max_length=64)
    sensor_contact: bool | None = None
    energy_expended_kj: int | None = Field(default=None, ge=0, le=0xFFFF)
    battery_pct: int | None = Field(default=None, ge=0, le=100)


class ReadingsAccepted(BaseModel):
    accepted: int
    device_id: str
    patient_id: str


@router.post(
    "/{device_id}/readings",
    status_code=202,
    summary="Post one reading or a batch (at most 500) with a device token",
    responses=responses(503),
)
async def post_readings(
    device_id: DeviceId,
    conn: ConnDep,
    device: CurrentDevice,
    producer: ProducerDep,
    body: Annotated[SensorHrReading | list[SensorHrReading], Body(description="a reading or a list of readings")],
) -> ReadingsAccepted:
    if device_id != device.device_id:
        raise http_error(
            403, f"this device token belongs to device {device.device_id!r}; it may not post for device {device_id!r}"
        )
    readings = body if isinstance(body, list) else [body]
    if not readings:
        raise http_error(422, "no readings: post one reading or a non-empty list")
    if len(readings) > MAX_BATCH:
        raise http_error(422, f"at most {MAX_BATCH} readings per request, got {len(readings)}")
    horizon = time.time_ns() + FUTURE_TOLERANCE_NS
    events = []
    for i, r in enumerate(readings):
        if r.device_id != device.device_id:
            raise http_error(
                403, f"reading {i}: device_id {r.device_id!r} is not this token's device {device.device_id!r}"
            )
        if r.patient_id != device.patient_id:
            raise http_error(
                403,
                f"reading {i}: patient_id {r.patient_id!r} is not the patient device {device.device_id!r} is enrolled "
                f"to; devices write only their own patient's stream",
            )
        if r.gateway_time_ns > horizon:
            raise http_error(422, f"reading {i}: gateway_time_ns is more than 5 minutes in the future; check the clock")
        events.append(msgspec.convert(r.model_dump(), SensorHrV1))
    await producer.send_many(events)
    if device.last_used_at is None or datetime.now(UTC) - device.last_used_at > TOUCH_EVERY:
        await devices_repo.touch_token(conn, device.token_id)
        await conn.commit()
    return ReadingsAccepted(accepted=len(events), device_id=device.device_id, patient_id=device.patient_id)
