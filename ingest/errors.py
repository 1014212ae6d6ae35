"""Errors raised by the pure ingest code (GATT/PMD decoders and encoders).

Hierarchy
---------
IngestError(Exception)
    Base of every error defined here. ``retriable`` tells retry logic whether trying again can help, so it
    never has to parse a message.

    MalformedPayloadError(IngestError, ValueError)
        Bytes received from a strap that do not follow the specification. Never retriable: the same bytes
        fail the same way. The gateway writes the payload to ``deadletter.v1`` with the message and keeps
        the link up. ``what`` names the characteristic or frame, ``payload`` keeps the bytes.

        EmptyPayloadError            a value or frame with no bytes at all
        TruncatedFieldError          a field announced by the flags or layout is cut short (``field``)
        OddRrByteCountError          the RR bytes are not a whole number of uint16 values
        MissingRrValueError          the RR-present flag is set but no RR value follows
        TrailingBytesError           bytes left over after the last field the flags announce
        ReservedValueError           a value reserved for future use (body sensor location 7-255)
        OutOfRangeError              a value outside its range (battery level above 100 %)
        InvalidTextError             a string characteristic that is not UTF-8
        UnknownMeasurementTypeError  a PMD measurement type id the Polar SDK does not define
        UnsupportedFrameError        a PMD frame we do not decode: compressed ECG, an unknown frame type,
                                     or a measurement (PPG, PPI, ...) the H10 does not stream
        SampleLengthError            a PMD payload that is not a whole number of samples (ECG: 3 B each)
        DeltaFrameError              a delta-compressed PMD payload whose reference or blocks are cut short
        UnexpectedOpcodeError        a PMD control-point value that is neither a response (``F0``), the
                                     stop indication (``01``) nor a feature read (``0F``)
        SettingsError                a PMD settings TLV with an unknown setting type

    EncodeError(IngestError, ValueError)
        A value that cannot be put on the wire (heart rate above the format, RR above 65535/1024 s, an ECG
        sample outside int24, ...). This is a bug in the caller (simulator, virtual strap), never in a strap.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of the ingest errors."""

    retriable: bool = False


class MalformedPayloadError(IngestError, ValueError):
    """Bytes from a strap that do not follow the specification; dead-letter them and keep the link."""

    def __init__(self, what: str, message: str, payload: bytes) -> None:
        self.what = what
        self.payload = bytes(payload)
        shown = self.payload[:32].hex(" ")
        more = " ..." if len(self.payload) > 32 else ""
        super().__init__(f"malformed {what}: {message} (payload {len(self.payload)} B: {shown}{more})")


class EmptyPayloadError(MalformedPayloadError):
    """The value has no bytes at all."""


class TruncatedFieldError(MalformedPayloadError):
    """A field announced by the flags or the layout is cut short."""

    def __init__(self, what: str, field: str, needed: int, available: int, payload: bytes) -> None:
        self.field = field
        self.needed = needed
        self.available = available
        super().__init__(what, f"truncated field {field!r}: needs {needed} B, only {available} B left", payload)


class OddRrByteCountError(MalformedPayloadError):
    """The RR-interval bytes are not a whole number of uint16 values."""


class MissingRrValueError(MalformedPayloadError):
    """The RR-present flag is set but no RR value follows."""


class TrailingBytesError(MalformedPayloadError):
    """Bytes left over after the last field the flags announce."""


class ReservedValueError(MalformedPayloadError):
    """A value that the specification reserves for future use."""


class OutOfRangeError(MalformedPayloadError):
    """A value outside its specified range."""


class InvalidTextError(MalformedPayloadError):
    """A string characteristic that is not valid UTF-8."""


class UnknownMeasurementTypeError(MalformedPayloadError):
    """A PMD measurement type id the Polar SDK does not define."""


class UnsupportedFrameError(MalformedPayloadError):
    """A PMD frame this decoder does not handle (compressed ECG, unknown frame type, non-H10 measurement)."""


class SampleLengthError(MalformedPayloadError):
    """A PMD payload that is not a whole number of samples."""


class DeltaFrameError(MalformedPayloadError):
    """A delta-compressed PMD payload whose reference sample or blocks are cut short."""


class UnexpectedOpcodeError(MalformedPayloadError):
    """A PMD control-point value with a first byte we do not expect there."""


class SettingsError(MalformedPayloadError):
    """A PMD settings TLV with an unknown setting type or cut short."""


class EncodeError(IngestError, ValueError):
    """A value that cannot be encoded on the wire; a bug in the caller."""
