"""Builds the faust app: topics, tables and agents, from settings (nothing happens at import).

Agents are thin loops around :class:`~analytics.stream.runtime.PatientRuntime`, which runs in the runtime shards
(:mod:`analytics.stream.shards`: child processes by default, partition ``p`` in shard ``p % n``):

* ``sensor-hr`` takes the readings of ``sensor.hr.v1`` in bundles (one Kafka message per partition every 25 ms,
  written by the bundler, :mod:`analytics.stream.bundler`, in a child process by default: faust's per-event cost is
  paid per bundle), has the shards fold each reading into its patient's runtime and publishes the features, alerts
  and session events they answer at once (latency); a bundle is acknowledged only once the states that include its
  readings are in the table and their changelog records handed to the producer;
* ``patient-ticks`` runs the clock-driven part (signal lost, sessions ending, seconds without data) for patients
  whose straps went quiet; a 1 s timer sends it a tick per such patient, through an internal topic keyed like
  the sensor topic, so the work happens in the patient's partition (faust tables are written from events only);
* ``prescriptions`` keeps the newest prescription per patient, co-partitioned with the sensor topic.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
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
from analytics.stream.bundler import Bundler, bundle_topic_name
from analytics.stream.bundler_process import supervise
from analytics.stream.cache import Behind, Holds, Unstored
from analytics.stream.faust_context import event_context, no_event_context
from analytics.stream.fetch_wait import shorten_fetch_wait
from analytics.stream.outgoing import Outgoing, SendBatch, aiokafka_sender
from analytics.stream.runtime import in_session
from analytics.stream.settings import WorkerSettings
from analytics.stream.shard import ALERTS, FEATURES, SESSIONS, Done, ShardCore, Stored
from analytics.stream.shards import ShardGoneError, Shards, Turns
from ingest.events import DeadLetterV1, SensorHrV1, kafka_origin
from ingest.kafka_config import KafkaSettings
from ingest.wire import SchemaError, decode, encode

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
    shards: Shards


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

    # bytes keys and values make faust use its "raw" codec; our own msgspec codecs do the (de)serialising.
    states = app.Table("patient-state", key_type=bytes, value_type=bytes, partitions=kafka.partitions)
    prescriptions = app.Table("prescriptions", key_type=bytes, value_type=bytes, partitions=kafka.partitions)
    holds = Holds()
    unstored = Unstored()
    behind = Behind()
    partitioner = DefaultPartitioner()
    sensor_stream: dict[str, Any] = {}
    known: dict[str, int] = {}  # patients on our partitions that may need ticks: id -> partition
    arrivals: dict[str, int] = {}  # when a reading of the patient was last folded in (ns)

    def load_stored(keys: list[bytes]) -> list[Stored]:
        """What a shard asks for a patient it does not hold: the stored state and prescription (read from the
        partition that holds the key, not the current event's)."""
        with no_event_context():
            return [Stored(key, states.get(key), prescriptions.get(key)) for key in keys]

    turns = Turns()  # outputs are published in the order their requests went to the shards (see shards.py)
    shards = Shards.create(
        settings,
        load_stored,
        lambda: ShardCore(settings.persist_interval_s, clock_ns=clock_ns, clock_mono=time.monotonic),
    )

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

    async def release(event: Any) -> None:
        """Drop one hold on a bundle; acknowledge it when nothing holds it any more."""
        stream = sensor_stream.get("stream")
        if holds.release(event) and stream is not None:
            await stream.ack(event)

    kind_topics = {
        FEATURES: features_topic.get_topic_name(),
        ALERTS: alerts_topic.get_topic_name(),
        SESSIONS: sessions_topic.get_topic_name(),
    }

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

    async def publish(done: Done, events: list[Any]) -> None:
        """Queue a shard's outputs; :func:`send_outputs` sends them in record batches through faust's producer
        (faust flushes it before committing offsets). ``Topic.send`` would cost a FutureMessage and a buffer hop per
        message, and ``producer.send`` about 20 µs each. Dead letters go at once."""
        for index, reason in done.bad_bundles:
            event = events[index]
            await dead_letter(origin_of(event), event.key, event.value, reason)
        for r in done.rejected:  # under the reading's own coordinates in the sensor topic
            await dead_letter(kafka_origin(sensor_topic, r.partition, r.offset), r.key, r.value, r.reason)
        add = outgoing.add
        for kind, key, value in done.outputs:
            add(kind_topics[kind], key, value)
        if done.newest_ms is not None:
            behind.observe(done.newest_ms, clock_ns(), time.monotonic())

    async def publish_in_turn(ticket: int, results: list[Done], events: list[Any]) -> None:
        """Publish the answers to request ``ticket`` after those to every request submitted before it, and hand them
        over: the outputs first, as a state in the changelog must never be ahead of them."""
        async with turns.turn(ticket):
            for done in results:
                await publish(done, events)
        await send_outputs()

    def stop_worker(exc: BaseException) -> None:
        """After a shard died or an agent failed, the shards hold readings whose outputs may not be published (a
        failed pass, passes queued behind it) and bundles will not be acknowledged: the worker must not go on (faust
        would restart the agent on top of that state). It stops, so the partitions' next owner replays everything
        unacknowledged onto the stored states."""
        what = "a runtime shard died" if isinstance(exc, ShardGoneError) else "an agent failed"
        log.critical("%s; stopping the worker so its partitions are replayed", what, exc_info=exc)
        os.kill(os.getpid(), signal.SIGTERM)

    async def send_outputs() -> None:
        try:
            await outgoing.flush()
        except NotReady:
            # The worker is shutting down and faust stopped its producer before this agent: end the agent. Nothing
            # of the batch was acknowledged, so whoever owns the partition next processes it again.
            log.info("producer stopped while publishing; leaving the rest of the batch to the next owner")
            raise asyncio.CancelledError from None

    def store(key: bytes, raw: bytes, partition: int, event: Any, ticket: int) -> list[Any]:
        """Write the patient's state to the table's local store and queue its changelog record; returns the bundles
        its readings free, to be released once the record is handed to the producer (:func:`send_outputs`).
        ``event`` is one of the patient's partition, for the store to file the key under; ``ticket`` is that of the
        request whose answer carried the state.

        The changelog record goes out with the agent's own record batches, not through faust's table write
        (``states[key] = ...``): faust sends those one message at a time from its producer buffer, which at 1,000
        state writes a second fell further and further behind, and every commit waits for that buffer (measured:
        flushes of 12-35 s, during which no bundle reached the agent)."""
        with event_context(event):  # the store files the key under the event's partition
            states.data[key] = raw
        outgoing.add(changelog, key, raw, partition=partition)
        return unstored.stored(key, ticket)

    async def stored(released: list[Any]) -> None:
        """Hand the queued changelog records over, then release the bundles they free."""
        await send_outputs()
        for event in released:
            await release(event)

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
            shards.prescription_changed(event.message.partition, key, event.value)

    @app.agent(bundle_topic, name="sensor-hr")
    async def on_bundles(stream: Any) -> None:
        """Bundles in small batches (at most ``batch_max`` or ``batch_wait_ms``), folded in by the shards; each
        reading's features are published as soon as its bundle is processed (milliseconds)."""
        sensor_stream["stream"] = stream
        try:
            await fold_bundles(stream)
        except asyncio.CancelledError:
            await shards.close()  # the worker is stopping (the children would also end with it)
            raise
        except Exception as exc:
            stop_worker(exc)
            raise

    async def fold_bundles(stream: Any) -> None:
        """Submit each batch to the shards, then go on to the next while :func:`finish_passes` publishes it: the
        shards work while the worker's thread publishes, stores and takes in the next batch."""
        passes: asyncio.Queue[tuple[list[Any], int, asyncio.Future[list[Done]]]] = asyncio.Queue(maxsize=1)
        async with asyncio.TaskGroup() as group:
            group.create_task(finish_passes(passes))
            async for events in stream.noack_take(settings.batch_max, within=settings.batch_wait_ms / 1000.0):
                outgoing.check()  # a refused output batch stops the agent before what it covers is acknowledged
                for event in events:
                    holds.hold(event)  # until the whole bundle is processed
                ticket = turns.take()
                work = shards.fold([(i, event.message.partition, event.value or b"") for i, event in enumerate(events)])
                await passes.put((events, ticket, work))

    async def finish_passes(passes: asyncio.Queue[tuple[list[Any], int, asyncio.Future[list[Done]]]]) -> None:
        while True:
            events, ticket, work = await passes.get()
            results = await work
            await publish_in_turn(ticket, results, events)
            now = clock_ns()
            released: list[Any] = []
            for done in results:
                for touched in done.touched:
                    patient_id = touched.key.decode()
                    for index in touched.events:
                        if unstored.add(touched.key, events[index], ticket):
                            holds.hold(events[index])  # until this patient's state is stored
                    arrivals[patient_id] = now
                    known[patient_id] = touched.partition
                    if touched.state is not None:
                        event = events[touched.events[-1]]
                        released += store(touched.key, touched.state, touched.partition, event, ticket)
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
        try:
            await tick_patients(stream)
        except Exception as exc:
            stop_worker(exc)
            raise

    async def tick_patients(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_max, within=settings.batch_wait_ms / 1000.0):
            by_key = {event.key: event for event in events}  # one tick per patient is enough
            ticket = turns.take()
            results = await shards.tick([(key, event.message.partition) for key, event in by_key.items()])
            await publish_in_turn(ticket, results, [])
            released: list[Any] = []
            for done in results:
                for touched in done.touched:
                    if touched.state is not None:
                        released += store(touched.key, touched.state, touched.partition, by_key[touched.key], ticket)
                    if not touched.in_session:
                        known.pop(touched.key.decode(), None)
            await stored(released)

    @app.timer(interval=1.0)
    async def tick() -> None:
        """Send a tick to every quiet patient in a session on our partitions.

        Only to quiet ones: a patient whose readings keep coming has its state stored by the reading that finds it
        due, and a tick costs a whole faust event (measured: at 5,000 patients, ticking every state due a write
        as well cost a fifth of a core)."""
        now = clock_ns()
        quiet_after_s = TICK_AFTER_S + behind.seconds(time.monotonic())
        for patient_id, partition in list(known.items()):
            if (now - arrivals.get(patient_id, 0)) / 1e9 >= quiet_after_s:
                await ticks_topic.send(key=patient_id.encode(), value=b"", partition=partition)

    @app.timer(interval=5.0)
    async def heartbeat() -> None:
        await asyncio.to_thread(_beat, settings.data_dir / settings.name / "alive")

    output_topics = [
        *kind_topics.values(),
        deadletter_topic.get_topic_name(),
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
        shards.partitions_lost(lost)
        holds.drop_partitions(lost)
        unstored.drop_partitions(lost)
        for patient_id in [p for p, partition in known.items() if partition in lost]:
            del known[patient_id]
            arrivals.pop(patient_id, None)

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
            if partition in mine and key.decode() not in known:
                known[key.decode()] = partition
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
        shards,
    )
