"""Reading HL7 v2 acknowledgements (pure): MSA-1 code, MSA-2 control id, MSA-3 and ERR text.

MSA-1 values, HL7 table 0008: original mode AA accept, AE error, AR reject; enhanced mode CA commit accept,
CE commit error, CR commit reject. With MSH-15 AL / MSH-16 NE (IHE PCD) a receiver answers with a commit
(accept) acknowledgement; receivers in original mode answer AA/AE/AR. Both are accepted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from services.integrations.errors import NEGATIVE_ACK_CODES, MalformedAckError, NegativeAckError

ACCEPT_CODES: Final = frozenset({"AA", "CA"})


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement: ``code`` (MSA-1), ``control_id`` (MSA-2, the acknowledged MSH-10), ``text``."""

    code: str
    control_id: str
    text: str

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPT_CODES


def _segments(message: str) -> list[str]:
    return [s for s in message.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]


def _field(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


def _err_text(fields: list[str], component_sep: str) -> str:
    """ERR-8 user message, else ERR-7 diagnostics, else ERR-3 text (CWE.2), else v2.3-2.4 ERR-1."""
    for index in (8, 7):
        if text := _field(fields, index):
            return text
    if code := _field(fields, 3):
        parts = code.split(component_sep)
        return parts[1] if len(parts) > 1 and parts[1] else parts[0]
    return _field(fields, 1)


def control_id_of(message: bytes) -> str:
    """MSH-10 of an outgoing ER7 message (the id its ACK must echo in MSA-2)."""
    text = message.decode("utf-8", errors="replace")
    first = _segments(text)[0] if text else ""
    if not first.startswith("MSH") or len(first) < 4:
        raise ValueError("message does not start with an MSH segment")
    fields = first.split(first[3])
    # MSH-1 is the separator itself, so MSH-n sits at index n-1 after splitting.
    control = _field(fields, 9)
    if not control:
        raise ValueError("message has no MSH-10 control id")
    return control


def parse_ack(message: str) -> Ack:
    """Parse an ACK; raises :class:`MalformedAckError` when there is no MSH or MSA segment."""
    segments = _segments(message)
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise MalformedAckError(f"answer is not an HL7 message: {message[:80]!r}")
    field_sep = segments[0][3]
    component_sep = segments[0][4]
    msa: list[str] | None = None
    errors: list[str] = []
    for segment in segments[1:]:
        fields = segment.split(field_sep)
        if fields[0] == "MSA" and msa is None:
            msa = fields
        elif fields[0] == "ERR" and (text := _err_text(fields, component_sep)):
            errors.append(text)
    if msa is None or not _field(msa, 1):
        raise MalformedAckError(f"answer has no MSA-1 acknowledgment code: {message[:80]!r}")
    text = "; ".join(t for t in (_field(msa, 3), *errors) if t)
    return Ack(code=_field(msa, 1), control_id=_field(msa, 2), text=text)


def check_ack(ack: Ack, expected_control_id: str) -> Ack:
    """Return an accepting ACK for our message; raise on a negative, unknown or mismatched one."""
    if ack.control_id != expected_control_id:
        raise MalformedAckError(
            f"ACK answers message {ack.control_id!r}, not {expected_control_id!r}: the receiver is out of step "
            "or echoes the wrong MSH-10"
        )
    if ack.accepted:
        return ack
    if ack.code in NEGATIVE_ACK_CODES:
        raise NegativeAckError(ack.code, ack.control_id, ack.text)
    raise MalformedAckError(f"unknown acknowledgment code {ack.code!r} for message {expected_control_id}")
