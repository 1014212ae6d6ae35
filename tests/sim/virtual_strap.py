"""A plain Heart Rate Service strap on a :class:`~tests.sim.bumble_backend.SimRadio` (the base of the virtual H10).

A Bumble GATT server whose payloads come from :mod:`ingest.encode` (raw bytes, never Bumble's
``HeartRateService``, which truncates RR): Heart Rate Measurement (0x2A37, notify), Body Sensor Location
(0x2A38), Battery Level (0x2A19) and Device Information. Heart-rate notification ``i`` is a pure function of
``i`` (:func:`hr_payload`). Every value that actually left for a subscribed central is recorded in
:attr:`VirtualStrap.sent`, so tests compare "what the strap sent" with "what reached Kafka".

Fault hooks: :meth:`VirtualStrap.drop_link`, :meth:`VirtualStrap.stop_advertising`,
:meth:`VirtualStrap.send_malformed_hrm`.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bumble import att, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device

from ingest.encode import build_battery_level, build_body_sensor_location, build_heart_rate_measurement
from tests.sim.bumble_backend import Adapter, SimRadio

Kind = Literal["hrm", "ecg", "acc", "cp"]


def hr_payload(index: int) -> bytes:
    """Heart-rate notification ``index``: HR 60-119 bpm, contact, one RR interval that encodes the index."""
    hr = 60 + index % 60
    rr = 500 + index % 1000  # 1/1024 s; unique over 1000 consecutive notifications
    return build_heart_rate_measurement(hr, rr_1024=(rr,), sensor_contact=True)


@dataclass(frozen=True, slots=True)
class Sent:
    """One value that left the strap for a subscribed central (``index`` counts per kind)."""

    kind: Kind
    index: int
    payload: bytes
    malformed: bool = False


class VirtualStrap:
    """A plain Heart Rate Service strap (with Battery and Device Information)."""

    def __init__(
        self,
        radio: SimRadio,
        *,
        name: str = "HRS Strap 0001",
        manufacturer: str = "Acme Sports",
        model: str = "HRS-1",
        serial: str = "0001",
        firmware: str = "1.0.0",
        hr_interval_s: float = 1.0,
        battery_pct: int = 87,
        body_sensor_location: int = 1,
        advertising_interval_ms: float = 20.0,
        first_hr_index: int = 0,
        services: Sequence[gatt.Service] = (),
    ) -> None:
        self.radio = radio
        self._extra_services = list(services)  # more GATT services, for tests that need an odd one
        self.name = name
        self.address = radio.allocate_address()
        self.hr_interval_s = hr_interval_s
        self.battery_pct = battery_pct
        self.advertising_interval_ms = advertising_interval_ms
        self.sent: list[Sent] = []
        self.paused = False  # while True nothing is notified (see quiesce)
        self.hr_limit: int | None = None  # no heart-rate notification with an index at or past this
        self.connections_seen = 0
        self.oversize_skipped = 0
        # first_hr_index lets a restarted test process continue the deterministic heart-rate sequence.
        self._counters: dict[Kind, int] = {"hrm": first_hr_index, "ecg": 0, "acc": 0, "cp": 0}
        self._adapter: Adapter | None = None
        self._connection: Connection | None = None
        self._advertise = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._adv_tasks: set[asyncio.Task[None]] = set()
        self.hrm = gatt.Characteristic(
            "2A37", gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.Permissions(0), b""
        )
        self.battery: gatt.Characteristic[bytes] = gatt.Characteristic(
            "2A19",
            gatt.Characteristic.Properties.READ,
            gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _c: build_battery_level(self.battery_pct)),
        )
        self._services = [
            gatt.Service(
                "180D",
                [
                    self.hrm,
                    gatt.Characteristic(
                        "2A38",
                        gatt.Characteristic.Properties.READ,
                        gatt.Characteristic.READABLE,
                        build_body_sensor_location(body_sensor_location),
                    ),
                ],
            ),
            gatt.Service("180F", [self.battery]),
            gatt.Service(
                "180A",
                [
                    self._text("2A29", manufacturer),
                    self._text("2A24", model),
                    self._text("2A25", serial),
                    self._text("2A26", firmware),
                ],
            ),
        ]

    @staticmethod
    def _text(uuid: str, value: str) -> gatt.Characteristic[bytes]:
        # Bumble does not enforce permissions on writes, so a read-only value refuses them itself.
        def refuse(_connection: Connection, _value: bytes) -> None:
            raise att.ATT_Error(att.ATT_WRITE_NOT_PERMITTED_ERROR)

        return gatt.Characteristic(
            uuid,
            gatt.Characteristic.Properties.READ,
            gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _c: value.encode(), write=refuse),
        )

    # --- lifecycle -------------------------------------------------------------------------------------------

    def extra_services(self) -> list[gatt.Service]:
        return list(self._extra_services)

    def advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes((0x06,))),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, struct.pack("<H", 0x180D)),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                ]
            )
        )

    async def start(self) -> None:
        self._adapter = await self.radio.open_adapter(f"strap {self.name}", self.address)
        device = self._adapter.device
        device.add_services([*self._services, *self.extra_services()])
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self._start_advertising()
        self._spawn(self._hr_loop())

    async def stop(self) -> None:
        self._advertise = False
        if self._adv_tasks:
            await asyncio.gather(*self._adv_tasks, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._adapter is not None:
            self._advertise = False
            if self._connection is not None:
                await self.drop_link(hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR)
            await self.radio.close_adapter(self._adapter)
            self._adapter = None

    async def __aenter__(self) -> VirtualStrap:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def started(self) -> bool:
        return self._adapter is not None

    @property
    def device(self) -> Device:
        if self._adapter is None:
            raise RuntimeError("strap not started")
        return self._adapter.device

    @property
    def connection(self) -> Connection | None:
        return self._connection

    async def _start_advertising(self) -> None:
        await self.device.start_advertising(
            advertising_data=self.advertising_data(),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.connections_seen += 1
        connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
        if self._advertise and self._adapter is not None:
            # Not cancelled on stop (an HCI command cut short leaves Bumble's host waiting); awaited instead.
            task = asyncio.get_running_loop().create_task(self._start_advertising())
            self._adv_tasks.add(task)
            task.add_done_callback(self._adv_tasks.discard)

    def subscribed(self, characteristic: gatt.Characteristic[Any], *, indicate: bool = False) -> bool:
        """Whether the current central enabled notifications (or indications) on ``characteristic``."""
        if self._connection is None or self._adapter is None:
            return False
        cccds = self._adapter.device.gatt_server.subscribers.get(self._connection, {})
        cccd = cccds.get(characteristic.handle, b"\x00\x00")
        return bool(cccd[0] & (0x02 if indicate else 0x01))

    @property
    def next_hr_index(self) -> int:
        """Index of the next heart-rate notification (counts across restarts when ``first_hr_index`` is set)."""
        return self._counters["hrm"]

    def count(self, kind: Kind, *, malformed: bool | None = None) -> int:
        return sum(1 for s in self.sent if s.kind == kind and (malformed is None or s.malformed == malformed))

    async def _notify(
        self, kind: Kind, characteristic: gatt.Characteristic[Any], payload: bytes, *, malformed: bool = False
    ) -> bool:
        """Notify the subscribed central; record it in :attr:`sent` only if it actually went out."""
        connection = self._connection
        if self.paused or connection is None or not self.subscribed(characteristic):
            return False
        if len(payload) > connection.att_mtu - 3:
            self.oversize_skipped += 1  # a real strap would not send it either (it refuses START instead)
            return False
        self.sent.append(Sent(kind, self._counters[kind], payload, malformed))
        self._counters[kind] += 1
        await self.device.notify_subscriber(connection, characteristic, payload)
        return True

    # --- heart rate ------------------------------------------------------------------------------------------

    async def _hr_loop(self) -> None:
        while True:
            await asyncio.sleep(self.hr_interval_s)
            if self.hr_limit is not None and self._counters["hrm"] >= self.hr_limit:
                continue
            await self._notify("hrm", self.hrm, hr_payload(self._counters["hrm"]))

    async def quiesce(self) -> None:
        """Stop notifying and let what was notified arrive; :meth:`resume` starts again.

        Notifications are unacknowledged: one still queued in the strap's host when the link goes down (either
        side ends it) is lost on any radio, and HRS has no buffering. Tests that compare what was sent with what
        arrived quiesce the strap around an intended disconnect so that this boundary does not count.
        """
        self.paused = True
        await asyncio.sleep(0.05)

    def resume(self) -> None:
        self.paused = False

    async def send_malformed_hrm(self) -> bool:
        """An HRM whose RR-present flag announces RR values but carries an odd byte (OddRrByteCountError)."""
        return await self._notify("hrm", self.hrm, bytes((0x10, 72, 0x01)), malformed=True)

    # --- fault hooks -----------------------------------------------------------------------------------------

    async def drop_link(self, reason: int = hci.HCI_CONNECTION_TIMEOUT_ERROR) -> None:
        """Terminate the link from the strap's side (the default reason is a supervision timeout)."""
        connection = self._connection
        if connection is not None:
            await connection.disconnect(reason)

    async def stop_advertising(self) -> None:
        """Go silent: no advertising until :meth:`start_advertising` (a reconnect cannot find the strap)."""
        self._advertise = False
        await self.device.stop_advertising()

    async def start_advertising(self) -> None:
        self._advertise = True
        if self._connection is None:
            await self._start_advertising()
