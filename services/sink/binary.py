"""Values in PostgreSQL's binary COPY format, for the columns psycopg's C dumpers cannot take as they are.

Binary COPY sends every field as a length and bytes that the server reads with the column type's receive function;
no type travels with the field. So a timestamp or an array packed here is sent as ``bytea`` (psycopg's bytes dumper
passes it through unchanged) and the server reads it as ``timestamptz`` or ``real[]``. That skips building a
``datetime`` per timestamp and psycopg's pure-Python list dumper per array, and the server parses no text.

psycopg's binary number dumpers do not check ranges (70 000 into a ``smallint`` wraps around, 1e39 into a ``real``
becomes Infinity) where text COPY makes the server refuse the row. :func:`check_float4` and :func:`check_int`
refuse those values before they are written, so a message the text path would dead-letter is still dead-lettered.
Everything here raises ``ValueError`` (the sink dead-letters the message with the reason).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

PG_EPOCH_S: Final = 946_684_800  # 2000-01-01T00:00:00Z, the zero of PostgreSQL's binary timestamps
# The last instant a Python datetime (and so the text path) can represent: later times are refused either way.
MAX_S: Final = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
MAX_NS: Final = (MAX_S + 1) * 1_000_000_000 - 1
FLOAT4_OID: Final = 700
INT2_RANGE: Final = (-32_768, 32_767)
INT4_RANGE: Final = (-2_147_483_648, 2_147_483_647)

_INT8 = struct.Struct(">q")
_EMPTY_FLOAT4_ARRAY: Final = struct.pack(">iii", 0, 0, FLOAT4_OID)


def timestamptz_s(s: int) -> bytes:
    """Unix seconds as a binary ``timestamptz`` (microseconds since 2000-01-01 UTC)."""
    if not 0 <= s <= MAX_S:
        raise ValueError(f"time {s} s is outside the storable range")
    return _INT8.pack((s - PG_EPOCH_S) * 1_000_000)


def timestamptz_ns(ns: int) -> bytes:
    """Unix nanoseconds as a binary ``timestamptz``, rounded to the microsecond (what PostgreSQL stores)."""
    if not 0 <= ns <= MAX_NS:
        raise ValueError(f"time {ns} ns is outside the storable range")
    return _INT8.pack((ns + 500) // 1000 - PG_EPOCH_S * 1_000_000)


@lru_cache(maxsize=64)
def _floats(n: int) -> struct.Struct:
    return struct.Struct(f">{n}f")


@lru_cache(maxsize=64)
def _float4_elements(n: int) -> struct.Struct:
    # header (ndim 1, no nulls, element type), the dimension (length, lower bound 1), then (length 4, value) pairs
    return struct.Struct(">iiiii" + "if" * n)


def check_float4(values: Sequence[float]) -> None:
    """Refuse what PostgreSQL refuses for ``real``: a finite value that rounds to infinity or to zero."""
    if not values:
        return
    packer = _floats(len(values))
    try:
        rounded = packer.unpack(packer.pack(*values))
    except OverflowError:
        raise ValueError(f"a value in {list(values)} is out of range for type real") from None
    except struct.error as exc:
        raise ValueError(f"not a number: {exc}") from None
    if rounded.count(0.0) != values.count(0.0):
        raise ValueError(f"a value in {list(values)} is out of range for type real (underflow)")


def check_int(value: int | None, bounds: tuple[int, int], column: str) -> None:
    if value is not None and not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{column} {value} is out of range for its column")


def float4_array(values: Sequence[float]) -> bytes:
    """A one-dimensional ``real[]`` without nulls (checked with :func:`check_float4` by the caller)."""
    n = len(values)
    if n == 0:
        return _EMPTY_FLOAT4_ARRAY
    args: list[float] = [4] * (2 * n)  # the int 4 is each element's length
    args[1::2] = values
    return _float4_elements(n).pack(1, 0, FLOAT4_OID, n, 1, *args)
