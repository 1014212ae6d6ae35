"""The gateway state machine over the simulated radio: real bleak API, real GATT, virtual straps with faults."""

from __future__ import annotations

import asyncio
import base64
import itertools
from pathlib import Path

import pytest

from ingest.events import DeadLetterV1, SensorAccV1, SensorEcgV1, SensorHrV1
from ingest.gateway import Gateway, GatewayState, ReadingBuffer
from ingest.gateway.buffer import BufferedRow
from ingest.gateway.errors import StrapNotFoundError
from ingest.gatt import BodySensorLocation, PmdMeasurementType
from ingest.pmd import PmdStatus, polar_to_unix_ns
from tests.sim.bumble_backend import SimRadio
from tests.sim.util import eventually
from tests.sim.virtual_h10 import VirtualPolarH10, ecg_samples
from tests.sim.virtual_strap import VirtualStrap
from tests.unit.ingest.gateway.support import LIMITS, SettingsFactory

pytestmark = pytest.mark.usefixtures("blockbuster")  # no blocking call on the event loop, anywhere below

ECG, ACC = PmdMeasurementType.ECG, PmdMeasurementType.ACC
STOP_ECG, STOP_ACC = b"\x03\x00", b"\x03\x02"


def is_start(write: bytes, measurement_type: PmdMeasurementType) -> bool:
    return write[:2] == bytes((2, measurement_type))


async def buffered(buffer: ReadingBuffer) -> list[BufferedRow]:
    await buffer.flush()
    rows = await buffer.peek(100_000)
    await buffer.release()
    return rows


def events(rows: list[BufferedRow], topic: str) -> list[object]:
    return [r.event() for r in rows if r.topic == topic]


