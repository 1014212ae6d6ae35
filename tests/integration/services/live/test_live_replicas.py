"""Issue 6, live: two real API replicas on one database and one set of topics.

- an alert raised by the engine (alerts.v1, stored by the real sink) reaches nurses on both replicas, and an
  acknowledgement made through replica B reaches the nurse watching replica A (alertstate.v1);
- a new subscriber's snapshot holds the latest features and the active alert with its shared state;
- a client that drops and resumes on the *other* replica with its last cursor gets exactly the missed events;
- a cursor older than the replay buffer gets an explicit gap frame, then a fresh snapshot;
- websockets refuse unauthenticated and out-of-scope subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from ingest.kafka_config import KafkaSettings
from ingest.producer import EventProducer
from ingest.topics_admin import ensure_topics
from services.sink.runner import Sink
from services.sink.settings import SinkSettings
from services.sink.tables import ALL_TABLES
from tests.integration.services import events_factory as ev
from tests.integration.services.api_server import ApiUnderTest, api_under_test
from tests.support.stack import StackEnv, unique

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPLAY = 16  # events kept per partition by each replica (small, so a gap is easy to provoke)


@pytest.fixture(scope="module")
def api(stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnderTest]:
    work: Path = tmp_path_factory.mktemp("live")
    with api_under_test(
        stack, work, replicas=2, partitions=2, CARDIO_API_LIVE_REPLAY_PER_PARTITION=str(REPLAY)
    ) as running:
        yield running


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/api/v1/live"


class LiveClient:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def next_frame(self, timeout_s: float = 10.0) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout_s))
        self.frames.append(frame)
        return frame

    async def until(self, predicate: Any, timeout_s: float = 20.0) -> dict[str, Any]:
        """Read frames until one holds an event matching ``predicate``; returns that event."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no matching event within {timeout_s} s; frames: {[f['type'] for f in self.frames]}"
            frame = await self.next_frame(remaining)
            for event in frame.get("events", []):
                if predicate(event):
                    return event  # type: ignore[no-any-return]

    async def collect(self, kind: str, n: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """Read frames until ``n`` live (delta) events of ``kind`` arrived (counting those already read)."""
        deadline = time.monotonic() + timeout_s
        while (
            len(found := [e for f in self.frames if f["type"] == "delta" for e in f["events"] if e["kind"] == kind]) < n
        ):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(found)} of {n} {kind} events within {timeout_s} s"
            await self.next_frame(remaining)
        return found

    @property
    def cursor(self) -> str:
        return next(f["cursor"] for f in reversed(self.frames) if "cursor" in f)


@contextlib.asynccontextmanager
async def live(base: str, token: str, subscribe: dict[str, Any]) -> AsyncIterator[LiveClient]:
    async with websockets.connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", **subscribe}))
        yield LiveClient(ws)


async def run_sink(kafka: KafkaSettings, db_url: str, producer: EventProducer) -> tuple[Sink, asyncio.Task[None]]:
    sink = Sink(SinkSettings(group_id=unique("live-sink-"), batch_wait_ms=50), kafka, db_url, producer)
    await sink.start()
    return sink, asyncio.create_task(sink.run())


async def test_alerts_and_acknowledgements_reach_every_nurse_on_every_replica(api: ApiUnderTest) -> None:
    replica_a, replica_b = api.replicas
    await ensure_topics(api.kafka, [spec.event_type for spec in ALL_TABLES])
    async with EventProducer(api.kafka) as producer:
        sink, sink_task = await run_sink(api.kafka, api.db_url, producer)
        try:
            async with (
                live(replica_a, api.tokens["nurse"], {"scope": "clinic"}) as nurse_a,
                live(replica_b, api.tokens["charge_nurse"], {"scope": "clinic"}) as nurse_b,
            ):
                assert (await nurse_a.next_frame())["type"] == "snapshot"
                assert (await nurse_b.next_frame())["type"] == "snapshot"
                await producer.send(ev.features("sim-001", 0, t_s=int(time.time())))
                await producer.send(ev.alert("sim-001", "live-a1", 0, event="raised", t_ns=time.time_ns()))
                for client in (nurse_a, nurse_b):
                    raised = await client.until(lambda e: e["kind"] == "alert")
                    assert raised["data"]["alert_id"] == "live-a1" and raised["data"]["event"] == "raised"

                async with httpx.AsyncClient(base_url=replica_b) as http:
                    deadline = time.monotonic() + 20
                    while True:  # the sink stores the alert moments after it was published
                        ack = await http.post(
                            "/api/v1/alerts/live-a1/acknowledge",
                            json={"note": "on it"},
                            headers=api.headers("charge_nurse"),
                        )
                        if ack.status_code != 404 or time.monotonic() > deadline:
                            break
                        await asyncio.sleep(0.2)
                assert ack.status_code == 200, ack.text
                for client in (nurse_a, nurse_b):
                    state = await client.until(lambda e: e["kind"] == "alert_state")
                    assert state["data"]["action"] == "acknowledged"
                    assert state["data"]["acknowledged_by_name"] == "Charge Nurse Chen Wei"
                    assert state["id"].startswith("alertstate.v1:")

            # a newcomer's snapshot: the latest features and the active alert, acknowledged
            async with live(replica_a, api.tokens["nurse"], {"scope": "clinic"}) as newcomer:
                snapshot = await newcomer.next_frame()
            kinds = {(e["kind"], e["data"].get("alert_id") or e["data"]["patient_id"]) for e in snapshot["events"]}
            assert ("features", "sim-001") in kinds and ("alert_state", "live-a1") in kinds, kinds
            stored = next(e for e in snapshot["events"] if e["kind"] == "alert_state")
            assert stored["data"]["acknowledged_by_name"] == "Charge Nurse Chen Wei"
        finally:
            sink_task.cancel()
            await asyncio.gather(sink_task, return_exceptions=True)
            await sink.stop()


