"""Device tokens: opaque, shown once, stored as SHA-256, recognisable by their prefix.

A device token is not a JWT: it authorises exactly one thing (posting its own device's readings) and is checked
against the database on every use, so revocation takes effect at once.
"""

from __future__ import annotations

import secrets
from typing import Final

from services.auth.tokens import hash_opaque_token

DEVICE_TOKEN_PREFIX: Final = "cdt_"  # noqa: S105 - a public prefix that marks device tokens, not a secret


def new_device_token() -> tuple[str, str]:
    """Returns (token for the device, hash to store)."""
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_opaque_token(token)


def is_device_token(token: str) -> bool:
    return token.startswith(DEVICE_TOKEN_PREFIX)
