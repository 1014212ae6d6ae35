"""The Polar PMD control point over a connected ``BleakClient``: one command at a time, answered by indication.

A command is a write-with-response to the CP; the device's answer arrives separately as a CP indication
``F0 <op> <type> <status> ...``. The indication subscription must therefore exist before the first write
(:meth:`PmdControl.subscribe`), or the answer is never sent. The device can also indicate ``01 <types>``
(ONLINE_MEASUREMENT_STOPPED) at any time; that goes to ``on_stopped``. Commands are serialised, as the Polar SDK
does: the answer carries no request id, only op and type.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from ingest import const
from ingest.errors import MalformedPayloadError
from ingest.gateway.errors import PmdStatusError, PmdTimeoutError
from ingest.gatt import (
    PmdControlPointResponse,
    PmdFeatures,
    PmdMeasurementStopped,
    PmdMeasurementType,
    PmdStatus,
    parse_pmd_control_point_response,
    parse_pmd_features,
    pmd_stop_acc_command,
    pmd_stop_ecg_command,
)

log = logging.getLogger(__name__)

_STOP_COMMANDS: dict[PmdMeasurementType, Callable[[], bytes]] = {
    PmdMeasurementType.ECG: pmd_stop_ecg_command,
    PmdMeasurementType.ACC: pmd_stop_acc_command,
}


class PmdControl:
    """Request/response on the PMD control point of one connection."""

    def __init__(
        self,
        client: BleakClient,
        *,
        timeout_s: float,
        on_stopped: Callable[[tuple[PmdMeasurementType, ...]], None],
        on_malformed: Callable[[bytes, MalformedPayloadError], None],
        on_unexpected: Callable[[PmdControlPointResponse], None],
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._on_stopped = on_stopped
        self._on_malformed = on_malformed
        self._on_unexpected = on_unexpected
        self._lock = asyncio.Lock()
        self._waiter: tuple[int, int, asyncio.Future[PmdControlPointResponse]] | None = None

    async def subscribe(self) -> None:
        await self._client.start_notify(const.PMD_CONTROL_POINT_UUID, self._on_indication)

    async def read_features(self) -> PmdFeatures:
        """Read the CP: ``0F b1 b2``, the measurement types the strap offers (malformed: raises)."""
        return parse_pmd_features(await self._client.read_gatt_char(const.PMD_CONTROL_POINT_UUID))

    def _on_indication(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            parsed = parse_pmd_control_point_response(data)
        except MalformedPayloadError as exc:
            self._on_malformed(bytes(data), exc)
            return
        if isinstance(parsed, PmdMeasurementStopped):
            self._on_stopped(parsed.measurement_types)
            return
        waiter = self._waiter
        if waiter is not None:
            op, type_id, future = waiter
            if parsed.op_code == op and parsed.type_byte & const.PMD_MEASUREMENT_TYPE_MASK == type_id:
                if not future.done():
                    future.set_result(parsed)
                return
        # A late answer to a command that already timed out, or one nobody asked for.
        self._on_unexpected(parsed)

    async def request(self, command: bytes) -> PmdControlPointResponse:
        """Write ``command`` and wait for its answer; raises on an error status or no answer in time."""
        op, type_id = command[0], command[1] & const.PMD_MEASUREMENT_TYPE_MASK
        async with self._lock:
            future: asyncio.Future[PmdControlPointResponse] = asyncio.get_running_loop().create_future()
            self._waiter = (op, type_id, future)
            try:
                await self._client.write_gatt_char(const.PMD_CONTROL_POINT_UUID, command, response=True)
                try:
                    async with asyncio.timeout(self._timeout_s):
                        response = await future
                except TimeoutError:
                    raise PmdTimeoutError(
                        f"no PMD answer to op {op} (type {type_id}) within {self._timeout_s:g} s",
                        op_code=op,
                        measurement_type=type_id,
                    ) from None
            finally:
                self._waiter = None
        if not response.ok:
            raise PmdStatusError(
                op_code=op, measurement_type=type_id, status=response.status, status_name=response.status_name
            )
        return response

    async def stop(self, measurement_type: PmdMeasurementType) -> bool:
        """STOP a stream; True if it was running, False if the strap says it was already stopped (status 6)."""
        try:
            await self.request(_STOP_COMMANDS[measurement_type]())
        except PmdStatusError as exc:
            if exc.status == PmdStatus.ALREADY_IN_STATE:
                return False
            raise
        return True
