"""Stream benchmark (issue 4): simulated patients through the real faust worker on the real local Kafka broker.

What runs, all on the local stack's broker, each phase on its own fresh topics:

1. **Live, worker** - ``--patients`` simulated straps (the vectorised :class:`~ingest.simulator.Fleet`, decoded by
   the gateway's own :class:`~ingest.simulate.Translator`) notify at 1 Hz with RR intervals for ``--warmup`` +
   ``--duration`` seconds of wall time; each tick's readings go to ``sensor.hr.v1`` as per-partition record batches
   (``send_batch``). ``--workers`` ``cardiorehab worker`` subprocesses turn them into ``features.v1``.
2. **Live, passthrough** - the same load through ``bench/passthrough.py`` (bare aiokafka consume -> produce ->
   commit after the acks), the same number of processes: the baseline.
3. **Capacity** - a backlog of ``--backlog-seconds`` x ``--patients`` readings is written first; then the worker
   and, after it, the passthrough (each in its own consumer group, writing its own output topic) drain it. The
   capacity is output records / (last output append - first output append).
4. **Profile** (when py-spy is installed; ``--no-profile`` skips it) - a third worker group drains the backlog
   under ``py-spy record --nonblocking`` for ``--profile-seconds``; the measured phases are never profiled.

Latency is broker time to broker time: the bench topics are created with ``message.timestamp.type=LogAppendTime``,
so every record's timestamp is the broker's append time. A reading is matched to the first feature of its
(patient id, second) (``t_s`` = ``gateway_time_ns // 1e9``); the latency is the feature's append minus the
reading's append. The records are read back after each phase, so no collector competes with the system under
test for the CPU while it is measured.

CPU: the workers' and the passthrough's from /proc (utime + stime of the process tree), the load generator's from
this process (``time.process_time``), the machine's from /proc/stat (the machine is shared: read it as noise).

Targets (issue 4): 5 000 concurrent patients with p99 <= 250 ms, and capacity >= 50 % of the passthrough's.

Run (stack up): ``.venv/bin/python -m bench.bench_stream`` (``--quick``: 200 patients for 15 s). Writes
``bench/results/stream.json``; topics, consumer groups, subprocesses and temporary folders are removed at the end,
also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from aiokafka.protocol.admin import DeleteGroupsRequest

from analytics.events import FeaturesV1
from analytics.stream.bundle import decode_bundle
from analytics.stream.bundler import bundle_topic_name, bundler_group_id
from bench import common
from ingest.events import SensorHrV1
from ingest.kafka_config import KafkaSettings
from ingest.settings_source import load
from ingest.simulate import Numbering, Translator, device_id_of, patient_id_of
from ingest.simulator import Fleet, ScenarioError, load_mix, load_scenario
from ingest.simulator.scenario import Scenario, ScenarioMix
from ingest.topics_admin import topic_configs
from ingest.wire import encode

NS_PER_S = 1_000_000_000
TARGET_PATIENTS = 5_000
TARGET_DURATION_S = 60
TARGET_P99_MS = 250.0
TARGET_CAPACITY_RATIO = 0.5
LOG_APPEND_TIME = 1  # ConsumerRecord.timestamp_type of a LogAppendTime topic
PROBE_PREFIX = "probe-"
GENERATOR_MAX_LAG_MS = 1_000.0  # a generator that hands a reading over later than this has fallen behind
REPO = common.REPO


# ---------------------------------------------------------------------------------------------------------------
# Kafka plumbing


class Kafka:
    """Admin and offset look-ups on the broker, plus the bench's own topics and groups (to delete at the end)."""

    def __init__(self, bootstrap: str, partitions: int, root: str) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.root = root
        self.groups: list[str] = []
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=f"{root}admin")
        self._offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id=f"{root}offsets", group_id=None)

    async def start(self) -> None:
        await self._admin.start()
        await self._offsets.start()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._offsets.stop()
        with contextlib.suppress(Exception):
            await self._admin.close()

    async def create_topics(self, names: Sequence[str], event_type: type[Any] = SensorHrV1) -> None:
        """Create topics whose record timestamps are the broker's append times."""
        configs = topic_configs(event_type) | {"message.timestamp.type": "LogAppendTime"}
        new = [
            NewTopic(name=n, num_partitions=self.partitions, replication_factor=1, topic_configs=configs) for n in names
        ]
        with contextlib.suppress(TopicAlreadyExistsError):
            await self._admin.create_topics(new)
        # wait until the metadata knows every partition, with a leader
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described = await self._admin.describe_topics(list(names))
            ok = [
                t for t in described
                if t["error_code"] == 0 and len(t["partitions"]) == self.partitions
                and all(p["leader"] >= 0 for p in t["partitions"])
            ]  # fmt: skip
            if len(ok) == len(names):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"topics {names} did not appear in the metadata")

    def tps(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(self.partitions)]

    async def end_offsets(self, topic: str) -> dict[int, int]:
        ends = await self._offsets.end_offsets(self.tps(topic))
        return {tp.partition: int(off) for tp, off in ends.items()}

    async def total(self, topic: str) -> int:
        """Records ever appended to a topic (no retention kicks in within a run)."""
        return sum((await self.end_offsets(topic)).values())

    async def committed_total(self, group: str, topic: str) -> int:
        """Offsets the group has committed on ``topic``, summed over partitions (0 where it committed nothing)."""
        offsets = await self._admin.list_consumer_group_offsets(group)
        return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic == topic)

    async def group_members(self, group: str) -> tuple[str, int]:
        """(state, number of members) of a consumer group."""
        for resp in await self._admin.describe_consumer_groups([group]):
            for g in resp.groups:
                if g[1] == group:
                    return str(g[2]), len(g[5])
        return "Unknown", 0

    async def delete_groups(self, timeout_s: float = 25.0) -> list[str]:
        """Delete the bench's consumer groups; retries while members are still leaving. Returns the failures."""
        failed: list[str] = []
        for group in self.groups:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    node = await self._admin.find_coordinator(group)
                    resp = await self._admin._send_request(DeleteGroupsRequest([group]), node)
                    code = next((int(r[1]) for r in resp.results if r[0] == group), 0)
                except Exception as exc:  # cleanup must go on
                    code = -1
                    print(f"bench: deleting group {group}: {exc!r}", file=sys.stderr)
                if code in (0, 69):  # deleted, or never created (GROUP_ID_NOT_FOUND)
                    break
                if time.monotonic() > deadline:
                    failed.append(group)
                    break
                await asyncio.sleep(1.0)  # 68 NON_EMPTY_GROUP: a member has not left yet
        return failed

    async def delete_bench_topics(self) -> list[str]:
        names = [t for t in await self._admin.list_topics() if t.startswith(self.root)]
        if names:
            await self._admin.delete_topics(names)
        return names


class LenientKey(msgspec.Struct):
    """The fields that identify a reading or a feature: (patient, second). Other fields are ignored."""

    patient_id: str
    t_s: int | None = None
    gateway_time_ns: int | None = None
    computed_time_ns: int | None = None  # features: when the worker processed the reading (its wall clock)


_key_decoder = msgspec.json.Decoder(LenientKey)


