"""The MLLP client against real MLLP listeners (the ``hl7`` package's asyncio server on 127.0.0.1, port chosen
at run time): one that accepts, ones that refuse (AE/AR), one that never answers, ones that drop the connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import hl7
import hl7.mllp
import pytest
from blockbuster import blockbuster_ctx

from services.integrations.backoff import RetryPolicy
from services.integrations.config import MllpEndpoint
from services.integrations.errors import (
    AckTimeoutError,
    MalformedAckError,
    MllpConnectionError,
    NegativeAckError,
)
from services.integrations.hl7v2.pcd01 import pcd01_message
from services.integrations.mllp import MllpClient, frame, send_with_retry, unframe

Handler = Callable[["Listener", hl7.mllp.HL7StreamReader, hl7.mllp.HL7StreamWriter], Awaitable[None]]


@pytest.fixture(autouse=True)
def no_blocking_calls() -> Iterator[None]:
    """Fail any blocking call made inside the event loop (STYLE.md: the blockbuster fixture)."""
    with blockbuster_ctx():
        yield


@dataclass
class Listener:
    port: int
    received: list[str] = field(default_factory=list)  # MSH-10 of every message that arrived
    connections: int = 0


def _ack(message: hl7.Message, code: str, text: str = "") -> hl7.Message:
    control = str(message.segment("MSH")[10])
    err = "\rERR||PID^1^3|204^Unknown key identifier^HL70357|E" if code != "AA" else ""
    return hl7.parse(
        "MSH|^~\\&|ENGINE|GENHOSP|CARDIOREHAB|CARDIOREHAB|20240501100001||ACK^R01^ACK|"
        f"ACK{control}|P|2.6\rMSA|{code}|{control}|{text}{err}"
    )


@asynccontextmanager
async def listener(handler: Handler) -> AsyncIterator[Listener]:
    state = Listener(port=0)
    writers: list[hl7.mllp.HL7StreamWriter] = []

    async def on_connect(reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        state.connections += 1
        writers.append(writer)
        try:
            await handler(state, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away, which several tests do on purpose
        finally:
            writer.close()

    server = await hl7.mllp.start_hl7_server(on_connect, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # let handler tasks see the close


async def _read(state: Listener, reader: hl7.mllp.HL7StreamReader) -> hl7.Message:
    message = await reader.readmessage()
    state.received.append(str(message.segment("MSH")[10]))
    return message


def answering(code: str, text: str = "") -> Handler:
    async def handle(state: Listener, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        while True:
            message = await _read(state, reader)
            writer.writemessage(_ack(message, code, text))
            await writer.drain()

    return handle


async def never_answering(state: Listener, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
    await _read(state, reader)
    await reader.read()  # hold the connection open, silent, until the client gives up


async def dropping(state: Listener, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
    await _read(state, reader)  # read it, then hang up without an ACK


async def dropping_first_connection(
    state: Listener, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter
) -> None:
    if state.connections == 1:
        await dropping(state, reader, writer)
    else:
        await answering("AA")(state, reader, writer)


async def garbage(state: Listener, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
    await _read(state, reader)
    writer.writeblock(b"this is not an ack")
    await writer.drain()
    await reader.read()


@pytest.fixture
def message(features, patient, strap, hospital) -> bytes:
    return pcd01_message(features, patient=patient, strap=strap, hospital=hospital).payload


class Sleeps:
    """Records the backoff delays instead of sleeping them (the delays themselves are backoff's job)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def _control_id(payload: bytes) -> str:
    return str(hl7.parse(payload.decode()).segment("MSH")[10])


async def test_accepted_message_returns_the_ack_and_reuses_the_connection(message: bytes) -> None:
    async with listener(answering("AA")) as server, MllpClient("127.0.0.1", server.port) as client:
        first = await client.send(message)
        second = await client.send(message)
    assert first.accepted
    assert first.control_id == _control_id(message)
    assert second.accepted
    assert server.received == [_control_id(message)] * 2
    assert (client.connects, server.connections) == (1, 1)


@pytest.mark.parametrize("code", ["AE", "AR"])
async def test_negative_ack_raises_with_code_and_text(message: bytes, code: str) -> None:
    async with listener(answering(code, "Patient unknown")) as server, MllpClient("127.0.0.1", server.port) as client:
        with pytest.raises(NegativeAckError) as caught:
            await client.send(message)
    assert caught.value.code == code
    assert caught.value.control_id == _control_id(message)
    assert "Patient unknown" in caught.value.text
    assert "Unknown key identifier" in caught.value.text
    assert caught.value.retriable is (code == "AR")


async def test_application_error_is_not_retried_but_reject_is_retried_until_the_budget(message: bytes) -> None:
    policy = RetryPolicy(max_attempts=3)
    async with listener(answering("AE")) as server, MllpClient("127.0.0.1", server.port) as client:
        sleeps = Sleeps()
        with pytest.raises(NegativeAckError):
            await send_with_retry(client, message, policy=policy, sleep=sleeps, jitter=lambda: 0.0)
    assert (len(server.received), sleeps.delays) == (1, [])

    async with listener(answering("AR")) as server, MllpClient("127.0.0.1", server.port) as client:
        sleeps = Sleeps()
        with pytest.raises(NegativeAckError):
            await send_with_retry(client, message, policy=policy, sleep=sleeps, jitter=lambda: 0.0)
    assert server.received == [_control_id(message)] * 3  # the same MSH-10 every time: idempotent at the receiver
    assert sleeps.delays == [0.5, 1.0]


async def test_silent_receiver_times_out_and_the_connection_is_dropped(message: bytes) -> None:
    async with listener(never_answering) as server:
        async with MllpClient("127.0.0.1", server.port, ack_timeout_s=0.2) as client:
            with pytest.raises(AckTimeoutError) as caught:
                await client.send(message)
            assert not client.connected
        assert caught.value.retriable
        assert server.received == [_control_id(message)]


async def test_dropped_connection_raises_and_the_next_send_reconnects(message: bytes) -> None:
    async with listener(dropping_first_connection) as server, MllpClient("127.0.0.1", server.port) as client:
        with pytest.raises(MllpConnectionError) as caught:
            await client.send(message)
        assert caught.value.retriable
        ack = await client.send(message)
    assert ack.accepted
    assert client.connects == 2
    assert server.received == [_control_id(message)] * 2


async def test_retry_rides_out_a_dropped_connection(message: bytes) -> None:
    sleeps = Sleeps()
    async with listener(dropping_first_connection) as server, MllpClient("127.0.0.1", server.port) as client:
        ack = await send_with_retry(client, message, sleep=sleeps, jitter=lambda: 0.0)
    assert ack.accepted
    assert sleeps.delays == [0.5]
    assert server.connections == 2


async def test_receiver_that_always_drops_exhausts_the_retry_budget(message: bytes) -> None:
    async with listener(dropping) as server, MllpClient("127.0.0.1", server.port) as client:
        with pytest.raises(MllpConnectionError):
            await send_with_retry(client, message, policy=RetryPolicy(max_attempts=2), sleep=Sleeps())
    assert len(server.received) == 2


async def test_no_listener_is_a_retriable_connection_error(message: bytes) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with MllpClient("127.0.0.1", port, connect_timeout_s=2) as client:
        with pytest.raises(MllpConnectionError, match="cannot connect") as caught:
            await client.send(message)
    assert caught.value.retriable


async def test_an_answer_that_is_not_an_ack_is_malformed_and_not_retried(message: bytes) -> None:
    async with listener(garbage) as server, MllpClient("127.0.0.1", server.port) as client:
        with pytest.raises(MalformedAckError) as caught:
            await send_with_retry(client, message, sleep=Sleeps())
    assert not caught.value.retriable
    assert len(server.received) == 1


def test_framing_wraps_and_unwraps_one_block() -> None:
    assert frame(b"MSH|x") == b"\x0bMSH|x\x1c\x0d"
    assert unframe(b"\x0bMSH|x\x1c\x0d") == b"MSH|x"
    with pytest.raises(ValueError, match="block characters"):
        frame(b"MSH|\x0b")
    with pytest.raises(MalformedAckError):
        unframe(b"MSH|x\x1c\x0d")


def test_client_from_a_configured_endpoint_uses_tls_only_when_asked() -> None:
    plain = MllpClient.from_endpoint(MllpEndpoint(host="engine", port=6661, ack_timeout_s=5))
    assert plain._ssl is None
    assert plain._ack_timeout_s == 5
    context = ssl.create_default_context()
    secure = MllpClient.from_endpoint(MllpEndpoint(host="engine", port=6662, tls=True), ssl_context=context)
    assert secure._ssl is context
