"""Builds the faust app: topics, tables and agents, from settings (nothing happens at import).

Agents are thin loops around :class:`~analytics.stream.runtime.PatientRuntime`:

* ``sensor-hr`` takes the readings of ``sensor.hr.v1`` in bundles (one Kafka message per partition every 25 ms,
  written by the bundler, :mod:`analytics.stream.bundler`, in a child process by default: faust's per-event cost is
  paid per bundle), folds each reading into its patient's runtime and publishes features, alerts and session events
  at once (latency); a bundle is acknowledged only once the states that include its readings are in the table and
  their changelog records handed to the producer;
* ``patient-ticks`` runs the clock-driven part (signal lost, sessions ending, seconds without data) for patients
  whose straps went quiet; a 1 s timer sends it a tick per such patient, through an internal topic keyed like
  the sensor topic, so the work happens in the patient's partition (faust tables are written from events only);
* ``prescriptions`` keeps the newest prescription per patient, co-partitioned with the sensor topic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from aiokafka.partitioner import DefaultPartitioner
from faust.exceptions import NotReady
from faust.types import TP

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from analytics.stream.bundle import Bundled, BundleError, decode_bundle
from analytics.stream.bundler import Bundler, bundle_topic_name
from analytics.stream.bundler_process import supervise
from analytics.stream.cache import Behind, Entry, Holds, RuntimeCache
from analytics.stream.defaults import default_prescription
from analytics.stream.faust_context import event_context
from analytics.stream.fetch_wait import shorten_fetch_wait
from analytics.stream.outgoing import Outgoing, SendBatch, aiokafka_sender
from analytics.stream.runtime import Outputs, PatientRuntime, in_session
from analytics.stream.settings import WorkerSettings
from ingest.events import DeadLetterV1, SensorHrV1, kafka_origin
from ingest.kafka_config import KafkaSettings
from ingest.wire import Event, SchemaError, decode, encode

log = logging.getLogger(__name__)
TICK_AFTER_S = 2.5  # a patient whose last reading arrived this long ago gets clock ticks
CHANGELOG_BUFFER_MAX = 20_000  # faust's buffered table writes (prescriptions) before it pauses the streams


@dataclass
class StreamApp:
    """The faust app with handles on what tests and the worker need."""

    app: faust.App
    sensor_topic: str  # the source topic's name; the agent reads its records from the bundle topic
    bundle_topic: Any
    features_topic: Any
    alerts_topic: Any
    sessions_topic: Any
    prescriptions_topic: Any
    deadletter_topic: Any
    ticks_topic: Any
    states: Any
    prescriptions: Any
    cache: RuntimeCache


def _beat(path: Path) -> None:
    path.write_text(str(time.time()))


def _broker_urls(kafka: KafkaSettings) -> list[str]:
    return [f"kafka://{host.strip()}" for host in kafka.bootstrap.split(",") if host.strip()]


def create_app(
    settings: WorkerSettings,
    kafka: KafkaSettings,
    *,
    clock_ns: Callable[[], int] = time.time_ns,
    sender: tuple[Callable[[str], Awaitable[int]], SendBatch] | None = None,
) -> StreamApp:
    """``sender`` replaces how output batches reach Kafka (agent tests record them); by default faust's producer."""
    (settings.data_dir / settings.name).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=_broker_urls(kafka),
        store=settings.store,
        datadir=str(settings.data_dir / settings.name),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        web_enabled=settings.web_port is not None,
        web_port=settings.web_port or 6066,
        web_bind="127.0.0.1",
        autodiscover=False,
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 3,
        # Readings stay unacknowledged until their state is stored (see cache.py); a rebalance must not wait
        # for them: the next owner replays them and recognises what its restored state already holds.
        stream_wait_empty=False,
        # Without a linger every feature became its own produce request; 5 ms batches them (profiled: a quarter of
        # the worker's CPU was socket writes) at a cost of at most 5 ms of latency.
        producer_linger=settings.producer_linger_ms / 1000.0,
    )

    # Table writes reach the changelog through faust's producer buffer, and when it holds more than
    # ``max_messages`` (100) faust stops feeding every stream until it has drained. The patient states no longer
    # take that way (see ``store``), but prescriptions and faust's own writes do; a burst of them must not stop the
    # streams. The buffer drains in the background at the producer's pace either way.
    app.producer.buffer.max_messages = CHANGELOG_BUFFER_MAX

    def raw_topic(name: str, **kw: Any) -> Any:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=kafka.partitions,
            **kw,
        )

    sensor_topic = kafka.topic(SensorHrV1.TOPIC)
    bundle_topic = raw_topic(bundle_topic_name(settings.app_id))  # created by the worker (topics_admin)
    bundler = Bundler(settings, kafka, source=sensor_topic, dest=bundle_topic.get_topic_name())
    features_topic = raw_topic(kafka.topic(FeaturesV1.TOPIC))
    alerts_topic = raw_topic(kafka.topic(AlertV1.TOPIC))
    sessions_topic = raw_topic(kafka.topic(SessionV1.TOPIC))
    prescriptions_topic = raw_topic(kafka.topic(PrescriptionV1.TOPIC))
    deadletter_topic = raw_topic(kafka.topic(DeadLetterV1.TOPIC))
    ticks_topic = raw_topic(f"{settings.app_id}-patient-ticks", internal=True, retention=3600.0)
    topics_by_event: dict[type[Event], Any] = {
        FeaturesV1: features_topic,
        AlertV1: alerts_topic,
        SessionV1: sessions_topic,
        DeadLetterV1: deadletter_topic,
    }

    # bytes keys and values make faust use its "raw" codec; our own msgspec codecs do the (de)serialising.
    states = app.Table("patient-state", key_type=bytes, value_type=bytes, partitions=kafka.partitions)
    prescriptions = app.Table("prescriptions", key_type=bytes, value_type=bytes, partitions=kafka.partitions)
    cache = RuntimeCache(time.monotonic, settings.persist_interval_s)
    holds = Holds()
    behind = Behind()
    partitioner = DefaultPartitioner()
    sensor_stream: dict[str, Any] = {}

    # Decoded prescriptions of the patients on our partitions; the table (RocksDB) is read once per patient.
    # The prescriptions agent runs in this process for the same partitions (co-partitioned), so it keeps this
    # current; a rebalance empties it.
    rx_cache: dict[bytes, PrescriptionV1 | None] = {}

    def prescription_for(patient_id: str, key: bytes) -> PrescriptionV1:
        if key in rx_cache:
            rx = rx_cache[key]
        else:
            raw = prescriptions.get(key)
            rx = rx_cache[key] = decode(PrescriptionV1, raw) if raw else None
        return rx if rx is not None else default_prescription(patient_id)

    async def dead_letter(origin: str, key: bytes | None, value: bytes | None, reason: str) -> None:
        letter = DeadLetterV1(
            stage="analytics",
            origin=origin,
            reason=reason,
            received_time_ns=clock_ns(),
            key=key.decode(errors="replace") if key else None,
            payload_utf8=value.decode(errors="replace") if value else None,
        )
        await deadletter_topic.send(key=letter.partition_key(), value=encode(letter))

    def origin_of(event: Any) -> str:
        message = event.message
        return kafka_origin(message.topic, message.partition, message.offset)

    async def reject(partition: int, record: Bundled, reason: str) -> None:
        """Dead-letter a bundled reading under its own coordinates in the sensor topic."""
        await dead_letter(kafka_origin(sensor_topic, partition, record.offset), record.key, record.raw_value(), reason)

    async def release(event: Any) -> None:
        """Drop one hold on a bundle; acknowledge it when nothing holds it any more."""
        stream = sensor_stream.get("stream")
        if holds.release(event) and stream is not None:
            await stream.ack(event)

    topic_names = {kind: topic.get_topic_name() for kind, topic in topics_by_event.items()}

    # faust's aiokafka driver keeps its AIOKafkaProducer behind _ensure_producer() (faust-streaming 0.15.3; the
    # integration tests fail if that changes)
    outgoing = Outgoing(*(sender or aiokafka_sender(lambda: app.producer._ensure_producer())))  # type: ignore[attr-defined]
    changelog = states.changelog_topic.get_topic_name()

    def changelog_written(partition: int, offset: int) -> None:
        """As faust's own changelog callback does: the local store remembers how far into the changelog it is, so a
        restarted worker replays only the records after it (an earlier offset only makes it replay more)."""
        store: Any = states.data
        store.set_persisted_offset(TP(changelog, partition), offset)

    outgoing.watch(changelog, changelog_written)

    def publish(patient_key: bytes, out: Outputs) -> None:
        """Queue the outputs; :func:`send_outputs` sends them in record batches through faust's producer (faust
        flushes it before committing offsets). ``Topic.send`` would cost a FutureMessage and a buffer hop per
        message, and ``producer.send`` about 20 µs each."""
        for event in (*out.features, *out.alerts, *out.sessions):
            outgoing.add(topic_names[type(event)], patient_key, encode(event))

    async def send_outputs() -> None:
        try:
            await outgoing.flush()
        except NotReady:
            # The worker is shutting down and faust stopped its producer before this agent: end the agent. Nothing
            # of the batch was acknowledged, so whoever owns the partition next processes it again.
            log.info("producer stopped while publishing; leaving the rest of the batch to the next owner")
            raise asyncio.CancelledError from None

    def store(key: bytes, entry: Entry, event: Any | None = None) -> list[Any]:
        """Write the patient's state to the table's local store and queue its changelog record; returns the bundles
        its readings free, to be released once the record is handed to the producer (:func:`send_outputs`).

        The changelog record goes out with the agent's own record batches, not through faust's table write
        (``states[key] = ...``): faust sends those one message at a time from its producer buffer, which at 1,000
        state writes a second fell further and further behind, and every commit waits for that buffer (measured:
        flushes of 12-35 s, during which no bundle reached the agent)."""
        raw = entry.runtime.dump()
        if event is None:
            states.data[key] = raw
        else:
            with event_context(event):  # the store files the key under the event's partition
                states.data[key] = raw
        outgoing.add(changelog, key, raw, partition=entry.partition)
        return cache.persisted(entry)

    async def stored(released: list[Any]) -> None:
        """Hand the queued changelog records over, then release the bundles they free."""
        await send_outputs()
        for event in released:
            await release(event)

    def entry_for(patient_id: str, key: bytes, partition: int) -> Entry:
        entry = cache.get(patient_id)
        if entry is None:
            entry = cache.put(patient_id, PatientRuntime.load(patient_id, states.get(key)), partition)
        return entry

    @app.agent(prescriptions_topic, name="prescriptions")
    async def on_prescription(stream: Any) -> None:
        async for event in stream.events():
            try:
                prescription = decode(PrescriptionV1, event.value)
            except SchemaError as exc:
                await dead_letter(origin_of(event), event.key, event.value, str(exc))
                continue
            key = prescription.partition_key()
            current = prescriptions.get(key)
            if current is not None and decode(PrescriptionV1, current).version > prescription.version:
                continue  # an older version replayed after a newer one
            prescriptions[key] = event.value
            rx_cache[key] = prescription

    @app.agent(bundle_topic, name="sensor-hr")
    async def on_bundles(stream: Any) -> None:
        """Bundles in small batches (at most ``batch_max`` or ``batch_wait_ms``); each reading's features are
        published as soon as its bundle is processed (milliseconds)."""
        sensor_stream["stream"] = stream
        async for events in stream.noack_take(settings.batch_max, within=settings.batch_wait_ms / 1000.0):
            outgoing.check()  # a refused output batch stops the agent before the bundles it covers are acknowledged
            touched: dict[bytes, tuple[Entry, Any, bool]] = {}
            for event in events:
                holds.hold(event)  # until the whole bundle is processed
                try:
                    records = decode_bundle(event.value or b"")
                except BundleError as exc:
                    await dead_letter(origin_of(event), event.key, event.value, f"not a sensor bundle: {exc}")
                    continue
                partition = event.message.partition
                if records:
                    behind.observe(records[-1].timestamp, clock_ns(), time.monotonic())
                for record in records:
                    reading = record.reading
                    if reading is None:  # the bundler could not decode it
                        await reject(partition, record, record.error or "not a sensor.hr.v1 reading")
                        continue
                    key = reading.partition_key()
                    entry = entry_for(reading.patient_id, key, partition)
                    rx = prescription_for(reading.patient_id, key)
                    out = entry.runtime.on_reading(reading, rx, now_ns=clock_ns())
                    if out is None:  # a replayed reading the stored state already includes
                        continue
                    if not entry.pending or entry.pending[-1] is not event:
                        entry.pending.append(event)
                        holds.hold(event)  # until this patient's state is stored
                    entry.dirty = True
                    if out.rejected:
                        await reject(partition, record, out.rejected)
                    publish(key, out)
                    urgent = bool(out.alerts or out.sessions) or touched.get(key, (entry, event, False))[2]
                    touched[key] = (entry, event, urgent)
            await send_outputs()  # the outputs first: a state in the changelog must never be ahead of them
            released: list[Any] = []
            for key, (entry, last_event, urgent) in touched.items():
                if urgent or cache.due(entry):
                    released += store(key, entry, last_event)
            await stored(released)
            for event in events:
                await release(event)

    @app.task
    async def bundle_readings() -> None:
        if settings.bundler_process:
            await supervise(settings, kafka, source=sensor_topic, dest=bundle_topic.get_topic_name())
        else:
            await bundler.run()

    @app.agent(ticks_topic, name="patient-ticks")
    async def on_tick(stream: Any) -> None:
        async for event in stream.events():
            key = event.key
            patient_id = key.decode()
            entry = entry_for(patient_id, key, event.message.partition)
            out = entry.runtime.on_tick(prescription_for(patient_id, key), now_ns=clock_ns())
            changed = bool(out.features or out.alerts or out.sessions)
            entry.dirty = entry.dirty or changed
            publish(key, out)
            await send_outputs()
            if out.alerts or out.sessions or cache.due(entry):
                await stored(store(key, entry))
            if not entry.runtime.in_session:
                cache.known.pop(patient_id, None)

    @app.timer(interval=1.0)
    async def tick() -> None:
        """Send a tick to every quiet patient in a session on our partitions.

        Only to quiet ones: a patient whose readings keep coming has its state stored by the reading that finds it
        due, and a tick costs a whole faust event (measured: at 5,000 patients, ticking every state due a write
        as well cost a fifth of a core)."""
        now = clock_ns()
        quiet_after_s = TICK_AFTER_S + behind.seconds(time.monotonic())
        for patient_id, partition in list(cache.known.items()):
            entry = cache.get(patient_id)
            if entry is None or (now - entry.runtime.state.last_arrival_ns) / 1e9 >= quiet_after_s:
                await ticks_topic.send(key=patient_id.encode(), value=b"", partition=partition)

    @app.timer(interval=5.0)
    async def heartbeat() -> None:
        await asyncio.to_thread(_beat, settings.data_dir / settings.name / "alive")

    output_topics = [
        *topic_names.values(),
        ticks_topic.get_topic_name(),
        changelog,
        prescriptions.changelog_topic.get_topic_name(),
    ]

    def track_output_topics() -> None:
        """Make the producer's metadata track every topic this worker writes to.

        aiokafka's producer fetches metadata for all topics until it is asked to track one by name; from then on it
        fetches only the tracked ones, and a topic it had from the full fetch but never tracked loses its partition
        leaders. Its pending batches then never leave: found at 5,000 patients, when the first tick (to the ticks
        topic, which faust creates after the producer's first fetch) made the producer track that topic alone and
        drop features.v1 and sessions.v1 (the worker stopped in 7 of 57 benchmark runs)."""
        client = app.producer._ensure_producer().client  # type: ignore[attr-defined]  # as for Outgoing above
        for name in output_topics:
            client.add_topic(name)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types receivers narrowly
    async def on_revoked(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        revoked: set[Any] = args[0] if args else set()
        lost = {tp.partition for tp in revoked if tp.topic == bundle_topic.get_topic_name()}
        cache.drop_partitions(lost)
        holds.drop_partitions(lost)
        rx_cache.clear()

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def on_rebalanced(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        """Find patients in a session on partitions we now own, so their clocks keep ticking."""
        shorten_fetch_wait(app.consumer, settings.fetch_max_wait_ms)
        track_output_topics()
        n = kafka.partitions
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == bundle_topic.get_topic_name()}
        found = 0
        for key, raw in states.items():
            if not in_session(raw):
                continue
            partition = partitioner(key, list(range(n)), list(range(n)))
            if partition in mine and key.decode() not in cache.known:
                cache.known[key.decode()] = partition
                found += 1
        if found:
            log.info("rebalance: %d patients in a session now on this worker", found)

    return StreamApp(
        app,
        sensor_topic,
        bundle_topic,
        features_topic,
        alerts_topic,
        sessions_topic,
        prescriptions_topic,
        deadletter_topic,
        ticks_topic,
        states,
        prescriptions,
        cache,
    )
