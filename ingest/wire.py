"""The wire format every stage's events share: versioned, keyed, strictly decoded JSON.

Each stage defines its own event classes (``ingest.events``, ``analytics.events``) by subclassing
:class:`Event`. An event declares the topic it travels on (``TOPIC``), carries ``schema_version``, and names its
idempotency key (:meth:`Event.idempotency_key`), which downstream writers use so that replays and retries never
create duplicates. Kafka message keys are the patient id, so one patient's data stays ordered on one partition.

Errors
------
SchemaError(ValueError)
    raised by :func:`decode` when bytes are not a valid message of the expected type; the message says which
    field is wrong and why, so the consumer can write it to ``deadletter.v1`` and move on.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import msgspec

E = TypeVar("E", bound="Event")


class SchemaError(ValueError):
    """Bytes that are not a valid message of the expected event type (the reason names the field)."""


class Event(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """Base of every message on a Kafka topic of ours.

    ``gc=False`` (inherited by every event): events hold only scalars, strings and tuples of them, so they cannot
    close a reference cycle, and the cycle collector need not track the thousands the stream worker creates a
    second (fewer objects to scan, fewer collections)."""

    TOPIC: ClassVar[str]
    COMPACTED: ClassVar[bool] = False

    def idempotency_key(self) -> str:
        raise NotImplementedError

    def partition_key(self) -> bytes:
        """The Kafka message key: the patient id, so a patient's messages stay ordered."""
        patient_id: str = getattr(self, "patient_id")  # noqa: B009 - every keyed event has one
        return patient_id.encode()


_encoder = msgspec.json.Encoder()
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def decode(event_type: type[E], data: bytes | bytearray | memoryview | str) -> E:
    """Decode one message strictly: wrong types, missing fields, unknown fields and bad versions all fail."""
    decoder = _decoders.get(event_type)
    if decoder is None:
        decoder = _decoders[event_type] = msgspec.json.Decoder(event_type)
    try:
        event: E = decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise SchemaError(f"invalid {event_type.TOPIC} message: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise SchemaError(f"{event_type.TOPIC} message is not valid JSON: {exc}") from exc
    return event


def topic_name(prefix: str, base: str) -> str:
    """Topics can be namespaced (one cluster shared by several deployments or test runs)."""
    return f"{prefix}{base}" if prefix else base
