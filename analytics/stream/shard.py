"""A shard of the worker's patients: their runtimes, fed bundles and ticks, answering with encoded outputs (pure).

The worker's main thread was its bottleneck: one Python thread ran faust, the producer and every patient's
physiology, while a core sat two-thirds idle (2026-11-24, draining a backlog at 5,000 patients: main thread 0.95
of a core, the whole machine 1.25 of 2). So the physiology runs in shards (:mod:`analytics.stream.shards`), each
owning the patients of some partitions, in child processes by default (:mod:`analytics.stream.shard_process`):
the main thread keeps Kafka, faust's tables and acknowledgements, and hands each shard its bundles as they came.

A shard keeps each patient's :class:`~analytics.stream.runtime.PatientRuntime` decoded between readings and decides
when a state is written (every ``persist_interval_s`` per patient, and at once with an alert or session event,
:class:`~analytics.stream.cache.RuntimeCache`). It reads no table: for a patient it does not hold it asks the
worker for the stored state and prescription (:class:`Need`, answered by :class:`Supply`), so the exchange of a
pass is ``request -> [need -> supply] -> done``.

It answers, per pass, the outputs in order (topic code, key, encoded event), the readings to dead-letter, the
bundles that did not decode, and per patient touched: the bundles whose readings its state now includes and the
state to store, if one is due. The worker stores that state and acknowledges those bundles once it is stored, as
before; a patient's state always includes exactly the readings of the outputs handed over before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import msgspec

from analytics.events import PrescriptionV1
from analytics.stream.bundle import Bundled, BundleError, decode_bundle
from analytics.stream.cache import Entry, RuntimeCache
from analytics.stream.defaults import default_prescription
from analytics.stream.runtime import Outputs, PatientRuntime
from ingest.wire import decode, encode

FEATURES: Final = 0
ALERTS: Final = 1
SESSIONS: Final = 2


class Bundles(msgspec.Struct, tag="bundles", array_like=True, gc=False):
    """Bundles to fold in, in order: ``(index in the worker's pass, source partition, bundle bytes)``."""

    items: list[tuple[int, int, bytes]]
    rx_updates: list[tuple[bytes, bytes]] = []  # (patient key, prescriptions.v1 value) received since the last
    drop: list[int] = []  # partitions the worker no longer owns (forget their patients first)


class Ticks(msgspec.Struct, tag="ticks", array_like=True, gc=False):
    """Clock ticks for quiet patients: ``(patient key, partition)``."""

    items: list[tuple[bytes, int]]
    rx_updates: list[tuple[bytes, bytes]] = []
    drop: list[int] = []


class Need(msgspec.Struct, tag="need", array_like=True, gc=False):
    keys: list[bytes]


class Stored(msgspec.Struct, array_like=True, gc=False):
    key: bytes
    state: bytes | None  # the table's value, None for a patient never seen
    prescription: bytes | None  # the prescriptions table's value, None for none


class Supply(msgspec.Struct, tag="supply", array_like=True, gc=False):
    items: list[Stored]


class Rejected(msgspec.Struct, array_like=True, gc=False):
    """A reading to dead-letter, with its coordinates in the sensor topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str


class Touched(msgspec.Struct, array_like=True, gc=False):
    """A patient whose state changed in this pass."""

    key: bytes
    partition: int
    events: list[int]  # indices of the bundles of the pass whose readings the state now includes
    in_session: bool
    state: bytes | None  # the state to store now (due or urgent), else None


class Done(msgspec.Struct, tag="done", array_like=True, gc=False):
    outputs: list[tuple[int, bytes, bytes]]  # (FEATURES | ALERTS | SESSIONS, patient key, encoded event), in order
    rejected: list[Rejected]
    bad_bundles: list[tuple[int, str]]  # (index, why it is not a bundle)
    touched: list[Touched]
    newest_ms: int | None  # append time of the last reading of the last bundle (how far behind the worker is)


Request = Bundles | Ticks | Supply
Reply = Need | Done


class ShardCore:
    """The patients of one shard. :meth:`begin` a request, :meth:`supply` what it needs, then :meth:`finish`."""

    def __init__(
        self,
        persist_interval_s: float,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        clock_mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock_ns = clock_ns
        self.cache = RuntimeCache(clock_mono, persist_interval_s)
        self._request: Bundles | Ticks | None = None
        self._decoded: list[tuple[int, int, list[Bundled] | str]] = []
        self._missing: dict[bytes, int] = {}  # patients the request needs stored states for -> their partition

    # --- the exchange ---------------------------------------------------------------------------------------
    def begin(self, request: Bundles | Ticks) -> list[bytes]:
        """Take a request; returns the keys of patients it needs stored states for (empty: call :meth:`finish`)."""
        self.drop_partitions(set(request.drop))
        for key, raw in request.rx_updates:
            held = self.cache.get(key.decode())
            if held is not None:
                held.rx = decode(PrescriptionV1, raw)
        self._request = request
        missing = self._missing = {}
        if isinstance(request, Ticks):
            for key, partition in request.items:
                if self.cache.get(key.decode()) is None:
                    missing[key] = partition
            return list(missing)
        self._decoded = []
        for index, partition, data in request.items:
            try:
                records: list[Bundled] | str = decode_bundle(data)
            except BundleError as exc:
                records = f"not a sensor bundle: {exc}"
            self._decoded.append((index, partition, records))
            if isinstance(records, str):
                continue
            for record in records:
                reading = record.reading
                if reading is not None:
                    key = reading.partition_key()
                    if key not in missing and self.cache.get(reading.patient_id) is None:
                        missing[key] = partition
        return list(missing)

    def supply(self, items: list[Stored]) -> None:
        """Load the stored states (and prescriptions) :meth:`begin` asked for."""
        for item in items:
            patient_id = item.key.decode()
            runtime = PatientRuntime.load(patient_id, item.state)
            rx = decode(PrescriptionV1, item.prescription) if item.prescription else default_prescription(patient_id)
            self.cache.put(patient_id, runtime, self._missing[item.key], rx)

    def finish(self) -> Done:
        request, self._request = self._request, None
        if request is None:
            raise RuntimeError("finish() without begin()")
        if isinstance(request, Ticks):
            return self._ticks(request)
        return self._bundles()

    def handle(self, request: Bundles | Ticks, load: Callable[[list[bytes]], list[Stored]]) -> Done:
        """The whole exchange in one call, with ``load`` reading the stored states (in-process shards)."""
        missing = self.begin(request)
        if missing:
            self.supply(load(missing))
        return self.finish()

    def drop_partitions(self, partitions: set[int]) -> None:
        if partitions:
            self.cache.drop_partitions(partitions)

    # --- internals ------------------------------------------------------------------------------------------
    def _bundles(self) -> Done:
        done = Done([], [], [], [], None)
        touched: dict[bytes, tuple[Entry, list[int], bool]] = {}
        clock_ns, outputs, rejected = self._clock_ns, done.outputs, done.rejected
        for index, partition, records in self._decoded:
            if isinstance(records, str):
                done.bad_bundles.append((index, records))
                continue
            if records:
                done.newest_ms = records[-1].timestamp
            for record in records:
                reading = record.reading
                if reading is None:  # the bundler could not decode it
                    rejected.append(_rejected(partition, record, record.error or "not a sensor.hr.v1 reading"))
                    continue
                patient_id = reading.patient_id
                entry = self.cache.get(patient_id)
                assert entry is not None  # supplied
                out = entry.runtime.on_reading(reading, entry.rx, now_ns=clock_ns())
                if out is None:  # a replayed reading the stored state already includes
                    continue
                entry.dirty = True
                key = reading.partition_key()
                if out.rejected:
                    rejected.append(_rejected(partition, record, out.rejected))
                _encode(key, out, outputs)
                seen = touched.get(key)
                if seen is None:
                    touched[key] = (entry, [index], bool(out.alerts or out.sessions))
                else:
                    if seen[1][-1] != index:
                        seen[1].append(index)
                    if (out.alerts or out.sessions) and not seen[2]:
                        touched[key] = (entry, seen[1], True)
        for key, (entry, events, urgent) in touched.items():
            state = self._store_if(entry, urgent)
            done.touched.append(Touched(key, entry.partition, events, entry.runtime.in_session, state))
        self._decoded = []
        return done

    def _ticks(self, request: Ticks) -> Done:
        done = Done([], [], [], [], None)
        for key, _partition in request.items:
            patient_id = key.decode()
            entry = self.cache.get(patient_id)
            assert entry is not None  # supplied
            out = entry.runtime.on_tick(entry.rx, now_ns=self._clock_ns())
            entry.dirty = entry.dirty or bool(out.features or out.alerts or out.sessions)
            _encode(key, out, done.outputs)
            state = self._store_if(entry, bool(out.alerts or out.sessions))
            done.touched.append(Touched(key, entry.partition, [], entry.runtime.in_session, state))
        return done

    def _store_if(self, entry: Entry, urgent: bool) -> bytes | None:
        if not (urgent or self.cache.due(entry)):
            return None
        state = entry.runtime.dump()
        self.cache.persisted(entry)
        return state


def _encode(key: bytes, out: Outputs, into: list[tuple[int, bytes, bytes]]) -> None:
    for event in out.features:
        into.append((FEATURES, key, encode(event)))
    for alert in out.alerts:
        into.append((ALERTS, key, encode(alert)))
    for session in out.sessions:
        into.append((SESSIONS, key, encode(session)))


def _rejected(partition: int, record: Bundled, reason: str) -> Rejected:
    return Rejected(partition, record.offset, record.key, record.raw_value(), reason)


_request_decoder: msgspec.msgpack.Decoder[Bundles | Ticks | Supply] = msgspec.msgpack.Decoder(Request)
_reply_decoder: msgspec.msgpack.Decoder[Need | Done] = msgspec.msgpack.Decoder(Reply)
_encoder = msgspec.msgpack.Encoder()


def encode_message(message: Bundles | Ticks | Supply | Need | Done) -> bytes:
    return _encoder.encode(message)


def decode_request(data: bytes | memoryview) -> Bundles | Ticks | Supply:
    return _request_decoder.decode(data)


def decode_reply(data: bytes | memoryview) -> Need | Done:
    return _reply_decoder.decode(data)
