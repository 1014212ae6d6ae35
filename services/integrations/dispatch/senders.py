"""The two transports: MLLP (one connection per hospital, reconnecting) and FHIR rest-hook POSTs (httpx).

Both raise the errors of services/integrations/errors.py, whose ``retriable`` attribute the pure delivery policy
reads; neither retries by itself (the outbox row records every attempt).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Final

import httpx

from services.integrations.config import FhirEndpoint, MllpEndpoint
from services.integrations.context import CONTENT_TYPE_FHIR_JSON
from services.integrations.errors import (
    TRANSIENT_STATUSES,
    RestHookConnectionError,
    RestHookRejectedError,
)
from services.integrations.mllp import MllpClient

ERROR_BODY_CHARS: Final = 500  # how much of a refusal's body is kept in the row's last_error


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system trust store plus, when configured, the hospital network's own CA bundle."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class MllpSender:
    """One hospital's MLLP listener."""

    def __init__(self, endpoint: MllpEndpoint, context: ssl.SSLContext | None) -> None:
        self.endpoint = endpoint
        self._client = MllpClient.from_endpoint(endpoint, ssl_context=context if endpoint.tls else None)

    async def send(self, payload: bytes) -> str:
        """Send one message; returns the accepting ACK code (AA/CA)."""
        ack = await self._client.send(payload)
        return ack.code

    async def close(self) -> None:
        await self._client.close()


class RestHookSender:
    """POSTs notification Bundles to a hospital's rest-hook endpoint with its bearer token."""

    def __init__(self, endpoint: FhirEndpoint, context: ssl.SSLContext) -> None:
        self.endpoint = endpoint
        self._client = httpx.AsyncClient(verify=context, timeout=endpoint.timeout_s, follow_redirects=False)

    def _headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {"Content-Type": CONTENT_TYPE_FHIR_JSON, "Accept": CONTENT_TYPE_FHIR_JSON}
        headers.update(self.endpoint.headers)
        headers.update(extra)
        if self.endpoint.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.endpoint.bearer_token.get_secret_value()}"
        return headers

    async def post(self, url: str, payload: bytes, *, message_id: str, headers: Mapping[str, str] | None = None) -> str:
        """Deliver one notification; returns ``HTTP <status>`` for a 2xx, raises otherwise."""
        try:
            response = await self._client.post(url, content=payload, headers=self._headers(headers or {}))
        except httpx.HTTPError as exc:
            raise RestHookConnectionError(
                f"cannot deliver {message_id} to {url}: {exc!r}; check that the endpoint is up and its TLS "
                "certificate is trusted (CARDIO_DISPATCHER_CA_FILE)"
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        body = response.text[:ERROR_BODY_CHARS]
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise RestHookConnectionError(f"{url} answered HTTP {status} to {message_id}: {body}", status)
        raise RestHookRejectedError(status, message_id, body)

    async def close(self) -> None:
        await self._client.aclose()
