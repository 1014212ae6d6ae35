"""ShardCore: the exchange of a pass (begin -> need -> supply -> finish), outputs, dead letters and states."""

from __future__ import annotations

from analytics.events import FeaturesV1, SessionV1
from analytics.stream.bundle import bundled, encode_bundle
from analytics.stream.runtime import NS
from analytics.stream.shard import (
    FEATURES,
    SESSIONS,
    Bundles,
    ShardCore,
    Stored,
    Ticks,
    decode_reply,
    decode_request,
    encode_message,
)
from ingest.events import SensorHrV1
from ingest.wire import decode, encode
from tests.unit.analytics.stream.conftest import prescription, readings
from tests.unit.analytics.stream.test_agents import SourceRecord


class Clock:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.mono = 100.0

    def ns(self) -> int:
        return self.now_ns

    def monotonic(self) -> float:
        return self.mono


def bundle_of(rs: list[SensorHrV1], first_offset: int = 0, partition: int = 3) -> bytes:
    records = [SourceRecord(first_offset + i, 1_000 + i, r.partition_key(), encode(r)) for i, r in enumerate(rs)]
    return encode_bundle(partition, [bundled(r) for r in records])


def core_at(rs: list[SensorHrV1], persist_interval_s: float = 5.0) -> tuple[ShardCore, Clock]:
    clock = Clock(rs[0].gateway_time_ns + NS // 10)
    return ShardCore(persist_interval_s, clock_ns=clock.ns, clock_mono=clock.monotonic), clock


def test_a_pass_asks_for_the_patients_it_does_not_hold_then_folds_their_readings_in_order() -> None:
    rs = readings("rehab_session", 6)
    core, _ = core_at(rs)
    request = Bundles([(0, 3, bundle_of(rs[:3])), (1, 3, bundle_of(rs[3:], first_offset=3))])
    assert core.begin(request) == [b"sim-001"]
    core.supply([Stored(b"sim-001", None, encode(prescription()))])
    done = core.finish()
    features = [decode(FeaturesV1, v) for kind, _, v in done.outputs if kind == FEATURES]
    assert [f.t_s for f in features] == [r.gateway_time_ns // NS for r in rs]
    assert features[0].band_high_bpm == prescription().intensity_high * 90 + 70  # the supplied prescription
    assert [decode(SessionV1, v).event for kind, _, v in done.outputs if kind == SESSIONS] == ["start"]
    assert [(t.key, t.partition, t.events, t.in_session) for t in done.touched] == [(b"sim-001", 3, [0, 1], True)]
    assert done.touched[0].state is not None  # a session started: stored at once
    assert done.newest_ms == 1_000 + len(rs[3:]) - 1 and not done.rejected and not done.bad_bundles

    # held now: nothing needed; a replay (a new owner bundling again) emits nothing and touches nobody
    again = core.handle(Bundles([(0, 3, bundle_of(rs))]), lambda keys: [])
    assert again.outputs == [] and again.touched == []


def test_a_state_is_handed_over_when_due_and_a_new_shard_continues_from_it() -> None:
    rs = readings("rehab_session", 12)
    core, clock = core_at(rs, persist_interval_s=5.0)
    rx = encode(prescription())
    first = core.handle(Bundles([(0, 3, bundle_of(rs[:2]))]), lambda keys: [Stored(k, None, rx) for k in keys])
    stored = first.touched[0].state
    assert stored is not None
    clock.mono += 1.0
    quiet = core.handle(Bundles([(0, 3, bundle_of(rs[2:4], 2))]), lambda keys: [])
    assert quiet.touched[0].state is None  # not due yet, no alert or session event
    clock.mono += 5.0
    due = core.handle(Bundles([(0, 3, bundle_of(rs[4:6], 4))]), lambda keys: [])
    later = due.touched[0].state
    assert later is not None

    fresh, _ = core_at(rs)
    done = fresh.handle(Bundles([(0, 3, bundle_of(rs[:8]))]), lambda keys: [Stored(k, later, rx) for k in keys])
    emitted = [decode(FeaturesV1, v).t_s for kind, _, v in done.outputs if kind == FEATURES]
    assert emitted == [r.gateway_time_ns // NS for r in rs[6:8]]  # the stored state already had the first six


def test_bad_bundles_and_records_come_back_to_be_dead_lettered() -> None:
    rs = readings("rehab_session", 4)
    core, _ = core_at(rs)
    bad = SourceRecord(7, 5, b"sim-001", b'{"patient_id": 5}')
    mixed = encode_bundle(
        3, [bundled(bad), *(bundled(SourceRecord(8 + i, 6, b"sim-001", encode(r))) for i, r in enumerate(rs))]
    )
    done = core.handle(
        Bundles([(0, 3, b"CRB2\xc1"), (1, 3, mixed)]), lambda keys: [Stored(k, None, None) for k in keys]
    )
    assert len(done.bad_bundles) == 1 and done.bad_bundles[0][0] == 0
    assert done.bad_bundles[0][1].startswith("not a sensor bundle: ")
    assert [(r.partition, r.offset, r.key, r.value) for r in done.rejected] == [(3, 7, b"sim-001", bad.value)]
    assert sum(1 for kind, _, _ in done.outputs if kind == FEATURES) == len(rs)  # the rest goes on
    assert done.touched[0].events == [1]


def test_prescription_updates_and_lost_partitions_go_before_the_readings() -> None:
    rs = readings("rehab_session", 6)
    core, _ = core_at(rs)
    core.handle(
        Bundles([(0, 3, bundle_of(rs[:2]))]), lambda keys: [Stored(k, None, encode(prescription())) for k in keys]
    )
    update = encode(prescription(version=4, ceiling_bpm=125.0))
    done = core.handle(Bundles([(0, 3, bundle_of(rs[2:3], 2))], rx_updates=[(b"sim-001", update)]), lambda k: [])
    assert decode(FeaturesV1, done.outputs[0][2]).prescription_version == 4
    asked: list[bytes] = []

    def load(keys: list[bytes]) -> list[Stored]:
        asked.extend(keys)
        return [Stored(k, None, None) for k in keys]

    core.handle(Bundles([(0, 3, bundle_of(rs[3:], 3))], drop=[3]), load)
    assert asked == [b"sim-001"]  # forgotten with its partition, loaded again from the table


def test_ticks_for_a_patient_never_seen_emit_nothing_and_report_no_session() -> None:
    rs = readings("rehab_session", 3)
    core, _ = core_at(rs)
    done = core.handle(Ticks([(b"sim-009", 4)]), lambda keys: [Stored(k, None, None) for k in keys])
    assert done.outputs == [] and [(t.key, t.partition, t.in_session) for t in done.touched] == [(b"sim-009", 4, False)]


def test_messages_round_trip_through_msgpack() -> None:
    request = Bundles([(0, 1, b"x")], rx_updates=[(b"k", b"v")], drop=[2])
    assert decode_request(encode_message(request)) == request
    done = core_at(readings("rehab_session", 3))[0].handle(Ticks([]), lambda keys: [])
    assert decode_reply(encode_message(done)) == done
