"""Short-lived signed access tokens (JWT, HS256) and opaque refresh tokens.

Access tokens carry the principal and expire after ``access_token_ttl_s``; refresh tokens are random strings whose
SHA-256 is stored server-side, rotated on every use and revocable.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import jwt

from services.auth.principal import Principal

ALGORITHM = "HS256"
ISSUER = "cardiorehab"
AUDIENCE = "cardiorehab-api"


class TokenError(ValueError):
    """The token is missing, malformed, expired or not ours; the message says which."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in_s: int


def issue_access_token(principal: Principal, *, secret: str, ttl_s: int, now_s: int) -> IssuedToken:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": principal.subject,
        "iat": now_s,
        "nbf": now_s,
        "exp": now_s + ttl_s,
        "jti": uuid.uuid4().hex,
        "role": principal.role,
        "clinic": principal.clinic_id,
        "patient": principal.patient_id,
        "name": principal.display_name,
    }
    return IssuedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), ttl_s)


def verify_access_token(token: str, *, secret: str) -> Principal:
    try:
        options = {"require": ["exp", "iat", "sub", "aud", "iss"]}
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options=options,  # type: ignore[arg-type]
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("access token expired; refresh it or log in again") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid access token: {exc}") from exc
    role = claims.get("role")
    if role not in ("patient", "nurse", "charge_nurse", "clinic_admin", "integration", "device"):
        raise TokenError("invalid access token: unknown role")
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        clinic_id=str(claims.get("clinic") or ""),
        patient_id=claims.get("patient"),
        display_name=str(claims.get("name") or ""),
    )


def new_refresh_token() -> tuple[str, str]:
    """Returns (token for the client, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_opaque_token(token)


def hash_opaque_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
