"""MLLP client: send one HL7 v2 message, wait for its ACK, reconnect when the connection broke.

Framing (HL7 MLLP, Release 2): ``0x0B`` + message + ``0x1C 0x0D``. One message is in flight per connection
(MLLP is strictly request/response), so :meth:`MllpClient.send` holds a lock across write and ACK.

Failure handling:
- connect errors, resets and EOF before the ACK -> :class:`MllpConnectionError` (retriable); the socket is
  dropped and the next :meth:`send` reconnects.
- no ACK within ``ack_timeout_s`` -> :class:`AckTimeoutError` (retriable); the socket is dropped so that a late
  ACK is never read as the answer to the next message. Resending is safe: MSH-10 is deterministic, so the
  receiver sees the same control id again.
- AE/AR/CE/CR -> :class:`NegativeAckError` (``retriable`` per code); garbage -> :class:`MalformedAckError`.

:func:`send_with_retry` loops over :meth:`send` with the pure delays of :mod:`services.integrations.backoff`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Self

from services.integrations.backoff import DEFAULT_RETRY_POLICY, RetryPolicy, next_delay_s
from services.integrations.config import MllpEndpoint
from services.integrations.errors import (
    AckTimeoutError,
    IntegrationError,
    MalformedAckError,
    MllpConnectionError,
)
from services.integrations.hl7v2.ack import Ack, check_ack, control_id_of, parse_ack

START_BLOCK: Final = b"\x0b"
END_BLOCK: Final = b"\x1c\x0d"
# ACKs are a few hundred bytes; 1 MiB bounds what a misbehaving peer can make us buffer.
MAX_ACK_BYTES: Final = 1 << 20


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP start/end blocks; the payload must not contain the block characters."""
    if b"\x0b" in message or b"\x1c" in message:
        raise ValueError("an HL7 message cannot contain the MLLP block characters 0x0B or 0x1C")
    return START_BLOCK + message + END_BLOCK


def unframe(block: bytes) -> bytes:
    """The message inside one MLLP block (``block`` ends with the end-block sequence)."""
    start = block.find(START_BLOCK)
    if start < 0 or not block.endswith(END_BLOCK):
        raise MalformedAckError(f"answer is not an MLLP block: {block[:40]!r}")
    return block[start + 1 : -len(END_BLOCK)]


class MllpClient:
    """One MLLP connection to a receiver; use ``async with`` or call :meth:`close`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        connect_timeout_s: float = 10.0,
        ack_timeout_s: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._ssl = ssl
        self._connect_timeout_s = connect_timeout_s
        self._ack_timeout_s = ack_timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self.connects = 0  # how many connections were opened (observability, and tests of reconnection)

    @classmethod
    def from_endpoint(cls, endpoint: MllpEndpoint, *, ssl_context: ssl_module.SSLContext | None = None) -> Self:
        """A client for a configured endpoint. With ``tls`` and no context given, the system CA store is used;
        that reads certificate files, so build clients at startup, not inside the event loop's hot path."""
        context = ssl_context
        if endpoint.tls and context is None:
            context = ssl_module.create_default_context()
        return cls(
            endpoint.host,
            endpoint.port,
            ssl=context if endpoint.tls else None,
            connect_timeout_s=endpoint.connect_timeout_s,
            ack_timeout_s=endpoint.ack_timeout_s,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and self._writer is not None and not self._writer.is_closing():
            return self._reader, self._writer
        await self._drop()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, ssl=self._ssl, limit=MAX_ACK_BYTES
                )
        except (OSError, TimeoutError) as exc:
            raise MllpConnectionError(
                f"cannot connect to MLLP receiver {self._host}:{self._port}: {exc!r}; check host, port, TLS and "
                "that the interface engine's listener is up"
            ) from exc
        self._reader, self._writer = reader, writer
        self.connects += 1
        return reader, writer

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is None:
            return
        writer.close()
        # The peer may already have gone away; the socket is closed either way.
        with contextlib.suppress(OSError, ssl_module.SSLError):
            await writer.wait_closed()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def send(self, message: bytes) -> Ack:
        """Send one ER7 message and return its accepting ACK; see the module docstring for the errors."""
        expected = control_id_of(message)
        framed = frame(message)
        async with self._lock:
            reader, writer = await self._connect()
            try:
                writer.write(framed)
                await writer.drain()
                async with asyncio.timeout(self._ack_timeout_s):
                    block = await reader.readuntil(END_BLOCK)
            except TimeoutError as exc:
                await self._drop()
                raise AckTimeoutError(
                    f"no ACK for {expected} from {self._host}:{self._port} within {self._ack_timeout_s} s"
                ) from exc
            except asyncio.LimitOverrunError as exc:
                await self._drop()
                raise MalformedAckError(
                    f"answer to {expected} exceeds {MAX_ACK_BYTES} bytes without a frame end"
                ) from exc
            except (OSError, asyncio.IncompleteReadError) as exc:
                await self._drop()
                raise MllpConnectionError(
                    f"connection to {self._host}:{self._port} broke before the ACK for {expected}: {exc!r}"
                ) from exc
        return check_ack(parse_ack(unframe(block).decode("utf-8", errors="replace")), expected)


async def send_with_retry(
    client: MllpClient,
    message: bytes,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
) -> Ack:
    """:meth:`MllpClient.send` until accepted, a non-retriable error, or ``policy.max_attempts`` attempts."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await client.send(message)
        except IntegrationError as exc:
            delay = next_delay_s(exc, attempt, policy, jitter())
            if delay is None:
                raise
            await sleep(delay)
