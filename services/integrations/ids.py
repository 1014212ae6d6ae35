"""Deterministic identifiers: the same internal event always yields the same resource id and MSH-10.

A redelivered outbox row therefore carries the same FHIR ``id``/``Bundle.id`` and the same HL7 message control
id, so a receiver that de-duplicates on them (HL7 v2.6 section 2.10: MSH-10 identifies the message for its
acknowledgment) stores it once.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Final

# Project namespace for name-based (RFC 9562 version 5) UUIDs; derived from the project's canonical base so that
# it is reproducible, not a random constant.
ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "http://cardiorehab.example/fhir")

# MSH-10 is ST; HL7 v2.5 limited it to 20 characters and many interface engines still enforce that, so control
# ids are kept to 20 characters: 100 bits of SHA-256 in RFC 4648 base32 (A-Z, 2-7), which contains none of the
# HL7 delimiters.
CONTROL_ID_CHARS: Final = 20


def resource_id(kind: str, key: str) -> str:
    """A FHIR id (RFC 9562 UUIDv5 string, 36 chars, fits ``[A-Za-z0-9-.]{1,64}``) for ``kind`` + idempotency key."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}"))


def urn_uuid(kind: str, key: str) -> str:
    """``urn:uuid:`` form of :func:`resource_id`, for ``Bundle.entry.fullUrl``."""
    return f"urn:uuid:{resource_id(kind, key)}"


def control_id(kind: str, key: str) -> str:
    """A 20-character HL7 message control id (MSH-10) for ``kind`` + idempotency key."""
    digest = hashlib.sha256(f"{kind}:{key}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:CONTROL_ID_CHARS]
