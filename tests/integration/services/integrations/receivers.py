"""Real receivers for the hospital side, each on 127.0.0.1 at a port chosen at run time, in a thread of its own (so
sync tests can stop and restart them while real service processes talk to them):

- :class:`MllpListener`: the ``hl7`` package's asyncio MLLP server; ACKs AA, or AE for messages containing a marker;
  records every arrival (control id, PID-3, text) and can go down and come back on the same port.
- :class:`RestHookReceiver`: an aiohttp HTTPS app with a self-signed certificate (``cryptography``) that checks the
  bearer token and records every notification Bundle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hl7
import hl7.mllp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class LoopThread:
    """An event loop running in a daemon thread; ``call`` runs a coroutine there and waits for its result."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@dataclass(frozen=True)
class Arrival:
    control_id: str
    pid3: str
    text: str
    ack: str
    at: float
    connection: int


@dataclass
class MllpListener:
    """A hospital interface engine's MLLP listener."""

    nak_marker: str = "REJECT-ME"
    port: int = 0
    arrivals: list[Arrival] = field(default_factory=list)
    connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None
    _writers: list[Any] = field(default_factory=list)
    _loop: LoopThread | None = None

    def _ack(self, message: hl7.Message, code: str) -> hl7.Message:
        control = str(message.segment("MSH")[10])
        err = "\rERR||OBX^1^5|207^Application internal error^HL70357|E" if code != "AA" else ""
        return hl7.parse(
            "MSH|^~\\&|ENGINE|GENHOSP|CARDIOREHAB|CARDIOREHAB|20260101000000||ACK^R40^ACK|"
            f"ACK{control[:16]}|P|2.6\rMSA|{code}|{control}|{'content refused by test engine' if err else ''}{err}"
        )

    async def _on_connect(self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
        with self._lock:
            self.connections += 1
            number = self.connections
        self._writers.append(writer)
        try:
            while True:
                message = await reader.readmessage()
                text = str(message)
                code = "AE" if self.nak_marker in text else "AA"
                arrival = Arrival(
                    control_id=str(message.segment("MSH")[10]),
                    pid3=str(message.segment("PID")[3]),
                    text=text,
                    ack=code,
                    at=time.monotonic(),
                    connection=number,
                )
                with self._lock:
                    self.arrivals.append(arrival)
                writer.writemessage(self._ack(message, code))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _start(self) -> None:
        self._server = await hl7.mllp.start_hl7_server(self._on_connect, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        await asyncio.sleep(0)

    def start(self) -> MllpListener:
        if self._loop is None:
            self._loop = LoopThread("mllp-listener")
        self._loop.call(self._start())
        return self

    def stop(self) -> None:
        """Go down: stop listening and drop every open connection (an engine restart)."""
        assert self._loop is not None
        self._loop.call(self._stop())

    def close(self) -> None:
        if self._loop is not None:
            if self._server is not None and self._server.is_serving():
                self._loop.call(self._stop())
            self._loop.close()
            self._loop = None

    def snapshot(self) -> list[Arrival]:
        with self._lock:
            return list(self.arrivals)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost) and its key, written as PEM; the certificate is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test hospital engine")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "engine.pem", directory / "engine.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Notification:
    kind: str  # handshake | heartbeat | event-notification
    subscription: str
    events_since_start: int
    event_numbers: tuple[int, ...]
    focus: tuple[str, ...]
    at: float
    bundle: dict[str, Any]


def parse_notification(bundle: dict[str, Any]) -> Notification:
    status = bundle["entry"][0]["resource"]
    params = {p["name"]: p for p in status["parameter"]}
    events = [p for p in status["parameter"] if p["name"] == "notification-event"]
    numbers, focus = [], []
    for event in events:
        parts = {part["name"]: part for part in event["part"]}
        numbers.append(int(parts["event-number"]["valueString"]))
        if "focus" in parts:
            focus.append(parts["focus"]["valueReference"]["reference"])
    return Notification(
        kind=params["type"]["valueCode"],
        subscription=params["subscription"]["valueReference"]["reference"],
        events_since_start=int(params["events-since-subscription-start"]["valueString"]),
        event_numbers=tuple(numbers),
        focus=tuple(focus),
        at=time.monotonic(),
        bundle=bundle,
    )


@dataclass
class RestHookReceiver:
    """An HTTPS rest-hook endpoint that requires ``Authorization: Bearer <token>``."""

    cert: Path
    key: Path
    token: str
    port: int = 0
    received: list[Notification] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _runner: web.AppRunner | None = None
    _loop: LoopThread | None = None
    on_request: Callable[[dict[str, Any]], int] | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            with self._lock:
                self.refused.append("bad token")
            return web.Response(status=401, text="bad token")
        if request.content_type != "application/fhir+json":
            with self._lock:
                self.refused.append(f"content type {request.content_type}")
            return web.Response(status=415, text="want application/fhir+json")
        bundle = json.loads(await request.read())
        with self._lock:
            self.received.append(parse_notification(bundle))
        return web.Response(status=200)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context)
        await site.start()
        server = site._server  # the only way to learn the port aiohttp bound
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def _stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/hook"

    def start(self) -> RestHookReceiver:
        self._loop = LoopThread("rest-hook")
        self._loop.call(self._start())
        return self

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call(self._stop())
            self._loop.close()
            self._loop = None

    def snapshot(self) -> list[Notification]:
        with self._lock:
            return list(self.received)
