"""Event contracts: strict decoding with precise reasons, versioning, idempotency keys."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.wire import SchemaError, decode, encode, topic_name


def hr(**kw: object) -> SensorHrV1:
    base: dict[str, object] = dict(
        patient_id="p1", device_id="d1", seq=3, gateway_time_ns=10**18, hr_bpm=88, rr_ms=(681.640625, 700.0)
    )
    base.update(kw)
    return SensorHrV1(**base)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field_and_float_precision() -> None:
    event = hr(sensor_contact=None, energy_expended_kj=65535, battery_pct=7)
    assert decode(SensorHrV1, encode(event)) == event
    assert decode(SensorHrV1, encode(event)).rr_ms[0] == 681.640625


def test_idempotency_and_partition_keys() -> None:
    assert hr().idempotency_key() == "d1:3"
    assert hr().partition_key() == b"p1"
    ecg = SensorEcgV1(
        patient_id="p", device_id="d", seq=1, gateway_time_ns=1, device_time_ns=2, fs_hz=130.0, samples_uv=(1, -2)
    )
    acc = SensorAccV1(
        patient_id="p", device_id="d", seq=1, gateway_time_ns=1, device_time_ns=2, fs_hz=200.0, samples_mg=((1, 2, 3),)
    )
    assert ecg.idempotency_key() != acc.idempotency_key() != hr(device_id="d", seq=1).idempotency_key()
    f = FeaturesV1(patient_id="p", t_s=100, computed_time_ns=1)
    assert f.idempotency_key() == "p:100"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("patient_id"), "missing required field `patient_id`"),
        (lambda d: d.update(hr_bpm=301), "`$.hr_bpm`"),
        (lambda d: d.update(hr_bpm="90"), "Expected `int`, got `str`"),
        (lambda d: d.update(rr_ms=[0.0]), "`$.rr_ms[0]`"),
        (lambda d: d.update(seq=-1), "`$.seq`"),
        (lambda d: d.update(schema_version=2), "`$.schema_version`"),
        (lambda d: d.update(surprise=1), "unknown field `surprise`"),
        (lambda d: d.update(patient_id="a b"), "`$.patient_id`"),
    ],
)
def test_malformed_messages_are_rejected_with_the_field_named(mutate: object, reason: str) -> None:
    data = msgspec.json.decode(encode(hr()))
    mutate(data)  # type: ignore[operator]
    with pytest.raises(SchemaError, match=reason.replace("[", r"\[").replace("$", r"\$")):
        decode(SensorHrV1, msgspec.json.encode(data))


def test_not_json_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="not valid JSON"):
        decode(SensorHrV1, b"\xff\x00garbage")


@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_raises_only_schema_error(data: bytes) -> None:
    for event_type in (SensorHrV1, FeaturesV1, AlertV1, SessionV1, PrescriptionV1, DeadLetterV1):
        with contextlib.suppress(SchemaError):
            decode(event_type, data)


def test_topics_are_namespaced_by_prefix() -> None:
    assert topic_name("", "features.v1") == "features.v1"
    assert topic_name("t1-", "features.v1") == "t1-features.v1"
    assert PrescriptionV1.COMPACTED and not SensorHrV1.COMPACTED


def test_dead_letter_key_is_stable_for_the_same_input() -> None:
    a = DeadLetterV1(stage="sink", origin="kafka:x/1@5", reason="bad", received_time_ns=1)
    b = DeadLetterV1(stage="sink", origin="kafka:x/1@5", reason="bad", received_time_ns=2)
    assert a.idempotency_key() == b.idempotency_key()