@dataclass
class TopicRecords:
    """(patient, second) -> first append time (ms), plus counts, of one topic."""

    first_ms: dict[tuple[str, int], int] = field(default_factory=dict)
    computed_ms: dict[tuple[str, int], float] = field(default_factory=dict)  # of the first record per key
    records: int = 0
    duplicates: int = 0
    probes: int = 0
    not_log_append_time: int = 0
    end_offsets_total: int = 0
    append_ms: list[int] = field(default_factory=list)  # every non-probe record's append time

    def index(self, k: LenientKey, timestamp: int) -> None:
        if k.patient_id.startswith(PROBE_PREFIX):
            self.probes += 1
            return
        t_s = k.t_s if k.t_s is not None else (k.gateway_time_ns or 0) // NS_PER_S
        key = (k.patient_id, t_s)
        self.append_ms.append(timestamp)
        prev = self.first_ms.get(key)
        if prev is None:
            self.first_ms[key] = timestamp
            if k.computed_time_ns is not None:
                self.computed_ms[key] = k.computed_time_ns / 1e6
        else:
            self.duplicates += 1
            self.first_ms[key] = min(prev, timestamp)


async def read_topic(kafka: Kafka, topic: str, *, bundles: bool = False) -> TopicRecords:
    """Read a topic from the beginning to its current end and index it by (patient, second).

    ``bundles``: the topic is a worker's sensor bundles; each bundled reading counts with its bundle's timestamp
    (when the bundler produced it: the bundle topic keeps the producer's time)."""
    out = TopicRecords()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        client_id=f"{kafka.root}reader",
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = kafka.tps(topic)
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, begins[tp])
        # done per partition when the last offset read reaches the end snapshot (offsets are not dense when a
        # producer aborted a batch, so "last offset + 1 >= end" rather than counting)
        remaining = {tp for tp in tps if ends[tp] > begins[tp]}
        deadline = time.monotonic() + 300
        idle_rounds: Counter[TopicPartition] = Counter()
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic}: partitions {sorted(tp.partition for tp in remaining)} unfinished")
            batches = await consumer.getmany(*remaining, timeout_ms=2000, max_records=20_000)
            for tp, records in batches.items():
                for r in records:
                    if r.offset >= ends[tp]:
                        break
                    out.records += 1
                    if r.timestamp_type != LOG_APPEND_TIME and not bundles:
                        out.not_log_append_time += 1
                    values = [b.raw_value() or b"" for b in decode_bundle(r.value)] if bundles else [r.value]
                    for value in values:
                        out.index(_key_decoder.decode(value), r.timestamp)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            for tp in list(remaining - set(batches)):
                # nothing more came three times in a row: trust the position (e.g. trailing control records)
                idle_rounds[tp] += 1
                if idle_rounds[tp] >= 3 and await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        out.end_offsets_total = sum(ends.values()) - sum(begins.values())
    finally:
        await consumer.stop()
    return out


async def topic_edges_ms(kafka: Kafka, topic: str) -> tuple[int | None, int | None]:
    """Append time of the first and of the last record of a topic (min/max over partitions)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap, client_id=f"{kafka.root}edges", group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    first: int | None = None
    last: int | None = None
    try:
        tps = kafka.tps(topic)
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            if ends[tp] <= begins[tp]:
                continue
            for offset in (begins[tp], ends[tp] - 1):
                consumer.seek(tp, offset)
                got = await consumer.getmany(tp, timeout_ms=10_000, max_records=1)
                for r in got.get(tp, []):
                    first = r.timestamp if first is None else min(first, r.timestamp)
                    last = r.timestamp if last is None else max(last, r.timestamp)
    finally:
        await consumer.stop()
    return first, last


# ---------------------------------------------------------------------------------------------------------------
# Load generator


def scenario_source(name: str) -> Scenario | ScenarioMix:
    try:
        return load_mix(name)
    except ScenarioError:
        return load_scenario(name)


@dataclass
class GenStats:
    """What the load generator did and how far behind schedule it ran."""

    readings: int = 0
    not_sent: Counter[str] = field(default_factory=Counter)  # events of other topics (ECG) and dead letters
    ticks: int = 0
    batches: int = 0
    issue_lag_ms: list[float] = field(default_factory=list)  # per reading: handed to the producer - due time
    ack_lag_ms: list[float] = field(default_factory=list)  # per batch: broker ack - due time of its oldest reading
    cpu_s: float = 0.0
    wall_s: float = 0.0
    start_ms: int = 0
    end_ms: int = 0

    def report(self) -> dict[str, Any]:
        issue = common.summarize(self.issue_lag_ms)
        ack = common.summarize(self.ack_lag_ms)
        kept_up = bool(self.readings) and (issue["max"] or 0.0) <= GENERATOR_MAX_LAG_MS
        return {
            "readings_sent": self.readings,
            "not_sent": dict(self.not_sent),
            "ticks": self.ticks,
            "batches": self.batches,
            "issue_lag_ms": issue,
            "ack_lag_ms": ack,
            "cpu_s": round(self.cpu_s, 2),
            "wall_s": round(self.wall_s, 2),
            "cpu_cores": round(self.cpu_s / self.wall_s, 3) if self.wall_s else None,
            "cpu_us_per_reading": round(self.cpu_s / self.readings * 1e6, 1) if self.readings else None,
            "kept_up": kept_up,
            "kept_up_rule": f"every reading handed to the producer <= {GENERATOR_MAX_LAG_MS:.0f} ms after it fell due",
        }


SLICE_S = 5  # the latency breakdown over the run, in slices of this many seconds
LATENCY_SPLIT = ("append_to_bundle", "append_to_processing", "processing_to_feature_append")


def _p50_p99(values: list[float]) -> list[float | None]:
    stats = common.summarize(values, digits=0)
    return [stats["p50"], stats["p99"]]


def _spread(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) - min(known) if known else None


class Load:
    """A fleet of simulated straps, translated like the gateway does, sent as per-partition record batches."""

    def __init__(self, n: int, seed: int, source: Scenario | ScenarioMix, partitions: int) -> None:
        self.n = n
        self.seed = seed
        self.source = source
        self.keys = [patient_id_of(i).encode() for i in range(n)]
        self.partition_of = [(murmur2(k) & 0x7FFFFFFF) % partitions for k in self.keys]
        self.patient_ids = [patient_id_of(i) for i in range(n)]
        self.device_ids = [device_id_of(i) for i in range(n)]

    def fleet(self, start_ns: int) -> tuple[Fleet, Translator]:
        fleet = Fleet(self.n, self.seed, self.source, start_time_ns=start_ns)
        return fleet, Translator(self.patient_ids, self.device_ids, Numbering(base=start_ns // 1_000_000))

    def encode_due(
        self, fleet: Fleet, translator: Translator, horizon_ns: int, stats: GenStats
    ) -> tuple[list[tuple[int, bytes, bytes]], list[int]]:
        """(partition, key, value) of every HR reading due by ``horizon_ns``, and their due times."""
        items: list[tuple[int, bytes, bytes]] = []
        dues: list[int] = []
        for note in fleet.advance_to(horizon_ns):
            event = translator.translate(note)
            if isinstance(event, SensorHrV1):
                i = note.patient_index
                items.append((self.partition_of[i], self.keys[i], encode(event)))
                dues.append(note.time_ns)
            elif event is not None:
                stats.not_sent[type(event).__name__] += 1
        return items, dues


async def send_batches(
    producer: AIOKafkaProducer, topic: str, items: Sequence[tuple[int, bytes, bytes]]
) -> list[asyncio.Future[Any]]:
    """Append records to one batch per partition (a new one when full) and queue them; returns the ack futures."""
    builders: dict[int, Any] = {}
    futures: list[asyncio.Future[Any]] = []
    for part, key, value in items:
        builder = builders.get(part)
        if builder is None:
            builder = builders[part] = producer.create_batch()
        if builder.append(key=key, value=value, timestamp=None) is None:
            futures.append(await producer.send_batch(builder, topic, partition=part))
            builder = builders[part] = producer.create_batch()
            if builder.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a {len(value)}-byte record does not fit an empty batch")
    for part, builder in builders.items():
        futures.append(await producer.send_batch(builder, topic, partition=part))
    return futures


async def generate_live(producer: AIOKafkaProducer, topic: str, load: Load, seconds: float, tick_s: float) -> GenStats:
    """Send the fleet's readings as they fall due, every ``tick_s``, for ``seconds`` of wall time."""
    stats = GenStats()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start = time.time_ns()
    stats.start_ms = start // 1_000_000
    fleet, translator = load.fleet(start)
    end = start + int(seconds * NS_PER_S)
    futures: list[asyncio.Future[Any]] = []

    def on_ack(oldest_due_ns: int, fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            stats.ack_lag_ms.append((time.time_ns() - oldest_due_ns) / 1e6)

    next_tick = time.monotonic()
    while True:
        now = time.time_ns()
        items, dues = load.encode_due(fleet, translator, min(now, end), stats)
        if items:
            batch_futures = await send_batches(producer, topic, items)
            handed = time.time_ns()
            stats.issue_lag_ms.extend([(handed - d) / 1e6 for d in dues])
            oldest = min(dues)
            for f in batch_futures:
                f.add_done_callback(partial(on_ack, oldest))
            futures.extend(batch_futures)
            stats.readings += len(items)
            stats.batches += len(batch_futures)
        stats.ticks += 1
        if now >= end:
            break
        next_tick += tick_s
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    await asyncio.gather(*futures)
    stats.end_ms = end // 1_000_000
    stats.cpu_s = time.process_time() - cpu0
    stats.wall_s = time.perf_counter() - wall0
    return stats


async def fill_backlog(producer: AIOKafkaProducer, topic: str, load: Load, seconds: int) -> dict[str, Any]:
    """Write ``seconds`` of the fleet's readings (ending now) as fast as the broker takes them."""
    stats = GenStats()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start = time.time_ns() - (seconds + 1) * NS_PER_S
    fleet, translator = load.fleet(start)
    inflight: list[asyncio.Future[Any]] = []
    for s in range(1, seconds + 2):
        items, _ = load.encode_due(fleet, translator, start + s * NS_PER_S, stats)
        if items:
            inflight.extend(await send_batches(producer, topic, items))
            stats.readings += len(items)
        if len(inflight) > 400:
            await asyncio.gather(*inflight[:200])
            del inflight[:200]
    await asyncio.gather(*inflight)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "readings": stats.readings,
        "seconds_of_data": seconds,
        "not_sent": dict(stats.not_sent),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "readings_per_s": round(stats.readings / wall) if wall else None,
    }


