"""Errors of the BLE gateway, the store-and-forward buffer and the forwarder.

Hierarchy
---------
GatewayError(Exception)
    base of every error defined here; ``retriable`` tells the reconnect and forward loops whether trying again
    can help, so they never parse messages (see :mod:`ingest.gateway.backoff`).

    StrapNotFoundError          no strap matching the filters advertised during a scan window (retriable)
    LinkLostError               the strap disconnected or stopped answering during setup (retriable)
    PmdError                    the Polar control point refused or did not answer a command
        PmdStatusError          a CP response with an error status (``status`` holds it; 10 = INVALID_MTU)
        PmdTimeoutError         no CP response within the timeout
    BufferOwnershipError        the buffer file belongs to another patient or is open in another process
                                (never retriable: an operator must move or drain the file)
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of the gateway errors."""

    retriable: bool = True


class StrapNotFoundError(GatewayError):
    """No strap matching the configured filters advertised during the scan window."""

    def __init__(self, filters: str, scan_s: float) -> None:
        super().__init__(
            f"no heart-rate strap matching {filters} advertised within {scan_s:g} s; check that it is worn "
            "(moistened electrodes wake it up) and not connected to a phone app"
        )


class LinkLostError(GatewayError):
    """The strap disconnected (or stopped answering) while the gateway was setting up or streaming."""


class PmdError(GatewayError):
    """The Polar PMD control point refused a command or did not answer."""

    def __init__(self, message: str, *, op_code: int, measurement_type: int) -> None:
        self.op_code = op_code
        self.measurement_type = measurement_type
        super().__init__(message)


class PmdStatusError(PmdError):
    """A CP response carried an error status (e.g. 10 INVALID_MTU, 13 DEVICE_IN_CHARGER)."""

    def __init__(self, *, op_code: int, measurement_type: int, status: int, status_name: str) -> None:
        self.status = status
        hint = ""
        if status == 10:
            hint = "; the link MTU is too small for a PMD frame (the platform did not negotiate a large MTU)"
        elif status == 13:
            hint = "; take the strap out of its charger"
        super().__init__(
            f"PMD op {op_code} for measurement type {measurement_type} failed with status {status} "
            f"({status_name}){hint}",
            op_code=op_code,
            measurement_type=measurement_type,
        )
        # The same request on the same link fails the same way; the next connection may differ.
        self.retriable = status not in (10,)


class PmdTimeoutError(PmdError):
    """No CP response indication arrived within the timeout."""


class BufferOwnershipError(GatewayError):
    """The buffer file belongs to another patient or is already open in another gateway process."""

    retriable = False