async def test_resume_on_the_other_replica_gets_exactly_the_missed_events(api: ApiUnderTest) -> None:
    replica_a, replica_b = api.replicas
    t0 = int(time.time()) + 1000
    async with EventProducer(api.kafka) as producer:
        async with live(replica_a, api.tokens["patient"], {"patient_id": "sim-001"}) as first:
            await first.next_frame()
            await producer.send_many([ev.features("sim-001", s, t_s=t0) for s in range(3)])
            seen = {e["data"]["t_s"] for e in await first.collect("features", 3)}
            cursor = first.cursor
        assert seen == {t0, t0 + 1, t0 + 2}
        # while disconnected: five more seconds of features (and another patient's, which must not appear)
        await producer.send_many([ev.features("sim-001", s, t_s=t0) for s in range(3, 8)])
        await producer.send_many([ev.features("sim-002", s, t_s=t0) for s in range(3)])
        await asyncio.sleep(1.0)  # let both replicas' hubs read them
        async with live(replica_b, api.tokens["patient"], {"patient_id": "sim-001", "resume": cursor}) as resumed:
            frame = await resumed.next_frame()
            await producer.send(ev.features("sim-001", 8, t_s=t0))
            after = await resumed.until(lambda e: e["kind"] == "features")
    assert frame["type"] == "resume", frame
    missed = [e["data"]["t_s"] - t0 for e in frame["events"] if e["kind"] == "features"]
    assert missed == [3, 4, 5, 6, 7], f"resume must replay exactly the missed seconds, got {missed}"
    assert {e["data"]["patient_id"] for e in frame["events"]} == {"sim-001"}
    assert after["data"]["t_s"] - t0 == 8


async def test_a_cursor_older_than_the_replay_buffer_gets_a_gap_then_a_snapshot(api: ApiUnderTest) -> None:
    t0 = int(time.time()) + 5000
    async with EventProducer(api.kafka) as producer:
        async with live(api.replicas[0], api.tokens["nurse"], {"patient_id": "sim-003"}) as first:
            await first.next_frame()
            await producer.send(ev.features("sim-003", 0, t_s=t0))
            await first.until(lambda e: e["kind"] == "features")
            cursor = first.cursor
        await producer.send_many([ev.features("sim-003", s, t_s=t0) for s in range(1, 3 * REPLAY)])
        await asyncio.sleep(1.0)
        async with live(api.replicas[1], api.tokens["nurse"], {"patient_id": "sim-003", "resume": cursor}) as late:
            gap = await late.next_frame()
            snapshot = await late.next_frame()
    assert gap["type"] == "gap" and "reload" in gap["detail"]
    assert snapshot["type"] == "snapshot"
    latest = [e["data"]["t_s"] - t0 for e in snapshot["events"] if e["kind"] == "features"]
    assert latest == [3 * REPLAY - 1]


@pytest.mark.parametrize(
    ("role", "subscribe", "code"),
    [
        ("bad-token", {"scope": "clinic"}, 4401),
        ("patient", {"scope": "clinic"}, 4403),
        ("patient", {"patient_id": "sim-002"}, 4403),
        ("nurse", {"patient_id": "other-001"}, 4403),
        ("nurse", {"scope": "clinic", "resume": "c1.garbage!"}, 4400),
        ("nurse", {"scope": "ward"}, 4400),
    ],
)
async def test_websocket_refuses_what_the_caller_may_not_see(
    api: ApiUnderTest, role: str, subscribe: dict[str, Any], code: int
) -> None:
    token = api.tokens.get(role, "not-a-token")
    async with websockets.connect(ws_url(api.base_url)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", **subscribe}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code, closed.value
