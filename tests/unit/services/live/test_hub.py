"""Fan-out rules: each subscriber sees only what it may, and a slow one is dropped, never waited for."""

from __future__ import annotations

import json

from ingest.kafka_config import KafkaSettings
from services.live.hub import LiveEvent, LiveHub, frame


def event(pid: str, n: int) -> LiveEvent:
    return LiveEvent(f"features.v1:0:{n}", "features", pid, json.dumps({"patient_id": pid, "n": n}).encode(), n)


def hub(queue: int = 4) -> LiveHub:
    return LiveHub(KafkaSettings(bootstrap="127.0.0.1:1"), queue_size=queue)


async def test_subscribers_see_only_their_patients() -> None:
    h = hub()
    mine = h.subscribe({"p1"}.__contains__)
    clinic = h.subscribe({"p1", "p2"}.__contains__)
    h.publish([event("p1", 1), event("p2", 2), event("p3", 3)])
    assert [e.patient_id for e in mine.queue.get_nowait()] == ["p1"]
    assert [e.patient_id for e in clinic.queue.get_nowait()] == ["p1", "p2"]
    assert [e.patient_id for e in h.snapshot({"p2", "p3"}.__contains__)] == ["p2", "p3"]


async def test_a_slow_subscriber_is_dropped_and_others_keep_receiving() -> None:
    h = hub(queue=2)
    slow = h.subscribe(lambda _pid: True)
    fast = h.subscribe(lambda _pid: True)
    for n in range(5):
        h.publish([event("p1", n)])
        fast.queue.get_nowait()
    assert slow.overrun and slow.closed.is_set()
    assert not fast.overrun


def test_frame_embeds_the_original_json() -> None:
    text = frame("delta", [event("p1", 7)])
    parsed = json.loads(text)
    assert parsed["type"] == "delta" and parsed["events"][0]["data"] == {"patient_id": "p1", "n": 7}
    assert parsed["events"][0]["id"] == "features.v1:0:7"
