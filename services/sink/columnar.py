"""Binary COPY payloads built a column at a time: one pyarrow array per column, encoded by pgpq for a whole batch.

Building a binary row per event in Python (a tuple, packed timestamps and arrays, then psycopg's per-row
``write_row``) cost about 9 µs per features row, a third of the sink's time. Here each column of a batch becomes one
pyarrow array (values converted in C, range checks in numpy) and pgpq (Rust) writes PostgreSQL's binary COPY format
for all rows at once, header and trailer included: about 3.5 µs per row (``bench/bench_sink.py``).

Binary COPY sends each field as a length and bytes that the server reads with the destination column's receive
function; no type travels with the field. So what is checked here is what the text path would have had the server
refuse, because the binary path would store it silently or wrongly:

* a finite value that rounds to infinity (overflow) or to zero (underflow) in ``real``;
* an integer outside its column (``smallint``, ``integer``, ``bigint``);
* a time before 1970 or after 9999-12-31 (what a Python ``datetime``, and so the text path, can represent);
* text that is not valid UTF-8 or holds a NUL character (PostgreSQL text cannot hold one).

Such a row is refused (its index and a reason naming the column and the value) and left out of the payload; the sink
dead-letters its message. The server still checks everything else (a ``NOT NULL`` column given a null, say), and the
sink isolates a row it refuses as before.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, Final, Literal

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pgpq import ArrowToPostgresBinaryEncoder

Kind = Literal[
    "text",
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "float4[]",
    "float8[]",
    "timestamptz_s",
    "timestamptz_ns",
]
# (row index, reason) for each refused value of a column
Bad = list[tuple[int, str]]

# The last second a Python datetime (and so the text path, and every reader of ours) can represent; later times are
# refused. The last nanosecond is the last that rounds to a microsecond within that second.
MAX_S: Final = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
MAX_NS: Final = (MAX_S + 1) * 1_000_000_000 - 501
INT_BITS: Final = {"int2": 16, "int4": 32, "int8": 64}
UTC_MICROS: Final = pa.timestamp("us", tz="UTC")
ARROW_TYPES: Final[dict[Kind, pa.DataType]] = {
    "text": pa.string(),
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "float4[]": pa.list_(pa.float32()),
    "float8[]": pa.list_(pa.float64()),
    "timestamptz_s": UTC_MICROS,
    "timestamptz_ns": UTC_MICROS,
}


@dataclass(frozen=True)
class Column:
    """A table column filled from the event field ``field``, sent as ``kind`` (the column's PostgreSQL type)."""

    name: str
    field: str
    kind: Kind


@dataclass(frozen=True)
class Encoded:
    """A complete binary COPY payload of ``rows`` rows; ``refused`` maps each left-out event's index to why."""

    payload: bytes
    rows: int
    refused: dict[int, str]


def _without(values: Sequence[Any], bad: Bad) -> list[Any]:
    """``values`` with the refused ones replaced by None (their rows are dropped before encoding)."""
    out = list(values)
    for i, _ in bad:
        out[i] = None
    return out


def _python_bad(values: Sequence[Any], check: Callable[[Any], str | None]) -> Bad:
    """The slow path, taken only when pyarrow cannot even hold a value: check each one in Python."""
    return [(i, reason) for i, v in enumerate(values) if v is not None and (reason := check(v)) is not None]


def _int_out_of_range(value: Any) -> str:
    return f"{value} is out of range for its column"


def _int_check(lo: int, hi: int) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else _int_out_of_range(v)


def _int64s(values: Sequence[Any], lo: int, hi: int) -> tuple[pa.Array, Bad]:
    """``values`` as int64 with those outside [lo, hi] refused (pyarrow itself refuses beyond 64 bits)."""
    try:
        array = pa.array(values, type=pa.int64())
    except (OverflowError, pa.ArrowInvalid):
        bad = _python_bad(values, _int_check(lo, hi))
        return pa.array(_without(values, bad), type=pa.int64()), bad
    x = array.fill_null(lo).to_numpy()
    out_of_range = np.flatnonzero((x < lo) | (x > hi))
    if not len(out_of_range):
        return array, []
    bad = [(i, _int_out_of_range(values[i])) for i in out_of_range.tolist()]
    return pa.array(_without(values, bad), type=pa.int64()), bad


def _ints(kind: Kind) -> Callable[[Sequence[Any]], tuple[pa.Array, Bad]]:
    bits = INT_BITS[kind]
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def convert(values: Sequence[Any]) -> tuple[pa.Array, Bad]:
        array, bad = _int64s(values, lo, hi)
        return array.cast(ARROW_TYPES[kind]), bad

    return convert


def _real_bad(x: npt.NDArray[np.float64], dtype: type[np.floating[Any]]) -> tuple[npt.NDArray[Any], Any]:
    """``x`` in ``dtype`` and the positions of finite values that became infinite or zero (what the server refuses
    for ``real``: "value out of range: overflow / underflow")."""
    with np.errstate(over="ignore", under="ignore"):
        narrowed = x.astype(dtype)
    return narrowed, np.flatnonzero((np.isinf(narrowed) & ~np.isinf(x)) | ((narrowed == 0) & (x != 0)))


def _floats(kind: Kind) -> Callable[[Sequence[Any]], tuple[pa.Array, Bad]]:
    dtype = np.float32 if kind == "float4" else np.float64

    def convert(values: Sequence[Any]) -> tuple[pa.Array, Bad]:
        wide = pa.array(values, type=pa.float64())
        x = wide.to_numpy(zero_copy_only=False)  # nulls become NaN, masked again below
        narrowed, positions = _real_bad(x, dtype)
        bad = [(i, f"{values[i]!r} is out of range for type real") for i in positions.tolist()]
        mask = wide.is_null().to_numpy(zero_copy_only=False) if wide.null_count else None
        return pa.array(narrowed, type=ARROW_TYPES[kind], mask=mask), bad

    return convert


def _float_lists(kind: Kind) -> Callable[[Sequence[Any]], tuple[pa.Array, Bad]]:
    """Arrays of numbers without nulls (the events' tuples): one flat array plus offsets."""
    dtype = np.float32 if kind == "float4[]" else np.float64

    def convert(values: Sequence[Any]) -> tuple[pa.Array, Bad]:
        lengths = np.fromiter(map(len, values), dtype=np.int32, count=len(values))
        flat = np.fromiter(chain.from_iterable(values), dtype=np.float64, count=int(lengths.sum()))
        narrowed, positions = _real_bad(flat, dtype)
        rows = np.unique(np.repeat(np.arange(len(values)), lengths)[positions])
        bad = [(i, f"{list(values[i])} holds a value out of range for type real") for i in rows.tolist()]
        offsets = np.zeros(len(values) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(narrowed)), bad

    return convert


def _timestamps(kind: Kind) -> Callable[[Sequence[Any]], tuple[pa.Array, Bad]]:
    """Unix seconds or nanoseconds as microseconds since 1970 (nanoseconds rounded, as PostgreSQL stores them)."""
    per_second = 1 if kind == "timestamptz_s" else 1_000_000_000
    hi = MAX_S if per_second == 1 else MAX_NS

    def check(v: int) -> str | None:
        return None if 0 <= v <= hi else "is outside the storable range"

    def convert(values: Sequence[Any]) -> tuple[pa.Array, Bad]:
        try:
            x = pa.array(values, type=pa.int64())
            bad: Bad = []
        except (OverflowError, pa.ArrowInvalid):  # beyond int64 nanoseconds (after 2262) or an absurd value
            bad = _python_bad(values, check)
            exact = [None if v is None else (v * 1_000_000 if per_second == 1 else (v + 500) // 1000) for v in values]
            return pa.array(_without(exact, bad), type=UTC_MICROS), [(i, f"{values[i]} {r}") for i, r in bad]
        n = x.fill_null(0).to_numpy()
        outside = (n < 0) | (n > hi)
        bad = [(i, f"{values[i]} {check(values[i])}") for i in np.flatnonzero(outside).tolist()]
        n = np.where(outside, 0, n)
        micros = n * 1_000_000 if per_second == 1 else n // 1000 + (n % 1000 >= 500)
        mask = x.is_null().to_numpy(zero_copy_only=False) if x.null_count else None
        return pa.array(micros, type=UTC_MICROS, mask=mask), bad

    return convert


def _text(values: Sequence[Any]) -> tuple[pa.Array, Bad]:
    try:
        array = pa.array(values, type=pa.string())
        bad: Bad = []
    except UnicodeEncodeError:
        bad = [(i, "is not valid UTF-8 text") for i, v in enumerate(values) if isinstance(v, str) and not _utf8(v)]
        array = pa.array(_without(values, bad), type=pa.string())
    nul = pc.fill_null(pc.match_substring(array, "\x00"), False).to_numpy(zero_copy_only=False)
    bad += [(i, "holds a NUL character, which PostgreSQL text cannot store") for i in np.flatnonzero(nul).tolist()]
    return array, bad


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _bools(values: Sequence[Any]) -> tuple[pa.Array, Bad]:
    return pa.array(values, type=pa.bool_()), []


CONVERTERS: Final[dict[Kind, Callable[[Sequence[Any]], tuple[pa.Array, Bad]]]] = {
    "text": _text,
    "bool": _bools,
    "int2": _ints("int2"),
    "int4": _ints("int4"),
    "int8": _ints("int8"),
    "float4": _floats("float4"),
    "float8": _floats("float8"),
    "float4[]": _float_lists("float4[]"),
    "float8[]": _float_lists("float8[]"),
    "timestamptz_s": _timestamps("timestamptz_s"),
    "timestamptz_ns": _timestamps("timestamptz_ns"),
}


class ColumnarCopy:
    """How events of one type become a binary COPY payload, column by column (``columns`` in COPY order)."""

    def __init__(self, event_type: type[msgspec.Struct], columns: Sequence[Column]) -> None:
        fields = event_type.__struct_fields__
        unknown = [c.field for c in columns if c.field not in fields]
        if unknown:
            raise ValueError(f"{event_type.__name__} has no field {unknown}")
        self.columns = tuple(columns)
        self._positions = [fields.index(c.field) for c in self.columns]  # each column's field in a struct's tuple
        self._converters = [CONVERTERS[c.kind] for c in self.columns]
        self.schema = pa.schema([(c.name, ARROW_TYPES[c.kind]) for c in self.columns])

    def key_of(self, conflict: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
        """The event's unique key from its fields (the conflict columns' fields, in that order)."""
        by_name = {c.name: c.field for c in self.columns}
        getter = operator.attrgetter(*(by_name[name] for name in conflict))
        if len(conflict) == 1:
            return lambda event: (getter(event),)
        return getter

    def encode(self, events: Sequence[Any]) -> Encoded:
        """One payload (header, rows, trailer) for ``events``, less the refused ones."""
        *_, encoded = self.encoding(events)
        assert encoded is not None
        return encoded

    def encoding(self, events: Sequence[Any]) -> Iterator[Encoded | None]:
        """:meth:`encode` in steps of about a millisecond per thousand events (one column each): yields None after
        each step, so that an asyncio caller can hand the event loop back between them, and the payload last."""
        # every field of every event, transposed in C (cheaper than picking the columns' fields per event first)
        fields = list(zip(*map(msgspec.structs.astuple, events), strict=True)) if events else None
        refused: dict[int, str] = {}
        arrays = []
        for position, column, convert in zip(self._positions, self.columns, self._converters, strict=True):
            yield None
            array, bad = convert(fields[position] if fields else [])
            for i, reason in bad:
                refused.setdefault(i, f"{column.name} {reason}")
            arrays.append(array)
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        if refused:
            keep = np.ones(len(events), dtype=bool)
            keep[list(refused)] = False
            batch = batch.filter(pa.array(keep))
        yield None
        encoder = ArrowToPostgresBinaryEncoder(self.schema)
        payload = b"".join((encoder.write_header(), encoder.write_batch(batch), encoder.finish()))
        yield Encoded(payload, batch.num_rows, refused)
