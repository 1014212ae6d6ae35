"""Resume cursors (pure): the position of a live client in every Kafka partition the hub reads.

A cursor maps ``<topic>:<partition>`` (topic without the deployment's prefix) to the next offset the client has not
seen. Offsets are Kafka's, so a cursor from one API replica is valid on any other: each replica reads the same
partitions. Encoded as ``c1.`` + base64url(JSON) so clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Final

import msgspec

PREFIX: Final = "c1."
MAX_CURSOR_CHARS: Final = 16_384

_decoder = msgspec.json.Decoder(dict[str, int])


class CursorError(ValueError):
    """The resume cursor is not one this service issued; reconnect without it to get a fresh snapshot."""


def encode_cursor(positions: Mapping[str, int]) -> str:
    raw = msgspec.json.encode(dict(sorted(positions.items())))
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> dict[str, int]:
    if not isinstance(text, str) or not text.startswith(PREFIX) or len(text) > MAX_CURSOR_CHARS:
        raise CursorError("resume cursor must be a 'c1.' string taken from a frame's 'cursor'")
    body = text[len(PREFIX) :]
    try:
        positions = _decoder.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise CursorError(f"resume cursor is corrupt: {exc}") from exc
    for key, offset in positions.items():
        topic, sep, partition = key.rpartition(":")
        if not sep or not topic or not partition.isdigit() or offset < 0:
            raise CursorError(f"resume cursor has an invalid position {key!r}: {offset}")
    return positions
