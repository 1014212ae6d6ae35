"""A bleak backend on Bumble's in-process radio: real HCI, L2CAP, ATT and GATT on both sides, no hardware.

Every scanner and client gets its own Bumble ``Device`` (host + controller, like its own adapter) on the shared
:class:`bumble.link.LocalLink` of a :class:`SimRadio`; virtual peripherals sit on the same link. Pass the
classes from :meth:`SimRadio.backends` to ``BleakScanner(backend=...)`` / ``BleakClient(backend=...)``:

    radio = SimRadio()
    scanner_cls, client_cls = radio.backends()
    async with BleakClient(device, backend=client_cls) as client: ...

Behaviour follows bleak's BlueZ backend where bleak leaves it open: the disconnected callback fires on every
disconnect, an MTU exchange happens during ``connect`` (the size is a parameter, so tests can force a small MTU),
and ``connect`` performs full service discovery. Bumble errors are mapped to bleak's: a connect timeout to
``BleakDeviceNotFoundError``, ATT error responses to ``BleakGATTProtocolError``, GATT timeouts and a link lost
during a request to ``BleakError``. No sockets are opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MTU = 512  # what BlueZ and the Polar SDK ask for


def bleak_uuid(value: core.UUID) -> str:
    """A Bumble UUID as bleak's lowercase 128-bit string."""
    return str(uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


@dataclass(slots=True)
class Adapter:
    """One simulated host adapter: a Bumble device and its controller on the radio's link."""

    device: Device
    controller: Controller


class SimRadio:
    """A shared in-process radio (one ``LocalLink``) that creates and removes adapters."""

    def __init__(self, *, connect_timeout_s: float | None = None) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.connect_timeout_s = connect_timeout_s
        self._addresses = itertools.count(1)
        self._adapters: list[Adapter] = []

    def allocate_address(self) -> hci.Address:
        """A fresh static random address (the two top bits set, as the Core spec requires)."""
        n = next(self._addresses)
        return hci.Address(f"C0:00:00:00:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}")

    async def open_adapter(self, name: str, address: hci.Address | None = None) -> Adapter:
        task = asyncio.ensure_future(self._open_adapter(name, address))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # Let the power-on sequence finish (see _uninterrupted), then take the adapter away again.
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is None:
                await self.close_adapter(task.result())
            raise

    async def _open_adapter(self, name: str, address: hci.Address | None) -> Adapter:
        address = address or self.allocate_address()
        controller = Controller(name, link=self.link)
        device = Device(name=name, address=address, host=Host(controller, AsyncPipeSink(controller)))
        adapter = Adapter(device, controller)
        self._adapters.append(adapter)
        try:
            await device.power_on()
        except BaseException:
            await self.close_adapter(adapter)
            raise
        return adapter

    async def close_adapter(self, adapter: Adapter) -> None:
        """Power the adapter off, then take its controller off the link."""
        if adapter not in self._adapters:
            return
        self._adapters.remove(adapter)
        try:
            await _uninterrupted(adapter.device.power_off())
        finally:
            if adapter.controller in self.link.controllers:
                self.link.remove_controller(adapter.controller)

    async def close(self) -> None:
        for adapter in list(self._adapters):
            await self.close_adapter(adapter)

    @property
    def open_adapters(self) -> int:
        return len(self._adapters)

    def backends(self, *, mtu: int = DEFAULT_MTU) -> tuple[type[BumbleScanner], type[BumbleClient]]:
        """Backend classes bound to this radio (bleak instantiates backends itself, so they carry it)."""
        scanner = type("BumbleScanner", (BumbleScanner,), {"radio": self})
        client = type("BumbleClient", (BumbleClient,), {"radio": self, "preferred_mtu": mtu})
        return scanner, client


async def _uninterrupted(work: Awaitable[T]) -> T:
    """Run ``work`` to its end even if the caller is cancelled meanwhile, then re-raise the cancellation.

    Bumble's host cannot abandon an HCI command half-way (a late Command Complete then meets no waiter), so
    sequences of HCI commands are never cut short; cancelling the caller only delays the cancellation.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise


def _radio(cls: type[Any]) -> SimRadio:
    radio: SimRadio | None = cls.radio
    if radio is None:
        raise BleakError(f"{cls.__name__} is not bound to a SimRadio; use SimRadio.backends()")
    return radio


def _advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    name: str | None = None
    service_uuids: list[str] = []
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    tx_power: int | None = None
    for ad_type, data in advertisement.data.ad_structures:
        if ad_type in (AdvertisingData.COMPLETE_LOCAL_NAME, AdvertisingData.SHORTENED_LOCAL_NAME):
            name = data.decode("utf-8", errors="replace")
        elif ad_type in (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            width = 2 if ad_type <= AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS else 16
            for u in AdvertisingData.uuid_list_to_objects(data, width):
                if bleak_uuid(u) not in service_uuids:
                    service_uuids.append(bleak_uuid(u))
        elif ad_type == AdvertisingData.MANUFACTURER_SPECIFIC_DATA and len(data) >= 2:
            manufacturer[int.from_bytes(data[:2], "little")] = bytes(data[2:])
        elif ad_type == AdvertisingData.SERVICE_DATA_16_BIT_UUID and len(data) >= 2:
            service_data[bleak_uuid(core.UUID.from_bytes(data[:2]))] = bytes(data[2:])
        elif ad_type == AdvertisingData.TX_POWER_LEVEL and data:
            tx_power = int.from_bytes(data[:1], "little", signed=True)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scans the radio; advertisements are filtered by service UUID like the platform backends do."""

    radio: ClassVar[SimRadio | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        # Platform stacks accept 16-bit shorthands ("180d"); bleak's base filter compares full strings.
        super().__init__(
            detection_callback, None if service_uuids is None else [normalize_uuid_str(u) for u in service_uuids]
        )
        self._active = scanning_mode != "passive"
        self._adapter: Adapter | None = None

    async def start(self) -> None:
        if self._adapter is not None:
            raise BleakError("scanner already started")
        self.seen_devices = {}
        adapter = await _radio(type(self)).open_adapter("scanner")
        adapter.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        try:
            await _uninterrupted(adapter.device.start_scanning(active=self._active))
        except BaseException:
            # bleak does not call stop() when start() fails (or is cancelled): free the adapter here.
            await _radio(type(self)).close_adapter(adapter)
            raise
        self._adapter = adapter

    async def stop(self) -> None:
        adapter, self._adapter = self._adapter, None
        if adapter is None:
            return
        adapter.device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        try:
            await _uninterrupted(adapter.device.stop_scanning())
        finally:
            await _radio(type(self)).close_adapter(adapter)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = _advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(address, address, data.local_name, advertisement.address, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    """A GATT client over the radio: connect (MTU exchange + discovery), read, write, notify, disconnect."""

    radio: ClassVar[SimRadio | None] = None
    preferred_mtu: ClassVar[int] = DEFAULT_MTU

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._service_filter = services
        self._adapter: Adapter | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = att.ATT_DEFAULT_MTU
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._cleanup: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        await self._await_cleanup()
        if pair:
            log.info("pairing is not simulated; connecting without it")
        radio = _radio(type(self))
        adapter = await radio.open_adapter("central")
        self._adapter = adapter
        timeout = radio.connect_timeout_s if radio.connect_timeout_s is not None else self._timeout
        try:
            # Bumble's own connect timeout waits for a cancel event the LocalLink controller never sends, so the
            # timeout is applied here and the adapter (with its pending connection) is thrown away.
            connection = await asyncio.wait_for(
                adapter.device.connect(hci.Address(self.address), timeout=None), timeout
            )
        except TimeoutError as exc:
            await self._release_adapter()
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found within {timeout} s") from exc
        except BaseException:
            await self._release_adapter()
            raise
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            with self._bleak_errors("connect"):
                self._mtu = await self._peer.request_mtu(self.preferred_mtu)
                await self._discover(self._peer)
        except BaseException:
            await self.disconnect()
            raise

    async def _discover(self, peer: Peer) -> None:
        wanted = [core.UUID(u) for u in self._service_filter] if self._service_filter else []
        await peer.discover_services(wanted)
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            await peer.discover_characteristics(service=service)
            for characteristic in service.characteristics:
                await peer.discover_descriptors(characteristic=characteristic)
                properties = [
                    name for bit, name in CHARACTERISTIC_PROPERTIES.items() if characteristic.properties & bit
                ]
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    properties,
                    lambda: self._mtu - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_char)
                    )
        self.services = collection

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
                await _uninterrupted(connection.disconnect())
        await self._await_cleanup()
        await self._release_adapter()

    async def _await_cleanup(self) -> None:
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            await cleanup

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        self._cleanup = asyncio.get_running_loop().create_task(self._release_adapter())
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _release_adapter(self) -> None:
        adapter, self._adapter = self._adapter, None
        self._connection = None
        self._peer = None
        if adapter is not None:
            await _radio(type(self)).close_adapter(adapter)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not simulated by the Bumble backend")

    async def unpair(self) -> None:
        raise BleakError("pairing is not simulated by the Bumble backend")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    @contextlib.contextmanager
    def _bleak_errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except core.TimeoutError as exc:
            raise BleakError(f"{what}: GATT timeout") from exc
        except core.BaseBumbleError as exc:
            raise BleakError(f"{what}: {exc}") from exc
        except asyncio.CancelledError:
            # Bumble cancels the pending request when the link drops; unless this task itself is being
            # cancelled, that is a failed operation, not a cancellation.
            task = asyncio.current_task()
            if self._connection is None and (task is None or task.cancelling() == 0):
                raise BleakError(f"{what}: disconnected") from None
            raise

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with self._bleak_errors(f"read {characteristic.uuid}"):
            return bytearray(await peer.read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with self._bleak_errors(f"read descriptor {descriptor.handle}"):
            return bytearray(await peer.read_value(descriptor.obj))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        peer = self._require_peer()
        with self._bleak_errors(f"write {characteristic.uuid}"):
            await peer.write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        with self._bleak_errors(f"write descriptor {descriptor.handle}"):
            await peer.write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        with self._bleak_errors(f"start_notify {characteristic.uuid}"):
            await peer.subscribe(characteristic.obj, deliver, prefer_notify=True)
        self._subscribers[characteristic.handle] = deliver

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        with self._bleak_errors(f"stop_notify {characteristic.uuid}"):
            await peer.unsubscribe(characteristic.obj, subscriber)
