"""Users and refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row


@dataclass(frozen=True)
class UserRow:
    id: UUID
    username: str
    password_hash: str
    role: str
    clinic_id: str
    patient_id: str | None
    display_name: str
    disabled_at: datetime | None


async def user_by_username(conn: AsyncConnection, username: str) -> UserRow | None:
    async with conn.cursor(row_factory=class_row(UserRow)) as cur:
        await cur.execute(
            "SELECT id, username, password_hash, role, clinic_id, patient_id, display_name, disabled_at "
            "FROM users WHERE username = %s",
            (username,),
        )
        return await cur.fetchone()


async def user_by_id(conn: AsyncConnection, user_id: UUID) -> UserRow | None:
    async with conn.cursor(row_factory=class_row(UserRow)) as cur:
        await cur.execute(
            "SELECT id, username, password_hash, role, clinic_id, patient_id, display_name, disabled_at "
            "FROM users WHERE id = %s",
            (user_id,),
        )
        return await cur.fetchone()


async def store_refresh_token(conn: AsyncConnection, token_hash: str, user_id: UUID, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
        (token_hash, user_id, expires_at),
    )


async def consume_refresh_token(conn: AsyncConnection, token_hash: str, replaced_by: str) -> UUID | None:
    """Revoke a live refresh token and return its user; None if unknown, expired or already used."""
    cur = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now(), replaced_by = %s "
        "WHERE token_hash = %s AND revoked_at IS NULL AND expires_at > now() RETURNING user_id",
        (replaced_by, token_hash),
    )
    row = await cur.fetchone()
    return row[0] if row else None
