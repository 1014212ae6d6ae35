"""Event times in FHIR and HL7 v2 formats, always UTC."""

from __future__ import annotations

from services.integrations.timestamps import fhir_instant, fhir_instant_s, hl7_dtm, hl7_dtm_s

T = 1_714_557_600  # 2024-05-01T10:00:00Z


def test_fhir_instants() -> None:
    assert fhir_instant_s(T) == "2024-05-01T10:00:00Z"
    assert fhir_instant(T * 10**9 + 250_000_000) == "2024-05-01T10:00:00.250Z"
    assert fhir_instant(T * 10**9 + 999_999) == "2024-05-01T10:00:00Z"  # below a millisecond is dropped


def test_hl7_dtm_has_an_explicit_utc_offset() -> None:
    assert hl7_dtm_s(T) == "20240501100000+0000"
    assert hl7_dtm(T * 10**9 + 7_000_000) == "20240501100000.007+0000"
