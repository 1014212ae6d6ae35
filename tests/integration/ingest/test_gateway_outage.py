"""Kafka unreachable while the gateway streams: a real outage for the real client, through a TCP proxy."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.gateway import BackoffPolicy, DeadLetterDraft, Gateway, GatewaySettings, GatewayState, ReadingBuffer
from ingest.gateway.forwarder import Forwarder
from ingest.gateway.service import buffer_limits
from ingest.kafka_config import KafkaSettings
from tests.integration.ingest.readback import assert_exactly_once, read_back, sent_frames, sent_hr
from tests.sim.bumble_backend import SimRadio
from tests.sim.kafka_proxy import KafkaProxy
from tests.sim.util import eventually
from tests.sim.virtual_h10 import VirtualPolarH10

log = logging.getLogger(__name__)

OUTAGE_S = 60.0


@pytest.mark.integration
@pytest.mark.timeout(OUTAGE_S + 180)
async def test_a_60_s_kafka_outage_loses_and_duplicates_nothing(
    gateway_topics: KafkaSettings, make_settings: Callable[..., GatewaySettings]
) -> None:
    proxy = KafkaProxy(gateway_topics.bootstrap)
    await proxy.start()
    through_proxy = gateway_topics.model_copy(update={"bootstrap": proxy.bootstrap})
    settings = make_settings(acc_enabled=True)
    radio = SimRadio()
    h10 = VirtualPolarH10(radio, hr_interval_s=0.1, time_scale=2.0)
    try:
        async with h10:
            scanner, client = radio.backends()
            buffer = ReadingBuffer(settings.buffer_path, patient_id=settings.patient_id, limits=buffer_limits(settings))
            async with buffer:
                forwarder = Forwarder(buffer, through_proxy, policy=settings.forward_backoff)
                async with forwarder:
                    gateway = Gateway(settings, buffer, scanner_backend=scanner, client_backend=client)
                    async with gateway:
                        await eventually(lambda: forwarder.stats.batches >= 5, within_s=30)
                        assert proxy.rewritten_metadata >= 1  # the client really talks through the proxy
                        forwarded_before = sum(forwarder.stats.forwarded.values())
                        await proxy.close()
                        outage_start = time.monotonic()
                        peak_rows = 0
                        while time.monotonic() - outage_start < OUTAGE_S:
                            await asyncio.sleep(1.0)
                            peak_rows = max(peak_rows, (await buffer.stats()).rows)
                        forwarded_during = sum(forwarder.stats.forwarded.values()) - forwarded_before
                        assert gateway.state is GatewayState.STREAMING  # BLE never noticed
                        await proxy.reopen()
                        await eventually(
                            lambda: sum(forwarder.stats.forwarded.values()) > forwarded_before, within_s=60
                        )
                        await h10.quiesce()
                    assert await forwarder.drain(90.0)
            await radio.close()
    finally:
        await proxy.close()

    hr = await read_back(gateway_topics, SensorHrV1)
    ecg = await read_back(gateway_topics, SensorEcgV1)
    acc = await read_back(gateway_topics, SensorAccV1)
    for delivered in (hr, ecg, acc):
        assert_exactly_once(delivered)
    assert [(e.hr_bpm, e.rr_ms) for e in hr.events] == sent_hr(h10)
    assert [(e.device_time_ns, e.samples_uv) for e in ecg.events] == sent_frames(h10, "ecg")
    assert [(e.device_time_ns, e.samples_mg) for e in acc.events] == sent_frames(h10, "acc")
    assert forwarded_during <= settings.forward_batch_rows  # at most the batch in flight when the proxy closed
    assert peak_rows > 100  # readings piled up in the buffer during the outage
    # Buffered readings keep the time they were taken, not the time they were forwarded.
    assert max(e.gateway_time_ns for e in hr.events) - min(e.gateway_time_ns for e in hr.events) > OUTAGE_S * 1e9
    log.warning(
        "outage: %.0f s; strap sent hr=%d ecg=%d acc=%d; Kafka got hr=%d ecg=%d acc=%d; peak buffered rows=%d; "
        "forwarded during outage=%d; longest send=%.1f s; forwarder failures=%d reconciles=%d already_in_kafka=%d; "
        "proxy connections=%d",
        OUTAGE_S,
        len(sent_hr(h10)),
        len(sent_frames(h10, "ecg")),
        len(sent_frames(h10, "acc")),
        len(hr.events),
        len(ecg.events),
        len(acc.events),
        peak_rows,
        forwarded_during,
        forwarder.stats.longest_send_s,
        forwarder.stats.failures,
        forwarder.stats.reconciles,
        forwarder.stats.already_in_kafka,
        proxy.connections,
    )


@pytest.mark.integration
@pytest.mark.timeout(120)
async def test_a_forwarder_started_during_an_outage_backs_off_then_delivers_once(
    gateway_topics: KafkaSettings, make_settings: Callable[..., GatewaySettings]
) -> None:
    proxy = KafkaProxy(gateway_topics.bootstrap)
    await proxy.start()
    await proxy.close()  # Kafka is unreachable from the start
    through_proxy = gateway_topics.model_copy(update={"bootstrap": proxy.bootstrap})
    settings = make_settings()
    buffer = ReadingBuffer(settings.buffer_path, patient_id=settings.patient_id, limits=buffer_limits(settings))
    try:
        async with buffer:
            first = await buffer.next_seq("strap-x")
            for i in range(300):
                buffer.submit(
                    SensorHrV1(
                        patient_id=settings.patient_id, device_id="strap-x", seq=first + i, gateway_time_ns=i, hr_bpm=70
                    )
                )
            buffer.submit(DeadLetterDraft("ble:strap-x/hrm", "truncated", 1, b"\x10"))
            await buffer.flush()
            forwarder = Forwarder(buffer, through_proxy, policy=BackoffPolicy(initial_s=0.2, max_s=1.0))
            async with forwarder:
                await eventually(lambda: forwarder.stats.failures >= 3, within_s=30)
                assert forwarder.stats.forwarded == {}
                await proxy.reopen()
                assert await forwarder.drain(60.0)
    finally:
        await proxy.close()
    hr = await read_back(gateway_topics, SensorHrV1)
    dead = await read_back(gateway_topics, DeadLetterV1)
    assert_exactly_once(hr)
    assert [e.seq for e in hr.events] == list(range(first, first + 300))
    assert len(dead.events) == 1
    assert len((await read_back(gateway_topics, SensorEcgV1)).events) == 0
    log.warning(
        "startup outage: forwarder failures before the proxy opened=%d, forwarded=%s",
        forwarder.stats.failures,
        dict(forwarder.stats.forwarded),
    )