async def test_streams_heart_rate_ecg_and_acc_from_an_h10(
    radio: SimRadio,
    h10: VirtualPolarH10,
    buffer: ReadingBuffer,
    make_settings: SettingsFactory,
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(acc_enabled=True), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.ecg_frames >= 3 and gateway.stats.acc_frames >= 3)
        assert gateway.state is GatewayState.STREAMING
        info = gateway.device_info
        assert info is not None
        assert (info.manufacturer, info.model, info.serial, info.firmware) == (
            "Polar Electro Oy",
            "H10",
            "1A2B3C4D",
            "3.1.1",
        )
        assert info.body_sensor_location is BodySensorLocation.CHEST
        assert info.battery_pct == 87
        assert info.mtu == 512
        assert info.streaming == {ECG, ACC}
        await h10.quiesce()
    # The control point was only written once its indications and the data notifications were on.
    assert h10.pmd_log.subscribed_at_write
    assert all(cp and data for cp, data in h10.pmd_log.subscribed_at_write)
    writes = h10.pmd_log.writes
    assert writes[:2] == [STOP_ECG, STOP_ACC]  # stop-on-connect comes first
    assert is_start(writes[2], ECG)
    assert is_start(writes[3], ACC)
    assert writes[-2:] == [STOP_ECG, STOP_ACC]  # and the exit stops both
    assert h10.streaming == frozenset()

    rows = await buffered(buffer)
    hr_events = events(rows, SensorHrV1.TOPIC)
    ecg_events = events(rows, SensorEcgV1.TOPIC)
    assert len(hr_events) == h10.count("hrm")
    assert len(ecg_events) == h10.count("ecg")
    assert len(events(rows, SensorAccV1.TOPIC)) == h10.count("acc")
    # One seq per reading, in arrival order, across the three streams.
    seqs = [r.ordinal for r in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [e.rr_ms for e in hr_events] == [((500 + i) * 1000 / 1024,) for i in range(len(hr_events))]  # type: ignore[attr-defined]
    assert all(e.battery_pct == 87 for e in hr_events)  # type: ignore[attr-defined]
    first_ecg = ecg_events[0]
    assert isinstance(first_ecg, SensorEcgV1)
    assert list(first_ecg.samples_uv) in [ecg_samples(i) for i in range(200)]
    # Both clocks: the strap's (2019, never set) and host time, one offset for the whole connection.
    offsets = {e.gateway_time_ns - e.device_time_ns for e in ecg_events + events(rows, SensorAccV1.TOPIC)}  # type: ignore[attr-defined]
    assert len(offsets) == 1
    assert first_ecg.device_time_ns < polar_to_unix_ns(h10.device_clock_polar_ns) + 3600 * 10**9


async def test_a_dropped_link_reconnects_and_stops_streams_before_restarting(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.ecg_frames >= 2)
        await h10.quiesce()  # see VirtualStrap.quiesce: an in-flight notification would be lost on any radio
        await h10.drop_link()
        h10.resume()
        await eventually(lambda: gateway.stats.connects == 2 and gateway.state is GatewayState.STREAMING)
        ecg_before = gateway.stats.ecg_frames
        await eventually(lambda: gateway.stats.ecg_frames >= ecg_before + 2)
        await h10.quiesce()
    assert gateway.stats.disconnects == 1
    assert h10.connections_seen == 2
    writes = h10.pmd_log.writes
    # Connect 1: stop, stop, start. Link lost (no stop possible). Connect 2: stop (the H10 kept streaming), ...
    assert writes[:3] == [STOP_ECG, STOP_ACC, writes[2]]
    assert is_start(writes[2], ECG)
    assert writes[3:6] == [STOP_ECG, STOP_ACC, writes[5]]
    assert is_start(writes[5], ECG)
    assert writes[6:] == [STOP_ECG]
    stop_answers = [r for r in h10.pmd_log.responses if r[1] == 3]
    assert stop_answers[2] == bytes((0xF0, 3, 0, 0, 0))  # the stream left running by the drop was really stopped
    assert h10.streaming == frozenset()
    # Nothing sent while connected was lost or doubled across the reconnect.
    rows = await buffered(buffer)
    hr_events = events(rows, SensorHrV1.TOPIC)
    assert [e.rr_ms for e in hr_events] == [((500 + i) * 1000 / 1024,) for i in range(h10.count("hrm"))]  # type: ignore[attr-defined]
    assert len(events(rows, SensorEcgV1.TOPIC)) == h10.count("ecg")
    offsets = [e.gateway_time_ns - e.device_time_ns for e in events(rows, SensorEcgV1.TOPIC)]  # type: ignore[attr-defined]
    assert len(set(offsets)) <= 2  # one anchor per connection


async def test_a_strap_that_stops_advertising_is_retried_with_backoff(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(
        make_settings(ecg_enabled=False, scan_timeout_s=0.3), buffer, scanner_backend=scanner, client_backend=client
    )
    async with gateway:
        await eventually(lambda: gateway.state is GatewayState.STREAMING)
        await h10.stop_advertising()
        await h10.drop_link()
        await eventually(lambda: gateway.stats.straps_not_found >= 2)
        assert isinstance(gateway.last_error, StrapNotFoundError)
        assert gateway.last_backoff_s is not None
        assert gateway.last_backoff_s <= 0.2  # reconnect_backoff_max_s
        await h10.start_advertising()
        await eventually(lambda: gateway.stats.connects == 2 and gateway.state is GatewayState.STREAMING)
        hr_before = gateway.stats.hr_readings
        await eventually(lambda: gateway.stats.hr_readings > hr_before)


async def test_a_late_control_point_answer_times_out_and_heart_rate_goes_on(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    h10.faults.cp_response_delay_s = 0.8  # the gateway waits 0.5 s
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.pmd_failures["start ECG: timeout"] == 1, within_s=8.0)
        hr_before = gateway.stats.hr_readings
        await eventually(lambda: gateway.stats.hr_readings >= hr_before + 5)
        assert gateway.state is GatewayState.STREAMING
        assert gateway.device_info is not None
        assert ECG not in gateway.device_info.streaming
        await eventually(lambda: gateway.stats.pmd_unexpected_responses >= 1)  # the late answers, ignored
    # After the START timed out the gateway sent STOP, so the strap does not stream unseen.
    start_index = next(i for i, w in enumerate(h10.pmd_log.writes) if is_start(w, ECG))
    assert STOP_ECG in h10.pmd_log.writes[start_index + 1 :]
    assert h10.streaming == frozenset()


async def test_status_10_invalid_mtu_from_a_small_link_mtu(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends(mtu=23)  # a platform that did not negotiate a large MTU
    gateway = Gateway(make_settings(acc_enabled=True), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(
            lambda: (
                gateway.stats.pmd_failures["start ECG: status 10"] == 1
                and gateway.stats.pmd_failures["start ACC: status 10"] == 1
            )
        )
        await eventually(lambda: gateway.stats.hr_readings >= 3)
        assert gateway.device_info is not None
        assert gateway.device_info.mtu == 23
        assert gateway.device_info.streaming == set()
    assert gateway.stats.ecg_frames == 0
    assert h10.streaming == frozenset()
    assert [r for r in h10.pmd_log.responses if r[1] == 2] == [
        bytes((0xF0, 2, 0, PmdStatus.INVALID_MTU)),
        bytes((0xF0, 2, 2, PmdStatus.INVALID_MTU)),
    ]


async def test_an_injected_error_status_disables_the_stream_for_the_connection(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    h10.faults.start_status = PmdStatus.INVALID_MTU
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.pmd_failures["start ECG: status 10"] == 1)
        await eventually(lambda: gateway.stats.hr_readings >= 3)
    assert gateway.stats.ecg_frames == 0


async def test_malformed_notifications_become_dead_letters_and_the_link_stays(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.ecg_frames >= 1)
        assert await h10.send_malformed_hrm()
        assert await h10.send_malformed_frame()
        await eventually(lambda: sum(gateway.stats.dead_letters.values()) == 2)
        ecg_before = gateway.stats.ecg_frames
        await eventually(lambda: gateway.stats.ecg_frames > ecg_before)
        assert gateway.stats.connects == 1
        await h10.quiesce()
    rows = await buffered(buffer)
    letters = [e for e in events(rows, DeadLetterV1.TOPIC) if isinstance(e, DeadLetterV1)]
    by_origin = {letter.origin.split("@")[0]: letter for letter in letters}
    device = gateway.device_info.device_id if gateway.device_info else ""
    hrm_letter = by_origin[f"ble:{device}/hrm"]
    assert "RR" in hrm_letter.reason
    assert base64.b64decode(hrm_letter.payload_b64 or "") == bytes((0x10, 72, 0x01))
    frame_letter = by_origin[f"ble:{device}/pmd-data"]
    assert "multiple of 3" in frame_letter.reason
    assert hrm_letter.key == "patient-1"
    # Good readings around them are unaffected: every well-formed notification is buffered.
    assert len(events(rows, SensorHrV1.TOPIC)) == h10.count("hrm", malformed=False)
    assert len(events(rows, SensorEcgV1.TOPIC)) == h10.count("ecg", malformed=False)


async def test_a_stream_the_strap_stops_by_itself_is_restarted(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.ecg_frames >= 1)
        await h10.stop_measurement_unsolicited(ECG)
        await eventually(lambda: gateway.stats.pmd_stopped_by_strap == 1)
        await eventually(lambda: ECG in h10.streaming, within_s=3.0)
        frames = gateway.stats.ecg_frames
        await eventually(lambda: gateway.stats.ecg_frames > frames)
    assert sum(1 for w in h10.pmd_log.writes if is_start(w, ECG)) == 2
    assert h10.streaming == frozenset()


async def test_a_plain_hrs_strap_streams_heart_rate_only(
    radio: SimRadio, hrs_strap: VirtualStrap, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(acc_enabled=True), buffer, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.hr_readings >= 5)
        assert gateway.device_info is not None
        assert gateway.device_info.pmd_types == frozenset()
        assert gateway.device_info.manufacturer == "Acme Sports"
        await hrs_strap.quiesce()
    assert gateway.stats.pmd_failures == {}
    rows = await buffered(buffer)
    assert {r.topic for r in rows} == {SensorHrV1.TOPIC}
    assert len(rows) == hrs_strap.count("hrm")


async def test_filters_select_the_patients_strap(
    radio: SimRadio,
    hrs_strap: VirtualStrap,
    h10: VirtualPolarH10,
    buffer: ReadingBuffer,
    make_settings: SettingsFactory,
) -> None:
    scanner, client = radio.backends()
    by_name = Gateway(
        make_settings(device_name="Polar H10", ecg_enabled=False),
        buffer,
        scanner_backend=scanner,
        client_backend=client,
    )
    async with by_name:
        await eventually(lambda: by_name.state is GatewayState.STREAMING)
        assert by_name.device_info is not None
        assert by_name.device_info.name == h10.name
    by_address = Gateway(
        make_settings(device_address=hrs_strap.address.to_string(False).lower(), device_id="strap-A"),
        buffer,
        scanner_backend=scanner,
        client_backend=client,
    )
    async with by_address:
        await eventually(lambda: by_address.stats.hr_readings >= 2)
        assert by_address.device_info is not None
        assert by_address.device_info.name == hrs_strap.name
    assert {r.device_id for r in await buffered(buffer)} >= {"strap-A"}


async def test_seq_continues_across_a_gateway_restart(
    radio: SimRadio, hrs_strap: VirtualStrap, tmp_path: Path, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    settings = make_settings()
    seqs: list[int] = []
    for _run in range(2):
        buffer = ReadingBuffer(settings.buffer_path, patient_id="patient-1", limits=LIMITS)
        async with buffer:
            gateway = Gateway(settings, buffer, scanner_backend=scanner, client_backend=client)
            hrs_strap.resume()
            async with gateway:
                await eventually(lambda gw=gateway: gw.stats.hr_readings >= 3)  # type: ignore[misc]
                await hrs_strap.quiesce()
            rows = await buffered(buffer)
            await buffer.ack([r.row_id for r in rows if r.ordinal not in seqs])
            seqs.extend(r.ordinal for r in rows if r.ordinal not in seqs)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert len(seqs) == hrs_strap.count("hrm")


async def test_stop_while_nothing_is_found_returns_promptly(
    radio: SimRadio, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    scanner, client = radio.backends()
    gateway = Gateway(make_settings(scan_timeout_s=30.0), buffer, scanner_backend=scanner, client_backend=client)
    await gateway.start()
    await eventually(lambda: gateway.state is GatewayState.SCANNING)
    await asyncio.wait_for(gateway.stop(), 2.0)
    assert gateway.state is GatewayState.STOPPED
    assert radio.open_adapters == 0


def test_the_buffer_must_belong_to_the_same_patient(make_settings: SettingsFactory, tmp_path: Path) -> None:
    buffer = ReadingBuffer(tmp_path / "x.sqlite3", patient_id="someone-else", limits=LIMITS)
    with pytest.raises(ValueError, match="another patient"):
        Gateway(make_settings(), buffer)


class SteppingClock:
    """An injected host clock that advances 1 ms per reading of it."""

    def __init__(self, start_ns: int) -> None:
        self.now_ns = start_ns

    def time_ns(self) -> int:
        self.now_ns += 1_000_000
        return self.now_ns


async def test_the_injected_clock_stamps_readings_and_battery_is_polled(
    radio: SimRadio, h10: VirtualPolarH10, buffer: ReadingBuffer, make_settings: SettingsFactory
) -> None:
    clock = SteppingClock(1_800_000_000 * 10**9)
    scanner, client = radio.backends()
    settings = make_settings(battery_poll_interval_s=0.1)
    gateway = Gateway(settings, buffer, clock=clock, scanner_backend=scanner, client_backend=client)
    async with gateway:
        await eventually(lambda: gateway.stats.hr_readings >= 2 and gateway.stats.ecg_frames >= 3)
        h10.battery_pct = 42
        await eventually(lambda: gateway.device_info is not None and gateway.device_info.battery_pct == 42)
        hr_before = gateway.stats.hr_readings
        await eventually(lambda: gateway.stats.hr_readings >= hr_before + 2)
    rows = await buffered(buffer)
    hr_events = [e for e in events(rows, SensorHrV1.TOPIC) if isinstance(e, SensorHrV1)]
    assert all(1_800_000_000 * 10**9 < e.gateway_time_ns <= clock.now_ns for e in hr_events)
    assert hr_events[0].battery_pct == 87
    assert hr_events[-1].battery_pct == 42
    assert gateway.stats.battery_reads >= 2
    # ECG on the host timeline is spaced by the strap's sample clock (73 samples at 130 Hz), not by arrival. (Only
    # the first frames: this strap runs 8x faster than the host clock, so later ones trip the re-anchoring.)
    ecg_events = [e for e in events(rows, SensorEcgV1.TOPIC) if isinstance(e, SensorEcgV1)][:4]
    steps = {b.gateway_time_ns - a.gateway_time_ns for a, b in itertools.pairwise(ecg_events)}
    assert steps <= {561_538_461, 561_538_462}
    assert ecg_events[0].gateway_time_ns > 1_800_000_000 * 10**9
