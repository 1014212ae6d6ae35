"""HL7 escaping and small formatting helpers."""

from __future__ import annotations

import hl7
import pytest

from services.integrations import codes
from services.integrations.codes import Code
from services.integrations.hl7v2.common import cwe, escape, number


def test_escape_covers_every_delimiter_and_round_trips_through_an_independent_parser() -> None:
    text = "a|b^c&d~e\\f\r\ng"
    escaped = escape(text)
    assert escaped == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f  g"
    for delimiter in "|^&~\r\n":
        assert delimiter not in escaped
    message = hl7.parse(f"MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01|X|P|2.6\rNTE|1||{escaped}")
    assert message.unescape(str(message.segment("NTE")[3])) == "a|b^c&d~e\\f  g"


def test_cwe_only_for_mdc_codes() -> None:
    assert cwe(codes.MDC_ECG_HEART_RATE) == "147842^MDC_ECG_HEART_RATE^MDC"
    with pytest.raises(ValueError, match="not an MDC code"):
        cwe(Code(codes.LOINC, "8867-4", "Heart rate"))


def test_numbers_have_no_spurious_decimals() -> None:
    assert [number(72.0), number(71.5), number(100.25)] == ["72", "71.5", "100.25"]
