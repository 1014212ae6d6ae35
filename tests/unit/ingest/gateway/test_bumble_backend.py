"""The simulated bleak backend: conformance with bleak's base classes, and behaviour through the real bleak API."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import gatt

from ingest import const
from tests.sim.bumble_backend import BumbleClient, BumbleScanner, SimRadio
from tests.sim.util import eventually
from tests.sim.virtual_h10 import VirtualPolarH10
from tests.sim.virtual_strap import VirtualStrap, hr_payload

# --- conformance (no simulation, no mocks) -------------------------------------------------------------------------


def _members(base: type[Any]) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(base).items()
        if not name.startswith("_") or name == "__init__"
        if callable(member) or isinstance(member, property)
    }


def _assert_compatible(base: Any, impl: Any, where: str) -> None:
    """``impl`` accepts every call ``base`` documents: same names and kinds, defaults kept, extras optional."""
    if isinstance(base, property):
        assert isinstance(impl, property), f"{where} must stay a property"
        return
    assert inspect.iscoroutinefunction(base) == inspect.iscoroutinefunction(impl), f"{where}: async-ness differs"
    b, i = inspect.signature(base).parameters, inspect.signature(impl).parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in i.values())
    for name, param in b.items():
        if param.kind is param.VAR_KEYWORD:
            assert has_var_kw, f"{where} must accept **kwargs"
            continue
        if param.kind is param.VAR_POSITIONAL:
            assert any(p.kind is p.VAR_POSITIONAL for p in i.values()), f"{where} must accept *args"
            continue
        if name not in i:
            assert has_var_kw, f"{where} lacks parameter {name!r}"
            assert param.kind is param.KEYWORD_ONLY, f"{where} lacks positional parameter {name!r}"
            continue
        assert i[name].kind == param.kind, f"{where}: {name!r} is {i[name].kind}, bleak has {param.kind}"
        if param.default is not param.empty:
            assert i[name].default is not i[name].empty, f"{where}: {name!r} needs a default"
    for name, param in i.items():
        if name not in b and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            assert param.default is not param.empty, f"{where}: extra parameter {name!r} must be optional"


@pytest.mark.parametrize(("base", "impl"), [(BaseBleakScanner, BumbleScanner), (BaseBleakClient, BumbleClient)])
def test_conformance_with_the_real_bleak_base_classes(base: type[Any], impl: type[Any]) -> None:
    assert issubclass(impl, base)
    assert not inspect.isabstract(impl), f"{impl.__name__} leaves {sorted(impl.__abstractmethods__)} abstract"
    for name, member in _members(base).items():
        _assert_compatible(member, inspect.getattr_static(impl, name), f"{impl.__name__}.{name}")


def test_bleak_front_ends_construct_the_backends_with_their_own_arguments() -> None:
    # BleakScanner/BleakClient pass positional and platform keyword arguments (bluez=, cb=, winrt=, services=).
    radio = SimRadio()
    scanner_cls, client_cls = radio.backends()
    scanner = BleakScanner(service_uuids=["180d"], backend=scanner_cls)
    client = BleakClient("C0:00:00:00:00:01", services=["180d"], backend=client_cls)
    assert scanner.backend_id == "BumbleScanner"
    assert client.backend_id == "BumbleClient"
    assert not client.is_connected


# --- behaviour over the simulated radio ----------------------------------------------------------------------------


def connected(client: BleakClient) -> bool:
    return client.is_connected


async def test_scan_filters_by_service_uuid(radio: SimRadio, h10: VirtualPolarH10) -> None:
    scanner_cls, _ = radio.backends()
    found = await BleakScanner.find_device_by_filter(
        lambda d, a: True, timeout=1.0, service_uuids=[const.HEART_RATE_SERVICE_UUID], backend=scanner_cls
    )
    assert found is not None
    assert found.address == str(h10.address).split("/")[0]
    assert found.name == "Polar H10 1A2B3C4D"
    missing = await BleakScanner.find_device_by_filter(
        lambda d, a: True, timeout=0.3, service_uuids=["0000feed-0000-1000-8000-00805f9b34fb"], backend=scanner_cls
    )
    assert missing is None
    assert radio.open_adapters == 1  # only the strap; the scanners removed theirs


async def test_connect_exchanges_mtu_and_discovers_every_service(radio: SimRadio, h10: VirtualPolarH10) -> None:
    _, client_cls = radio.backends(mtu=247)
    async with BleakClient(h10.address.to_string(False), backend=client_cls) as client:
        assert client.mtu_size == 247
        services = {s.uuid for s in client.services}
        assert {
            const.HEART_RATE_SERVICE_UUID,
            const.BATTERY_SERVICE_UUID,
            const.DEVICE_INFORMATION_SERVICE_UUID,
            const.PMD_SERVICE_UUID,
        } <= services
        hrm = client.services.get_characteristic(const.HEART_RATE_MEASUREMENT_UUID)
        assert hrm is not None
        assert hrm.properties == ["notify"]
        assert hrm.max_write_without_response_size == 244
        cp = client.services.get_characteristic(const.PMD_CONTROL_POINT_UUID)
        assert cp is not None
        assert set(cp.properties) == {"read", "write", "indicate"}
        assert [d.uuid for d in cp.descriptors] == [const.CLIENT_CHARACTERISTIC_CONFIGURATION_UUID]
        assert await client.read_gatt_char(const.MODEL_NUMBER_UUID) == b"H10"


async def test_notifications_descriptors_and_writes(radio: SimRadio, h10: VirtualPolarH10) -> None:
    _, client_cls = radio.backends()
    received: list[bytes] = []
    async with BleakClient(h10.address.to_string(False), backend=client_cls) as client:
        await client.start_notify(const.HEART_RATE_MEASUREMENT_UUID, lambda _c, data: received.append(bytes(data)))
        hrm = client.services.get_characteristic(const.HEART_RATE_MEASUREMENT_UUID)
        assert hrm is not None
        assert await client.read_gatt_descriptor(hrm.descriptors[0].handle) == b"\x01\x00"
        await eventually(lambda: len(received) >= 3)
        await client.stop_notify(const.HEART_RATE_MEASUREMENT_UUID)
        assert await client.read_gatt_descriptor(hrm.descriptors[0].handle) == b"\x00\x00"
        await client.write_gatt_char(const.PMD_CONTROL_POINT_UUID, b"\x03\x00", response=True)
    sent = [s.payload for s in h10.sent if s.kind == "hrm"]
    assert received == sent[: len(received)]
    assert received[:3] == [hr_payload(0), hr_payload(1), hr_payload(2)]
    assert h10.pmd_log.writes == [b"\x03\x00"]


async def test_att_errors_become_gatt_protocol_errors(radio: SimRadio, h10: VirtualPolarH10) -> None:
    _, client_cls = radio.backends()
    async with BleakClient(h10.address.to_string(False), backend=client_cls) as client:
        with pytest.raises(BleakGATTProtocolError) as caught:
            await client.write_gatt_char(const.MODEL_NUMBER_UUID, b"X", response=True)
        assert caught.value.code == 0x03  # write not permitted


async def test_absent_device_is_not_found(radio: SimRadio) -> None:
    _, client_cls = radio.backends()
    client = BleakClient("C0:00:00:00:0F:FF", timeout=0.3, backend=client_cls)
    with pytest.raises(BleakDeviceNotFoundError):
        await client.connect()
    assert radio.open_adapters == 0


async def test_peripheral_disconnect_fires_the_callback_and_frees_the_adapter(
    radio: SimRadio, hrs_strap: VirtualStrap
) -> None:
    _, client_cls = radio.backends()
    lost = asyncio.Event()
    client = BleakClient(
        hrs_strap.address.to_string(False), disconnected_callback=lambda _c: lost.set(), backend=client_cls
    )
    await client.connect()
    assert radio.open_adapters == 2
    await hrs_strap.drop_link()
    await asyncio.wait_for(lost.wait(), 2.0)
    assert not connected(client)
    await eventually(lambda: radio.open_adapters == 1)
    await client.connect()  # the same client reconnects
    assert connected(client)
    await client.disconnect()
    assert radio.open_adapters == 1


async def test_link_lost_during_a_request_is_a_bleak_error(radio: SimRadio) -> None:
    async def slow_read(_connection: Any) -> bytes:
        await asyncio.sleep(1.0)
        return b"late"

    slow: gatt.Characteristic[bytes] = gatt.Characteristic(
        "2A28",
        gatt.Characteristic.Properties.READ,
        gatt.Characteristic.READABLE,
        gatt.CharacteristicValue(read=slow_read),
    )
    slow_strap = VirtualStrap(radio, name="slow", services=[gatt.Service("FEED", [slow])])
    async with slow_strap:
        _, client_cls = radio.backends()
        async with BleakClient(slow_strap.address.to_string(False), backend=client_cls) as client:
            reading = asyncio.ensure_future(client.read_gatt_char("2a28"))
            await asyncio.sleep(0.1)
            await slow_strap.drop_link()
            with pytest.raises(BleakError, match="disconnected"):
                await reading
