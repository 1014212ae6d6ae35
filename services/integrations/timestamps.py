"""Event times (Unix ns / s, always UTC) formatted for FHIR and HL7 v2. Pure; no clock is read here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

NS_PER_S: Final = 1_000_000_000
NS_PER_MS: Final = 1_000_000


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // NS_PER_S, tz=UTC)


def fhir_instant(ns: int) -> str:
    """FHIR ``instant``/``dateTime`` in UTC, milliseconds only when non-zero: ``2024-05-01T10:00:00.250Z``."""
    base = _utc(ns).strftime("%Y-%m-%dT%H:%M:%S")
    ms = (ns % NS_PER_S) // NS_PER_MS
    return f"{base}.{ms:03d}Z" if ms else f"{base}Z"


def fhir_instant_s(unix_s: int) -> str:
    """:func:`fhir_instant` for a whole Unix second."""
    return fhir_instant(unix_s * NS_PER_S)


def hl7_dtm(ns: int) -> str:
    """HL7 v2 DTM with an explicit UTC offset, which IHE PCD TF-2 asks for on every time stamp.

    ``YYYYMMDDHHMMSS[.SSS]+0000`` (milliseconds only when non-zero).
    """
    base = _utc(ns).strftime("%Y%m%d%H%M%S")
    ms = (ns % NS_PER_S) // NS_PER_MS
    return f"{base}.{ms:03d}+0000" if ms else f"{base}+0000"


def hl7_dtm_s(unix_s: int) -> str:
    """:func:`hl7_dtm` for a whole Unix second."""
    return hl7_dtm(unix_s * NS_PER_S)
