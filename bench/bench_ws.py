"""Websocket fan-out benchmark: 200 clients each following 50 patients at 1 Hz through the real API and Kafka.

A real API process (the production app under uvicorn) serves a private database with a 50-patient clinic and reads a
private Kafka topic prefix. 200 websocket clients (nurses, ``scope: clinic``) run in two client processes. The
benchmark publishes ``features.v1`` for the 50 patients at 1 Hz each, spread over the second (10 ticks of 5 patients),
for the measured duration. Latency of each delivery = the client's receive time minus the message's Kafka record
timestamp (set when the message is produced, so producer batching, the broker, the hub's fetch and fan-out, and the
websocket are all inside). Target: p99 <= 100 ms, no client dropped, every message delivered to every client.
Baseline, in the same run: a single client, to show what fan-out to 200 adds.

Run ``.venv/bin/python -m bench.bench_ws`` (``--quick`` for a short run). Needs the local stack. Writes
``bench/results/ws.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import signal
import sys
import tempfile
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import msgspec

from bench import common
from ingest.producer import EventProducer
from tests.integration.services import events_factory as ev
from tests.integration.services.api_server import api_under_test
from tests.support.stack import StackEnv, read_env

CLIENTS = 200
PATIENTS = 50
TICKS_PER_S = 10
TARGET_P99_MS = 100.0
CLIENT_PROCESSES = 2


class _Event(msgspec.Struct):
    kind: str
    appended_ms: int


class _Frame(msgspec.Struct):
    type: str
    events: list[_Event] = []


async def _client(url: str, token: str, measure_from_ms: Any, stop: MpEvent, out: dict[str, Any]) -> None:
    import websockets

    decoder = msgspec.json.Decoder(_Frame)
    latencies: list[float] = out["latencies"]
    async with websockets.connect(url, max_size=2**24) as ws:
        await ws.send(msgspec.json.encode({"type": "auth", "token": token}).decode())
        await ws.send(msgspec.json.encode({"type": "subscribe", "scope": "clinic"}).decode())
        snapshot = decoder.decode(await ws.recv())
        assert snapshot.type == "snapshot", snapshot.type
        out["ready"] += 1
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now_ms = time.time() * 1000
            frame = decoder.decode(raw)
            out["frames"] += 1
            start = measure_from_ms.value
            for e in frame.events:
                if e.kind == "features" and start and e.appended_ms >= start:
                    latencies.append(now_ms - e.appended_ms)


def client_worker(
    url: str, token: str, n: int, measure_from_ms: Any, ready: Queue[int], stop: MpEvent, results: Queue[Any]
) -> None:
    """A process with ``n`` websocket clients; reports latencies and errors when ``stop`` is set."""

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {"latencies": [], "ready": 0, "errors": [], "frames": 0}
        tasks = [asyncio.create_task(_client(url, token, measure_from_ms, stop, out)) for _ in range(n)]
        while out["ready"] < n and not any(t.done() for t in tasks):  # noqa: ASYNC110 - counting clients
            await asyncio.sleep(0.05)
        ready.put(out["ready"])
        done = await asyncio.gather(*tasks, return_exceptions=True)
        out["errors"] = [repr(d) for d in done if isinstance(d, BaseException)]
        return out

    try:  # uvicorn[standard] brings uvloop; the clients use it too when it is there
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        out = runner.run(main())
    results.put({"latencies": out["latencies"], "errors": out["errors"], "frames": out["frames"]})


async def publish(kafka: Any, seconds: float, measure_from: Any, warmup_s: float) -> int:
    """Features for every patient once per second, 10 ticks a second; returns how many were measured."""
    measured = 0
    async with EventProducer(kafka) as producer:
        started = time.monotonic()
        t_s = int(time.time())
        tick = 0
        per_tick = PATIENTS // TICKS_PER_S
        while (elapsed := time.monotonic() - started) < seconds:
            if elapsed >= warmup_s and not measure_from.value:
                measure_from.value = float(int(time.time() * 1000))  # record timestamps are whole ms
            second, slot = divmod(tick, TICKS_PER_S)
            batch = [
                ev.features(f"sim-{p + 1:03d}", second, t_s=t_s) for p in range(slot * per_tick, (slot + 1) * per_tick)
            ]
            await producer.send_many(batch)
            if measure_from.value:
                measured += len(batch)
            tick += 1
            await asyncio.sleep(max(0.0, started + tick / TICKS_PER_S - time.monotonic()))
    return measured


def run_round(api: Any, clients: int, seconds: float, warmup_s: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    measure_from = ctx.Value("d", 0.0)
    ready: Queue[int] = ctx.Queue()
    results: Queue[Any] = ctx.Queue()
    stop = ctx.Event()
    url = api.base_url.replace("http://", "ws://") + "/api/v1/live"
    processes = min(CLIENT_PROCESSES, clients)
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    workers = [
        ctx.Process(target=client_worker, args=(url, api.tokens["nurse"], share, measure_from, ready, stop, results))
        for share in shares
    ]
    for w in workers:
        w.start()
    connected = sum(ready.get(timeout=120) for _ in workers)
    if connected != clients:
        stop.set()
        raise RuntimeError(f"only {connected} of {clients} clients subscribed")
    api_pid = api.process.proc.pid
    cpu_before, wall_before = common.proc_cpu_seconds(api_pid), time.monotonic()
    clients_cpu_before = sum(common.proc_cpu_seconds(w.pid or 0) or 0.0 for w in workers)
    measured = asyncio.run(publish(api.kafka, warmup_s + seconds, measure_from, warmup_s))
    cpu_after, wall_after = common.proc_cpu_seconds(api_pid), time.monotonic()
    clients_cpu = sum(common.proc_cpu_seconds(w.pid or 0) or 0.0 for w in workers) - clients_cpu_before
    time.sleep(2.0)  # let the last messages arrive
    stop.set()
    outs = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    latencies = [x for o in outs for x in o["latencies"]]
    errors = [e for o in outs for e in o["errors"]]
    frames = sum(o["frames"] for o in outs)
    return {
        "clients": clients,
        "published_measured": measured,
        "deliveries": len(latencies),
        "frames_per_client_per_s": round(frames / clients / (wall_after - wall_before), 1),
        "expected_deliveries": measured * clients,
        "errors": errors,
        "latency_ms": common.summarize(latencies),
        "client_processes_cpu_cores": round(clients_cpu / (wall_after - wall_before), 3),
        "api_cpu_cores": None
        if cpu_before is None or cpu_after is None
        else round((cpu_after - cpu_before) / (wall_after - wall_before), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seconds, warmup = (10.0, 3.0) if args.quick else (60.0, 5.0)
    stack = StackEnv(read_env())
    cpu_before = common.system_cpu_times()
    with tempfile.TemporaryDirectory() as work, api_under_test(stack, Path(work), patients=PATIENTS) as api:
        single = run_round(api, 1, seconds / 2, warmup)
        fanout = run_round(api, CLIENTS, seconds, warmup)
    busy = common.system_busy_fraction(cpu_before, common.system_cpu_times())
    p99 = fanout["latency_ms"]["p99"]
    coverage = fanout["deliveries"] / fanout["expected_deliveries"] if fanout["expected_deliveries"] else 0.0
    checks = [
        common.check("p99 delivery latency (ms)", p99, TARGET_P99_MS, p99 is not None and p99 <= TARGET_P99_MS),
        common.check("deliveries / expected", round(coverage, 4), 1.0, coverage >= 0.999),
        common.check("client errors or drops", len(fanout["errors"]), 0, not fanout["errors"]),
    ]
    single_p99 = single["latency_ms"]["p99"]
    result = common.envelope(
        "ws",
        title="Websocket fan-out: 200 clients x 50 patients at 1 Hz, Kafka append to client receipt",
        quick=args.quick,
        figures={
            "clients": CLIENTS,
            "patients": PATIENTS,
            "p50_ms": fanout["latency_ms"]["p50"],
            "p99_ms": p99,
            "max_ms": fanout["latency_ms"]["max"],
            "deliveries": fanout["deliveries"],
            "deliveries_per_s": round(fanout["deliveries"] / seconds),
            "api_cpu_cores": fanout["api_cpu_cores"],
            "measured_s": seconds,
        },
        baseline={"clients": 1, "p50_ms": single["latency_ms"]["p50"], "p99_ms": single_p99},
        ratio=None if not single_p99 or p99 is None else round(p99 / single_p99, 2),
        target={"p99_ms_max": TARGET_P99_MS, "delivered_min": 0.999},
        passed=common.overall_pass(checks),
        checks=checks,
        command="python -m bench.bench_ws" + (" --quick" if args.quick else ""),
        notes=[
            "latency = client receive time - Kafka record timestamp (CreateTime, set at produce): producer "
            "linger, broker, the hub's fetch, fan-out and the websocket are all inside",
            f"clients in {CLIENT_PROCESSES} processes on the same machine as the API, Kafka and PostgreSQL",
            "baseline: one client in the same run; the ratio is p99(200 clients) / p99(1 client)",
            f"machine busy {busy:.0%} of all cores during the run" if busy is not None else "machine load unknown",
        ],
        details={"fanout": fanout | {"errors": fanout["errors"][:10]}, "single": single},
    )
    out = common.write_result(result)
    print(f"p99 {p99} ms (1 client: {single_p99} ms), deliveries {coverage:.2%} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