def probe_reading(partition: int, seq: int) -> SensorHrV1:
    return SensorHrV1(
        patient_id=f"{PROBE_PREFIX}{partition}",
        device_id=f"{PROBE_PREFIX}strap-{partition}",
        seq=seq,
        gateway_time_ns=time.time_ns(),
        hr_bpm=70,
        rr_ms=(857.0,),
        sensor_contact=True,
    )


# ---------------------------------------------------------------------------------------------------------------
# Processes under test


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child if the benchmark dies without cleaning up (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def worker_source_description(rev: str | None) -> dict[str, Any]:
    """Which worker code runs: the work tree (with its uncommitted changes under analytics/) or a git revision."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", "analytics", "services/cli/worker_cmd.py")
    except (OSError, subprocess.CalledProcessError):
        head, dirty = "unknown", ""
    if rev is None:
        return {"source": "work tree", "head": head, "analytics_uncommitted_changes": dirty.splitlines()[:20]}
    return {"source": f"git revision {rev}", "commit": _git("rev-parse", "--short", rev), "head": head}


def export_revision(rev: str, dest: Path) -> dict[str, Any]:
    """Unpack a committed tree (``git archive``, read-only for the repository) to run the worker from it."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return worker_source_description(rev)


def child_env(**cardio: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARDIO_")}
    env.update(cardio)
    env["CARDIO_ENV_FILE"] = ""  # only what the bench sets
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Proc:
    """One subprocess of the bench with its own log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, cwd: Path = REPO) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(  # our own interpreter and modules
                args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Sut:
    """A system under test: ``--workers`` worker or passthrough processes in one consumer group."""

    kind: str  # "worker" | "passthrough"
    group: str
    source: str
    dest: str
    procs: list[Proc]
    # (consumer group, topic) of each stage, in order: done when every stage has committed its topic's end. The
    # worker has two: its bundler reads the sensor topic, its faust agent the bundle topic.
    stages: list[tuple[str, str]]


class Bench:
    """Everything one run owns: the Kafka handle, the processes, the temporary folder."""

    def __init__(self, args: argparse.Namespace, kafka: Kafka) -> None:
        self.args = args
        self.kafka = kafka
        self.tmp = Path(tempfile.mkdtemp(prefix="cardiorehab-bench-stream-"))
        self.log_dir: Path = args.log_dir or self.tmp
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self.profile_out: Path | None = None
        self.worker_cwd = REPO
        self.worker_source = worker_source_description(None)
        if args.worker_rev:
            self.worker_cwd = self.tmp / "worker-src"
            self.worker_source = export_revision(args.worker_rev, self.worker_cwd)

    def start_sut(self, kind: str, prefix: str, group: str, dest: str | None = None) -> Sut:
        source = prefix + SensorHrV1.TOPIC
        procs: list[Proc] = []
        self.kafka.groups.append(group)
        stages = [(group, source)]
        if kind == "worker":
            stages = [(bundler_group_id(group), source), (group, bundle_topic_name(group))]
            self.kafka.groups.append(bundler_group_id(group))
        for i in range(self.args.workers):
            name = f"{group.removeprefix(self.kafka.root)}-{i + 1}"
            if kind == "worker":
                env = child_env(
                    CARDIO_ENVIRONMENT="development",
                    CARDIO_KAFKA_BOOTSTRAP=self.kafka.bootstrap,
                    CARDIO_KAFKA_TOPIC_PREFIX=prefix,
                    CARDIO_KAFKA_PARTITIONS=str(self.kafka.partitions),
                    CARDIO_WORKER_APP_ID=group,
                    CARDIO_WORKER_DATA_DIR=str(self.tmp / "faust" / group),
                    CARDIO_WORKER_NAME=f"w{i + 1}",
                )
                if self.worker_cwd != REPO:
                    env["PYTHONPATH"] = str(self.worker_cwd)
                env.update(self.args.worker_env_map)
                cmd = [sys.executable, "-m", "services.cli.main", "worker", "--name", f"w{i + 1}"]
            else:
                env = child_env()
                cmd = [
                    sys.executable, "-m", "bench.passthrough", "--bootstrap", self.kafka.bootstrap,
                    "--source", source, "--dest", dest or prefix + FeaturesV1.TOPIC, "--group", group,
                    "--name", f"p{i + 1}",
                ]  # fmt: skip
            proc = Proc(name, cmd, env, self.log_dir, cwd=self.worker_cwd if kind == "worker" else REPO)
            procs.append(proc)
            self.procs.append(proc)
        return Sut(kind, group, source, dest or prefix + FeaturesV1.TOPIC, procs, stages)

    def stop_sut(self, sut: Sut) -> list[int | None]:
        return [p.stop() for p in sut.procs]

    def check_alive(self, sut: Sut) -> None:
        for p in sut.procs:
            if not p.running:
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}:\n{p.tail()}")

    async def wait_ready(self, sut: Sut, timeout_s: float = 120.0) -> float:
        """Until the group is Stable with every process in it; returns the seconds it took."""
        t0 = time.monotonic()
        while True:
            self.check_alive(sut)
            try:
                state, members = await self.kafka.group_members(sut.group)
            except Exception:  # the coordinator may not know the group yet
                state, members = "Unknown", 0
            if state == "Stable" and members == len(sut.procs):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError(f"{sut.group}: state {state} with {members} members after {timeout_s} s")
            await asyncio.sleep(0.5)

    async def probe(self, producer: AIOKafkaProducer, sut: Sut, timeout_s: float = 120.0) -> int:
        """One reading on every partition, then wait for every output: the processes are assigned and running."""
        before = await self.kafka.total(sut.dest)
        futures = [
            await producer.send(sut.source, encode(probe_reading(p, 1)), key=f"{PROBE_PREFIX}{p}".encode(), partition=p)
            for p in range(self.kafka.partitions)
        ]
        await asyncio.gather(*futures)
        t0 = time.monotonic()
        while await self.kafka.total(sut.dest) < before + self.kafka.partitions:
            self.check_alive(sut)
            if time.monotonic() - t0 > timeout_s:
                logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in sut.procs)
                raise TimeoutError(f"{sut.kind}: probes not answered within {timeout_s} s\n{logs}")
            await asyncio.sleep(0.2)
        return self.kafka.partitions

    async def cleanup(self) -> dict[str, Any]:
        codes = {p.name: p.stop() for p in self.procs}
        groups_left = await self.kafka.delete_groups()
        topics = await self.kafka.delete_bench_topics()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return {"exit_codes": codes, "topics_deleted": len(topics), "groups_not_deleted": groups_left}


class CpuSampler:
    """Samples the CPU seconds of some processes (and of the machine) once a second in the background."""

    def __init__(self, pids: Sequence[int], interval_s: float = 1.0) -> None:
        self.pids = list(pids)
        self.interval_s = interval_s
        self.samples: list[tuple[float, list[float | None], tuple[float, float] | None]] = []
        self.system_s: list[list[float | None]] = []  # kernel time of each process (not of its children)
        self._task: asyncio.Task[None] | None = None

    def _take(self) -> None:
        self.samples.append(
            (time.monotonic(), [common.tree_cpu_seconds(p) for p in self.pids], common.system_cpu_times())
        )
        self.system_s.append([None if (t := common.proc_cpu_times(p)) is None else t[1] for p in self.pids])

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self._take()

    def start(self) -> None:
        self._take()
        self._task = asyncio.create_task(self._run())

    def mark(self) -> int:
        """Take a sample now; returns its index (to bound a window)."""
        self._take()
        return len(self.samples) - 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._take()

    def window(self, i0: int, i1: int) -> dict[str, Any]:
        """Average cores used by the processes between two samples, the busiest 1-s interval, and the machine."""
        (t0, c0, s0), (t1, c1, s1) = self.samples[i0], self.samples[i1]
        wall = t1 - t0
        per_proc = (
            [None if a is None or b is None else (b - a) / wall for a, b in zip(c0, c1, strict=True)]
            if wall > 0
            else [None] * len(self.pids)
        )
        peak = 0.0
        for (ta, ca, _), (tb, cb, _) in zip(self.samples[i0:i1], self.samples[i0 + 1 : i1 + 1], strict=True):
            if tb - ta <= 0:
                continue
            used = sum((b or 0.0) - (a or 0.0) for a, b in zip(ca, cb, strict=True))
            peak = max(peak, used / (tb - ta))
        total = sum(x for x in per_proc if x is not None)
        busy = common.system_busy_fraction(s0, s1)
        kernel = sum((b or 0.0) - (a or 0.0) for a, b in zip(self.system_s[i0], self.system_s[i1], strict=True))
        return {
            "wall_s": round(wall, 2),
            "cpu_s": round(total * wall, 2),
            "cpu_cores": round(total, 3),
            "cpu_cores_per_process": [None if x is None else round(x, 3) for x in per_proc],
            "cpu_cores_peak_1s": round(peak, 3),
            "kernel_share_of_cpu": round(kernel / (total * wall), 3) if total > 0 and wall > 0 else None,
            "machine_busy_pct": None if busy is None else round(100 * busy, 1),
        }


# ---------------------------------------------------------------------------------------------------------------
# Phases


async def live_phase(bench: Bench, producer: AIOKafkaProducer, load: Load, kind: str, tag: str) -> dict[str, Any]:
    """Offered load at 1 Hz per patient through a worker or the passthrough; latency and throughput."""
    args, kafka = bench.args, bench.kafka
    prefix = f"{kafka.root}{tag}-"
    await kafka.create_topics([prefix + SensorHrV1.TOPIC, prefix + FeaturesV1.TOPIC])
    group = f"{kafka.root}{tag}-{'analytics' if kind == 'worker' else 'passthrough'}"
    sut = bench.start_sut(kind, prefix, group)
    print(f"bench: [{tag}] starting {len(sut.procs)} {kind} process(es)", file=sys.stderr)
    ready_s = await bench.wait_ready(sut)
    probes = await bench.probe(producer, sut)
    print(f"bench: [{tag}] ready after {ready_s:.1f} s; offering {load.n} patients", file=sys.stderr)
    sampler = CpuSampler([p.pid for p in sut.procs])
    sampler.start()
    i0 = sampler.mark()
    total_s = args.warmup + args.duration
    gen = await generate_live(producer, sut.source, load, total_s, args.tick_ms / 1000)
    i1 = sampler.mark()
    expected = gen.readings + probes
    pending_at_load_end = max(0, expected - await kafka.total(sut.dest))
    # Drain grace: until the group has committed every reading (both the worker and the passthrough commit only
    # what their outputs cover), or the grace period is over. Counting output records is not enough: the worker
    # also emits tick features and replays, so the count can reach the readings' before the last ones are done.
    grace_start = time.monotonic()
    while time.monotonic() - grace_start < args.grace:
        if await kafka.total(sut.dest) >= expected and await all_committed(kafka, sut):
            break
        bench.check_alive(sut)
        await asyncio.sleep(0.25)
    grace_used = time.monotonic() - grace_start
    stop_ms = time.time_ns() // 1_000_000  # a reading still without output has waited at least until now
    i2 = sampler.mark()
    await sampler.stop()
    bench.check_alive(sut)
    bench.stop_sut(sut)
    cpu_load = sampler.window(i0, i1)
    cpu_all = sampler.window(i0, i2)

    totals = {"source_records": await kafka.total(sut.source), "dest_records": await kafka.total(sut.dest)}
    readings = await read_topic(kafka, sut.source)
    outputs = await read_topic(kafka, sut.dest)
    bundled = await read_topic(kafka, bundle_topic_name(sut.group), bundles=True) if kind == "worker" else None
    if readings.not_log_append_time or outputs.not_log_append_time:
        raise RuntimeError("bench topics do not carry LogAppendTime timestamps; latencies would be meaningless")
    if readings.records != readings.end_offsets_total or outputs.records != outputs.end_offsets_total:
        raise RuntimeError(
            f"read back {readings.records}/{readings.end_offsets_total} readings and "
            f"{outputs.records}/{outputs.end_offsets_total} outputs: the measurement would be incomplete"
        )
    window_start_ms = gen.start_ms + int(args.warmup * 1000)
    window_end_ms = gen.end_ms
    latencies: list[float] = []
    latencies_all: list[float] = []
    by_partition: dict[int, list[float]] = {}
    by_slice: dict[int, list[float]] = {}
    # where a reading waits (LATENCY_SPLIT): until the bundler produced its bundle, until the worker processed
    # it (both from the reading's append), and from then until its feature was appended (the way out)
    split: dict[str, list[float]] = {part: [] for part in LATENCY_SPLIT}
    partition_of = dict(zip(load.patient_ids, load.partition_of, strict=True))
    missing: list[tuple[str, int]] = []
    censored = 0
    for key, t_in in readings.first_ms.items():
        t_out = outputs.first_ms.get(key)
        if t_out is None:
            missing.append(key)
            if window_start_ms <= t_in <= window_end_ms:
                # no feature by the end of the grace period: its latency is at least this (a lower bound)
                latencies.append(float(stop_ms - t_in))
                censored += 1
            continue
        latencies_all.append(float(t_out - t_in))
        if window_start_ms <= t_in <= window_end_ms:
            latencies.append(float(t_out - t_in))
            by_partition.setdefault(partition_of.get(key[0], -1), []).append(float(t_out - t_in))
            by_slice.setdefault((t_in - window_start_ms) // (SLICE_S * 1000), []).append(float(t_out - t_in))
            computed = outputs.computed_ms.get(key)
            if computed is not None:
                split["append_to_processing"].append(computed - t_in)
                split["processing_to_feature_append"].append(t_out - computed)
            if bundled is not None and (t_bundle := bundled.first_ms.get(key)) is not None:
                split["append_to_bundle"].append(float(t_bundle - t_in))
    unmatched_outputs = sum(1 for key in outputs.first_ms if key not in readings.first_ms)
    window_s = (window_end_ms - window_start_ms) / 1000
    in_window = sum(1 for t in readings.append_ms if window_start_ms <= t <= window_end_ms)
    out_window = sum(1 for t in outputs.append_ms if window_start_ms <= t <= window_end_ms)
    last_out = max(outputs.append_ms) if outputs.append_ms else None
    out_during_load = sum(1 for t in outputs.append_ms if gen.start_ms <= t <= gen.end_ms)
    lat = common.summarize(latencies)
    lat_all = common.summarize(latencies_all)
    gen_report = gen.report()
    return {
        "kind": kind,
        "processes": len(sut.procs),
        "patients": load.n,
        "warmup_s": args.warmup,
        "measured_s": args.duration,
        "ready_s": round(ready_s, 1),
        "topics": {"source": sut.source, "dest": sut.dest, **totals},
        "readings": len(readings.first_ms),
        "reading_records": readings.records - readings.probes,
        "outputs_first_per_key": len(outputs.first_ms),
        "output_records": outputs.records - outputs.probes,
        "duplicate_outputs": outputs.duplicates,
        "unmatched_outputs": unmatched_outputs,
        "readings_without_output": len(missing),
        "missing_examples": [f"{p}@{t}" for p, t in missing[:5]],
        "grace_s": args.grace,
        "grace_used_s": round(grace_used, 1),
        "last_output_after_load_end_s": None if last_out is None else round((last_out - window_end_ms) / 1000, 2),
        "window_s": round(window_s, 2),
        "throughput_in_per_s": round(in_window / window_s, 1) if window_s > 0 else None,
        "throughput_out_per_s": round(out_window / window_s, 1) if window_s > 0 else None,
        "latency_ms": lat,
        "latency_censored": censored,
        "latency_note": (
            "percentiles over readings appended in the measured window; readings still without a feature at the end "
            "of the grace period count with the time they had waited by then (a lower bound)"
        ),
        "latency_ms_answered_including_warmup": lat_all,
        # where a tail comes from: some partitions behind, or some seconds of the run (answered readings only)
        "latency_p50_p99_ms_by_partition": {str(k): _p50_p99(v) for k, v in sorted(by_partition.items())},
        f"latency_p50_p99_ms_by_{SLICE_S}s": {str(k * SLICE_S): _p50_p99(v) for k, v in sorted(by_slice.items())},
        **{f"latency_p50_p99_ms_{part}": _p50_p99(v) if v else None for part, v in split.items()},
        "pending_at_load_end": pending_at_load_end,
        "cpu_during_load": cpu_load,
        "cpu_including_grace": cpu_all,
        "outputs_during_load": out_during_load,
        "cpu_us_per_output": round(cpu_load["cpu_s"] / out_during_load * 1e6, 1) if out_during_load else None,
        "generator": gen_report,
        "logs": {p.name: p.tail(8) for p in sut.procs},
    }


async def all_committed(kafka: Kafka, sut: Sut) -> bool:
    """Whether every stage has committed up to its topic's end (checked in order, so a stage's input is complete
    by the time it is checked)."""
    for group, topic in sut.stages:
        if await kafka.committed_total(group, topic) < await kafka.total(topic):
            return False
    return True


async def drain_phase(bench: Bench, backlog_prefix: str, backlog_readings: int, kind: str, tag: str) -> dict[str, Any]:
    """Maximum throughput: start the process(es) on a pre-filled backlog and time the drain from output appends."""
    args, kafka = bench.args, bench.kafka
    if kind == "worker":
        dest = backlog_prefix + FeaturesV1.TOPIC
        group = f"{kafka.root}{tag}-analytics"
    else:
        dest = f"{backlog_prefix}{tag}.{FeaturesV1.TOPIC}"
        group = f"{kafka.root}{tag}-passthrough"
    await kafka.create_topics([dest])
    before = await kafka.total(dest)
    sut = bench.start_sut(kind, backlog_prefix, group, dest=dest)
    print(f"bench: [{tag}] {kind} draining {backlog_readings} readings", file=sys.stderr)
    sampler = CpuSampler([p.pid for p in sut.procs])
    sampler.start()
    t_start = time.monotonic()
    wall_start_ms = time.time_ns() // 1_000_000
    last_count, last_progress, done, capped = before, time.monotonic(), False, False
    i_first: int | None = None
    first_output = 0.0
    while True:
        count = await kafka.total(dest)
        now = time.monotonic()
        if count > last_count:
            if i_first is None:
                i_first, first_output = sampler.mark(), now
            last_count, last_progress = count, now
        if count - before >= backlog_readings:
            done = True
            break
        if now - t_start > args.drain_timeout:
            break
        if i_first is not None and now - first_output > args.drain_max:
            capped = True  # saturated the whole time: enough to measure the capacity
            break
        if i_first is not None and now - last_progress > args.stall:
            break
        bench.check_alive(sut)
        await asyncio.sleep(0.25)
    i_end = sampler.mark()
    await sampler.stop()
    elapsed = time.monotonic() - t_start
    bench.check_alive(sut)
    bench.stop_sut(sut)
    produced = await kafka.total(dest) - before
    first_ms, last_ms = await topic_edges_ms(kafka, dest)
    span_s = (last_ms - first_ms) / 1000 if first_ms is not None and last_ms is not None else 0.0
    cpu = sampler.window(i_first if i_first is not None else 0, i_end)
    return {
        "kind": kind,
        "processes": len(sut.procs),
        "backlog_readings": backlog_readings,
        "outputs": produced,
        "drained": done,
        "stopped_at_drain_max": capped,
        "capacity_per_s": round(produced / span_s, 1) if span_s > 0 else None,
        "first_to_last_output_s": round(span_s, 2),
        "start_to_last_output_s": round((last_ms - wall_start_ms) / 1000, 2) if last_ms is not None else None,
        "elapsed_s": round(elapsed, 1),
        "cpu": cpu,
        "cpu_us_per_reading": round(cpu["cpu_s"] / produced * 1e6, 1) if produced else None,
        "logs": {p.name: p.tail(8) for p in sut.procs},
    }


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


async def profile_phase(bench: Bench, backlog_prefix: str, seconds: float) -> dict[str, Any]:
    """Profile one worker draining the backlog (a fresh group) with py-spy; summarise where its CPU goes."""
    spy = py_spy()
    if spy is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    kafka = bench.kafka
    group = f"{kafka.root}prof-analytics"
    dest = backlog_prefix + FeaturesV1.TOPIC
    saved_workers = bench.args.workers
    bench.args.workers = 1
    try:
        sut = bench.start_sut("worker", backlog_prefix, group, dest=dest)
    finally:
        bench.args.workers = saved_workers
    before = await kafka.total(dest)
    t0 = time.monotonic()
    while await kafka.total(dest) == before:  # profile steady processing, not the start-up
        bench.check_alive(sut)
        if time.monotonic() - t0 > 120:
            raise TimeoutError("profiled worker produced nothing in 120 s")
        await asyncio.sleep(0.2)
    raw = bench.tmp / "worker-profile.txt"
    out = bench.profile_out or raw
    cpu0 = common.tree_cpu_seconds(sut.procs[0].pid) or 0.0
    t_cpu = time.monotonic()
    spy_cmd = [spy, "record", "--pid", str(sut.procs[0].pid), "--duration", str(int(seconds)), "--rate", "100",
               "--format", "raw", "--nonblocking", "-o", str(out)]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*spy_cmd, stdout=asyncio.subprocess.PIPE, stderr=subprocess.STDOUT)
    spy_log, _ = await proc.communicate()
    cpu_cores = ((common.tree_cpu_seconds(sut.procs[0].pid) or 0.0) - cpu0) / (time.monotonic() - t_cpu)
    bench.stop_sut(sut)
    if proc.returncode != 0 or not out.exists():
        return {"error": f"py-spy exited with {proc.returncode}: {spy_log.decode(errors='replace')[-500:]}"}
    summary = summarise_collapsed(out.read_text(), rate_hz=100, seconds=seconds)
    summary["worker_cpu_cores_while_profiled"] = round(cpu_cores, 3)
    summary["raw_profile"] = str(out) if bench.profile_out else "(deleted with the run's temporary folder)"
    return summary


PROFILE_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cardiorehab: analytics.stream (agent, processor)", ("analytics/stream/",)),
    ("cardiorehab: other analytics/ingest code", ("analytics/", "ingest/")),
    ("msgspec (codecs)", ("msgspec",)),
    ("rocksdict / faust tables", ("rocksdict", "faust/stores/", "faust/tables/")),
    ("faust streams, topics, agents", ("faust/",)),
    ("mode (services, timers)", ("mode/",)),
    ("aiokafka (consumer, producer, protocol)", ("aiokafka/",)),
    ("asyncio event loop", ("asyncio/", "selectors.py", "uvloop")),
    ("logging", ("logging/",)),
)


def _category(frame: str) -> str:
    for name, needles in PROFILE_CATEGORIES:
        if any(n in frame for n in needles):
            return name
    return "other (stdlib, interpreter)"


# Inclusive spans worth naming: the share of samples with a matching frame anywhere on the stack.
PROFILE_SPANS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("agent body (analytics.stream on_reading)", ("on_reading (analytics/stream/",)),
    ("processor step (pure physiology)", ("analytics/stream/processor.py", "analytics/stream/runtime.py",
                                          "analytics/physiology/")),
    ("msgspec decode/encode (ingest.wire)", ("decode (ingest/wire.py", "encode (ingest/wire.py")),
    ("faust tables (get/set, changelog)", ("faust/tables/",)),
    ("RocksDB store", ("faust/stores/rocksdb.py", "rocksdict")),
    ("faust topic send (features, changelog)", ("publish_message (faust/topics.py", "faust/transport/producer.py")),
    ("aiokafka producer sender (produce requests)", ("aiokafka/producer/",)),
    ("aiokafka consumer (fetch)", ("aiokafka/consumer/",)),
    ("faust consumer/fetcher/commit", ("faust/transport/consumer.py", "faust/transport/conductor.py")),
    ("faust stream iteration (events, acks)", ("faust/streams.py", "faust/events.py")),
)  # fmt: skip
_SYSCALL_LEAVES = ("_SelectorSocketTransport.write (", "StreamWriter.write (", "EpollSelector.select (")
_ROOT_FRAMES = (
    "<module>", "_run_module_as_main", "_run_code", "(services/cli/", "run_worker (", "execute_from_commandline",
    "run_forever (", "run_until_complete (", "_run_once (", "Handle._run (", "Thread._bootstrap", "Thread.run (",
)  # fmt: skip


def summarise_collapsed(text: str, *, rate_hz: int, seconds: float, top: int = 15) -> dict[str, Any]:
    """Self time per library and function, and named inclusive spans, from py-spy's collapsed stacks.

    ``..._without_syscall_leaves`` leaves out the samples whose innermost frame is a socket write or the epoll wait:
    on a busy machine those are mostly a preempted (runnable) thread rather than CPU spent (compare the process's
    kernel share of CPU from /proc).
    """
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    cats_cpu: Counter[str] = Counter()
    spans: Counter[str] = Counter()
    total = total_cpu = 0
    for line in text.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        self_t[frames[-1]] += count
        cats[_category(frames[-1])] += count
        if not any(leaf in frames[-1] for leaf in _SYSCALL_LEAVES):
            cats_cpu[_category(frames[-1])] += count
            total_cpu += count
        for f in set(frames):
            if not any(r in f for r in _ROOT_FRAMES):
                incl[f] += count
        for label, needles in PROFILE_SPANS:
            if any(n in f for f in frames for n in needles):
                spans[label] += count

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    return {
        "samples": total,
        "seconds": seconds,
        "rate_hz": rate_hz,
        "active_fraction": round(total / (rate_hz * seconds), 3) if seconds else None,
        "self_by_library_pct": {k: pct(v) for k, v in cats.most_common()},
        "self_by_library_pct_without_syscall_leaves": {
            k: round(100.0 * v / total_cpu, 1) for k, v in cats_cpu.most_common()
        }
        if total_cpu
        else {},
        "syscall_leaf_pct": pct(total - total_cpu),
        "spans_pct": {label: pct(spans[label]) for label, _ in PROFILE_SPANS},
        "top_self_pct": [[f, pct(n)] for f, n in self_t.most_common(top)],
        "top_inclusive_pct": [[f, pct(n)] for f, n in incl.most_common(top)],
        "note": (
            "py-spy counts threads that are running or runnable: on a busy machine a thread preempted inside a "
            "system call (a socket write that wakes the broker) is counted there; kernel_share_of_cpu (from /proc) "
            "says how much of the CPU really went to the kernel"
        ),
    }


# ---------------------------------------------------------------------------------------------------------------
# Result


def figures_of(live: dict[str, Any], drain: dict[str, Any] | None) -> dict[str, Any]:
    lat = live["latency_ms"]
    return {
        "patients": live["patients"],
        "processes": live["processes"],
        "measured_s": live["measured_s"],
        "throughput_in_per_s": live["throughput_in_per_s"],
        "throughput_out_per_s": live["throughput_out_per_s"],
        "latency_p50_ms": lat["p50"],
        "latency_p99_ms": lat["p99"],
        "latency_max_ms": lat["max"],
        "latency_lower_bound_readings": live["latency_censored"],
        # a tail from a few seconds of the run shows here; one from a partition left behind in the spread
        f"latency_p50_ms_by_{SLICE_S}s": [v[0] for v in live[f"latency_p50_p99_ms_by_{SLICE_S}s"].values()],
        "latency_p50_spread_over_partitions_ms": _spread(
            [v[0] for v in live["latency_p50_p99_ms_by_partition"].values()]
        ),
        # where a reading waits: before the worker processes it, or after (its feature in the producer)
        **{f"latency_p50_p99_ms_{part}": live.get(f"latency_p50_p99_ms_{part}") for part in LATENCY_SPLIT},
        "readings": live["readings"],
        "pending_at_load_end": live["pending_at_load_end"],
        "readings_without_feature": live["readings_without_output"],
        "cpu_cores_live": live["cpu_during_load"]["cpu_cores"],
        "cpu_us_per_output_live": live["cpu_us_per_output"],
        "capacity_per_s": None if drain is None else drain["capacity_per_s"],
        "cpu_cores_drain": None if drain is None else drain["cpu"]["cpu_cores"],
        "kernel_share_of_cpu_drain": None if drain is None else drain["cpu"]["kernel_share_of_cpu"],
        "cpu_us_per_reading_drain": None if drain is None else drain["cpu_us_per_reading"],
        "capacity_per_cpu_second": (
            round(1e6 / drain["cpu_us_per_reading"]) if drain is not None and drain["cpu_us_per_reading"] else None
        ),
        "generator_cpu_cores": live["generator"]["cpu_cores"],
        "generator_issue_lag_p99_ms": live["generator"]["issue_lag_ms"]["p99"],
        "generator_kept_up": live["generator"]["kept_up"],
        "machine_busy_pct_live": live["cpu_during_load"]["machine_busy_pct"],
    }


def build_result(args: argparse.Namespace, phases: dict[str, Any], command: str) -> dict[str, Any]:
    worker_live, pass_live = phases["live_worker"], phases["live_passthrough"]
    worker_drain, pass_drain = phases.get("drain_worker"), phases.get("drain_passthrough")
    figures = figures_of(worker_live, worker_drain)
    baseline = {"name": "bare aiokafka passthrough (bench/passthrough.py)", **figures_of(pass_live, pass_drain)}
    cap_w = figures["capacity_per_s"]
    cap_p = baseline["capacity_per_s"]
    ratio = round(cap_w / cap_p, 3) if cap_w and cap_p else None
    cpu_w, cpu_p = figures["capacity_per_cpu_second"], baseline["capacity_per_cpu_second"]
    cpu_ratio = round(cpu_w / cpu_p, 3) if cpu_w and cpu_p else None
    phases["cpu_normalised_capacity_ratio"] = cpu_ratio
    p99 = figures["latency_p99_ms"]
    gen_ok = bool(worker_live["generator"]["kept_up"] and pass_live["generator"]["kept_up"])
    full_load = args.patients >= TARGET_PATIENTS and args.duration >= TARGET_DURATION_S
    missing = figures["readings_without_feature"]
    checks = [
        common.check(
            "load: concurrent patients at 1 Hz, sustained",
            f"{args.patients} patients, {args.duration:g} s",
            f">= {TARGET_PATIENTS} patients, >= {TARGET_DURATION_S} s",
            True if full_load else None,
        ),
        common.check(
            "worker p99 latency (append to append)",
            p99,
            f"<= {TARGET_P99_MS:g} ms",
            None if p99 is None else p99 <= TARGET_P99_MS,
        ),
        common.check(
            "capacity ratio worker / passthrough",
            ratio,
            f">= {TARGET_CAPACITY_RATIO:g}",
            None if ratio is None else ratio >= TARGET_CAPACITY_RATIO,
        ),
        common.check("readings without a feature after the grace period", missing, 0, missing == 0),
        common.check("load generator kept up (both live phases)", gen_ok, True, True if gen_ok else None),
    ]
    if not gen_ok:
        # a late generator bunches the offered load: the live checks say nothing about the worker then
        for c in checks[1:2] + checks[3:4]:
            c["pass"] = None
    passed = common.overall_pass(checks)
    worker = phases.get("worker", {})
    worker_desc = str(worker.get("source", "?"))
    if worker.get("commit") and worker["commit"] not in worker_desc:
        worker_desc += f" ({worker['commit']})"
    if worker.get("analytics_uncommitted_changes"):
        worker_desc += " with uncommitted changes under analytics/"
    extra_env = " ".join(f"{k}={v}" for k, v in args.worker_env_map.items())
    notes = [
        f"worker code: {worker_desc}, {args.workers} process(es), {phases.get('partitions')} partitions"
        + (f", worker environment {extra_env}" if extra_env else ""),
        "latency = broker append time of the feature - broker append time of its reading (LogAppendTime topics, "
        "ms resolution); matched by (patient id, second), first feature per key",
        f"latency percentiles over readings appended after a {args.warmup:g}-s warm-up; 'readings without feature' "
        f"over all readings, after a grace period of up to {args.grace:g} s",
        "capacity = outputs / (last output append - first output append) while draining a pre-filled backlog; the "
        "ratio compares capacities, not the offered load",
        f"CPU-normalised capacity ratio (readings per CPU-second, less sensitive to a busy machine): {cpu_ratio}",
        "the machine is shared (2 cores with the broker and other engineers' tests): machine_busy_pct shows how "
        "busy it was during the live window",
    ]
    if not gen_ok:
        notes.append(
            "the load generator fell behind schedule (machine too busy): the live latency and missing-feature "
            "checks are inconclusive, the capacity check (drain phase) still stands"
        )
    if not full_load:
        notes.append("quick/partial run: below the target load, so it cannot pass the issue-4 target")
    return common.envelope(
        "stream",
        title="Readings through the faust worker on the real broker: latency, throughput, capacity vs passthrough",
        quick=args.quick,
        figures=figures,
        baseline=baseline,
        ratio=ratio,
        target={
            "patients": TARGET_PATIENTS,
            "duration_s": TARGET_DURATION_S,
            "p99_ms": TARGET_P99_MS,
            "capacity_ratio_min": TARGET_CAPACITY_RATIO,
            "readings_without_feature": 0,
        },
        passed=passed,
        checks=checks,
        command=command,
        notes=notes,
        details={
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            **phases,
        },
    )


def print_summary(result: dict[str, Any]) -> None:
    f, b = result["figures"], result["baseline"]
    rows = [
        ("throughput in /s", "throughput_in_per_s"),
        ("throughput out /s", "throughput_out_per_s"),
        ("latency p50 ms", "latency_p50_ms"),
        ("latency p99 ms", "latency_p99_ms"),
        ("latency max ms", "latency_max_ms"),
        ("latency lower bounds", "latency_lower_bound_readings"),
        (f"p50 ms by {SLICE_S}-s slice", f"latency_p50_ms_by_{SLICE_S}s"),
        ("p50 spread partitions", "latency_p50_spread_over_partitions_ms"),
        ("p50/p99 until processed", "latency_p50_p99_ms_append_to_processing"),
        ("p50/p99 until bundled", "latency_p50_p99_ms_append_to_bundle"),
        ("p50/p99 processed->out", "latency_p50_p99_ms_processing_to_feature_append"),
        ("pending at load end", "pending_at_load_end"),
        ("without feature", "readings_without_feature"),
        ("capacity /s", "capacity_per_s"),
        ("cpu cores live", "cpu_cores_live"),
        ("cpu us/output live", "cpu_us_per_output_live"),
        ("cpu cores drain", "cpu_cores_drain"),
        ("kernel share drain", "kernel_share_of_cpu_drain"),
        ("cpu us/reading drain", "cpu_us_per_reading_drain"),
        ("readings per cpu-s", "capacity_per_cpu_second"),
        ("generator cores", "generator_cpu_cores"),
        ("machine busy % live", "machine_busy_pct_live"),
    ]
    print(f"{'':24}{'worker':>14}{'passthrough':>14}")
    for label, key in rows:
        print(f"{label:24}{f.get(key)!s:>14}{b.get(key)!s:>14}")
    print(f"capacity ratio: {result['ratio']}   pass: {result['pass']}")
    marks = {True: "ok", False: "FAIL", None: "--"}
    for c in result["checks"]:
        print(f"  [{marks[c['pass']]}] {c['name']}: {c['measured']} (target {c['target']})")


# ---------------------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    settings = load(KafkaSettings)
    partitions = args.partitions or settings.partitions
    root = f"bench-{uuid.uuid4().hex[:10]}-"
    kafka = Kafka(settings.bootstrap, partitions, root)
    try:
        await kafka.start()
        bench = Bench(args, kafka)
    except BaseException:
        await kafka.close()
        raise
    bench.profile_out = args.profile_out
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{root}generator",
        acks="all",
        enable_idempotence=True,
        linger_ms=0,
        request_timeout_ms=30_000,
    )
    phases: dict[str, Any] = {"run_id": root.rstrip("-"), "partitions": partitions, "worker": bench.worker_source}
    phases["load_average_before"] = common.load_average()
    try:
        await producer.start()
        load_ = Load(args.patients, args.seed, scenario_source(args.scenario), partitions)
        phases["live_worker"] = await live_phase(bench, producer, load_, "worker", "lw")
        phases["live_passthrough"] = await live_phase(bench, producer, load_, "passthrough", "lp")
        if args.backlog_seconds > 0:
            backlog_prefix = f"{root}bk-"
            await kafka.create_topics([backlog_prefix + SensorHrV1.TOPIC])
            print(f"bench: filling a backlog of {args.backlog_seconds} s x {args.patients} patients", file=sys.stderr)
            fill = await fill_backlog(producer, backlog_prefix + SensorHrV1.TOPIC, load_, args.backlog_seconds)
            phases["backlog_fill"] = fill
            phases["drain_worker"] = await drain_phase(bench, backlog_prefix, fill["readings"], "worker", "dw")
            phases["drain_passthrough"] = await drain_phase(
                bench, backlog_prefix, fill["readings"], "passthrough", "dp"
            )
            if args.profile:
                print(f"bench: profiling a worker for {args.profile_seconds} s with py-spy", file=sys.stderr)
                phases["profile_worker"] = await profile_phase(bench, backlog_prefix, args.profile_seconds)
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()
        try:
            phases["cleanup"] = await bench.cleanup()
        finally:
            await kafka.close()
    return build_result(args, phases, command)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 patients for 15 s, a 300-s backlog")
    ap.add_argument("--patients", type=int, default=None, help="simulated patients at 1 Hz (default 5000)")
    ap.add_argument("--duration", type=float, default=None, help="measured seconds of load (default 60)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of load before the measured window")
    ap.add_argument("--workers", type=int, default=1, help="worker (and passthrough) processes")
    ap.add_argument("--partitions", type=int, default=None, help="partitions per topic (default: the settings', 12)")
    ap.add_argument("--scenario", default="rehab_session", help="scenario or mix of the simulated patients")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tick-ms", type=float, default=50.0, help="load generator tick (readings sent in batches)")
    ap.add_argument("--grace", type=float, default=30.0, help="seconds to wait for the last features after the load")
    ap.add_argument("--backlog-seconds", type=int, default=300, help="backlog for the capacity phase (0: skip it)")
    ap.add_argument(
        "--drain-max",
        type=float,
        default=120.0,
        help="stop a drain this many seconds after its first output (still saturated: the capacity is measured)",
    )
    ap.add_argument("--drain-timeout", type=float, default=1800.0, help="give up a drain after this many seconds")
    ap.add_argument("--stall", type=float, default=30.0, help="a drain with no output for this long has stalled")
    ap.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="profile a worker with py-spy after the measured phases (when py-spy is installed)",
    )
    ap.add_argument("--profile-seconds", type=float, default=None, help="py-spy duration (default 30, quick 10)")
    ap.add_argument("--profile-out", type=Path, default=None, help="keep py-spy's collapsed stacks in this file")
    ap.add_argument(
        "--worker-rev",
        default=None,
        help="run the worker from this git revision (git archive into a temporary folder) instead of the work tree",
    )
    ap.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the worker processes, for what-if runs (e.g. faust's PRODUCER_LINGER=0.005)",
    )
    ap.add_argument("--log-dir", type=Path, default=None, help="keep the subprocesses' logs in this folder")
    ap.add_argument("--out", type=Path, default=common.RESULTS_DIR / "stream.json")
    args = ap.parse_args(argv)
    if args.patients is None:
        args.patients = 200 if args.quick else TARGET_PATIENTS
    if args.duration is None:
        args.duration = 15.0 if args.quick else float(TARGET_DURATION_S)
    if args.profile_seconds is None:
        args.profile_seconds = 10.0 if args.quick else 30.0
    args.worker_env_map = {}
    for item in args.worker_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            ap.error(f"--worker-env wants KEY=VALUE, got {item!r}")
        args.worker_env_map[key] = value
    if args.patients < 1 or args.workers < 1 or args.duration <= 0:
        ap.error("--patients, --workers and --duration must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench.bench_stream " + " ".join(sys.argv[1:] if argv is None else argv)

    async def guarded() -> dict[str, Any]:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run(args, command.strip())

    try:
        result = asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; processes, topics and groups were cleaned up", file=sys.stderr)
        return 130
    common.write_result(result, args.out)
    print_summary(result)
    print(f"bench: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
