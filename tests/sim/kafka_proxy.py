"""A TCP proxy in front of one Kafka broker that a test can close (a real outage) and reopen.

Kafka clients only bootstrap through the address they are given; afterwards they connect to the addresses the
broker advertises in Metadata responses. To put *every* connection through the proxy, it rewrites the broker
list of each Metadata response (versions 0-5, the ones aiokafka speaks; decoded and re-encoded with aiokafka's
own protocol structs) to point at itself. Everything else passes through byte for byte.

``close()`` stops listening and cuts every open connection (clients then see resets and refused connections,
exactly as during a broker or network outage); ``reopen()`` listens on the same port again. Binds to 127.0.0.1
on a port chosen at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass, field

from aiokafka.protocol.metadata import (
    MetadataResponse_v0,
    MetadataResponse_v1,
    MetadataResponse_v2,
    MetadataResponse_v3,
    MetadataResponse_v4,
    MetadataResponse_v5,
)

log = logging.getLogger(__name__)

METADATA_API_KEY = 3
_METADATA_RESPONSES = {
    0: MetadataResponse_v0,
    1: MetadataResponse_v1,
    2: MetadataResponse_v2,
    3: MetadataResponse_v3,
    4: MetadataResponse_v4,
    5: MetadataResponse_v5,
}


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(size)


@dataclass(eq=False)  # identity hashing: links live in a set
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    pending: dict[int, tuple[int, int]] = field(default_factory=dict)  # correlation id -> (api key, version)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class KafkaProxy:
    def __init__(self, upstream: str, *, host: str = "127.0.0.1") -> None:
        up_host, _, up_port = upstream.rpartition(":")
        self._upstream = (up_host, int(up_port))
        self._host = host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self.connections = 0
        self.rewritten_metadata = 0
        self.refused_while_closed = 0

    @property
    def bootstrap(self) -> str:
        return f"{self._host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self._host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Outage: stop listening and reset every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for link in list(self._links):
            await self._drop(link)
        if server is not None:
            await server.wait_closed()

    async def reopen(self) -> None:
        if self._server is None:
            await self.start()

    async def _drop(self, link: _Link) -> None:
        self._links.discard(link)
        for writer in (link.client, link.upstream):
            if writer is not None:
                writer.transport.abort()
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            await self._drop(link)
            return
        link.upstream = up_writer
        link.tasks = [
            asyncio.ensure_future(self._requests(link, reader, up_writer)),
            asyncio.ensure_future(self._responses(link, up_reader, writer)),
        ]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        await self._drop(link)

    async def _requests(self, link: _Link, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                frame = await _read_frame(reader)
                api_key, version, correlation = struct.unpack_from(">hhi", frame, 0)
                link.pending[correlation] = (api_key, version)
                upstream.write(struct.pack(">i", len(frame)) + frame)
                await upstream.drain()
        await self._drop(link)

    async def _responses(self, link: _Link, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                frame = await _read_frame(reader)
                (correlation,) = struct.unpack_from(">i", frame, 0)
                api_key, version = link.pending.pop(correlation, (-1, -1))
                if api_key == METADATA_API_KEY and version in _METADATA_RESPONSES:
                    frame = frame[:4] + self._rewrite(_METADATA_RESPONSES[version], frame[4:])
                client.write(struct.pack(">i", len(frame)) + frame)
                await client.drain()
        await self._drop(link)

    def _rewrite(self, response_type: type[MetadataResponse_v0], body: bytes) -> bytes:
        response = response_type.decode(body)
        values = {name: response.get_item(name) for name in response.SCHEMA.names}
        values["brokers"] = [(b[0], self._host, self.port, *b[3:]) for b in values["brokers"]]
        self.rewritten_metadata += 1
        return bytes(response_type(**values).encode())
