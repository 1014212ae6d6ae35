"""Fan-out rules: each subscriber sees only what it may, a slow one is dropped, and resuming never loses or
repeats an event."""

from __future__ import annotations

import json

import pytest

from ingest.kafka_config import KafkaSettings
from services.live import hub as hub_module
from services.live.cursor import decode_cursor
from services.live.hub import LiveEvent, LiveHub, frame


def event(pid: str, n: int, partition: int = 0, kind: str = "features") -> LiveEvent:
    return LiveEvent(f"features.v1:{partition}:{n}", kind, pid, json.dumps({"patient_id": pid, "n": n}).encode(), n)


def hub(queue: int = 4, replay: int = 100) -> LiveHub:
    return LiveHub(KafkaSettings(bootstrap="127.0.0.1:1"), queue_size=queue, replay_per_partition=replay)


def received(sub_queue: object) -> list[int]:
    out = []
    while not sub_queue.empty():  # type: ignore[attr-defined]
        out += [e.offset for e in sub_queue.get_nowait().events]  # type: ignore[attr-defined]
    return out


async def test_subscribers_see_only_their_patients() -> None:
    h = hub()
    mine = h.subscribe({"p1"}.__contains__)
    clinic = h.subscribe({"p1", "p2"}.__contains__)
    h.publish([event("p1", 1), event("p2", 2), event("p3", 3)])
    delivery = mine.queue.get_nowait()
    assert [e.patient_id for e in delivery.events] == ["p1"]
    assert "p2" not in delivery.text and '"type":"delta"' in delivery.text
    assert [e.patient_id for e in clinic.queue.get_nowait().events] == ["p1", "p2"]
    assert [e.patient_id for e in h.snapshot({"p2", "p3"}.__contains__)] == ["p2", "p3"]


async def test_identical_selections_share_one_encoded_frame() -> None:
    h = hub()
    a, b = h.subscribe({"p1"}.__contains__), h.subscribe({"p1"}.__contains__)
    h.publish([event("p1", 1)])
    assert a.queue.get_nowait() is b.queue.get_nowait()


async def test_a_slow_subscriber_is_dropped_and_others_keep_receiving() -> None:
    h = hub(queue=2)
    slow = h.subscribe(lambda _pid: True)
    fast = h.subscribe(lambda _pid: True)
    for n in range(5):
        h.publish([event("p1", n)])
        fast.queue.get_nowait()
    assert slow.overrun and slow.closed.is_set()
    assert not fast.overrun


async def test_resume_replays_exactly_the_missed_events() -> None:
    h = hub()
    first = h.subscribe({"p1"}.__contains__)
    h.publish([event("p1", 0), event("p2", 1), event("p1", 2, partition=1)], {"features.v1:0": 2, "features.v1:1": 3})
    cursor = json.loads(first.queue.get_nowait().text)["cursor"]
    h.unsubscribe(first)
    h.publish([event("p1", 2), event("p2", 3), event("p1", 3, partition=1)])  # missed while away
    resumed = h.resume({"p1"}.__contains__, decode_cursor(cursor))
    assert resumed is not None
    sub, missed, after = resumed
    assert [(e.tp, e.offset) for e in missed] == [("features.v1:0", 2), ("features.v1:1", 3)]
    assert decode_cursor(after) == {"features.v1:0": 4, "features.v1:1": 4}
    h.publish([event("p1", 4)])
    assert received(sub.queue) == [4]


async def test_a_cursor_older_than_the_buffer_is_a_gap() -> None:
    h = hub(replay=3)
    h.publish([event("p1", n) for n in range(3)])
    old = h.positions()
    h.publish([event("p1", n) for n in range(3, 10)])
    assert h.resume(lambda _pid: True, old) is None
    assert h.resume(lambda _pid: True, {**h.positions(), "features.v1:0": 7}) is not None
    assert h.resume(lambda _pid: True, {}) is None  # a cursor that lacks a partition cannot prove no gap


async def test_a_client_ahead_of_this_replica_gets_nothing_twice() -> None:
    h = hub()
    h.publish([event("p1", 0)])
    resumed = h.resume(lambda _pid: True, {"features.v1:0": 3})  # another replica already sent offsets 0..2
    assert resumed is not None
    sub, missed, _ = resumed
    assert missed == []
    h.publish([event("p1", n) for n in range(1, 5)])
    assert received(sub.queue) == [3, 4]


def test_frame_embeds_the_original_json_and_the_cursor() -> None:
    text = frame("delta", [event("p1", 7)], cursor="c1.x")
    parsed = json.loads(text)
    assert parsed["type"] == "delta" and parsed["events"][0]["data"] == {"patient_id": "p1", "n": 7}
    assert parsed["events"][0]["id"] == "features.v1:0:7" and parsed["cursor"] == "c1.x"


class _MetadataLate:
    """A consumer whose metadata lists the topic only after ``updates`` forced updates (leaders being elected)."""

    def __init__(self, updates: int | None) -> None:
        self.updates_needed = updates
        self.updates = 0
        self._client = self

    async def force_metadata_update(self) -> bool:
        self.updates += 1
        return True

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        ready = self.updates_needed is not None and self.updates >= self.updates_needed
        return {0, 1, 2} if ready else None


async def test_start_waits_for_a_new_topic_to_get_its_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "METADATA_RETRY_S", 0.001)
    h = hub()
    h._consumer = _MetadataLate(updates=3)  # type: ignore[assignment]
    assert await h._partitions_of("alertstate.v1") == {0, 1, 2}
    assert h._consumer.updates == 3  # type: ignore[attr-defined]


async def test_start_refuses_a_topic_that_never_gets_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "METADATA_RETRY_S", 0.001)
    monkeypatch.setattr(hub_module, "METADATA_WAIT_S", 0.05)
    h = hub()
    h._consumer = _MetadataLate(updates=None)  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match=r"'alertstate\.v1' has no partitions after"):
        await h._partitions_of("alertstate.v1")
