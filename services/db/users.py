"""Users (staff, patients' logins, integrations) and refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection, sql
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


@dataclass(frozen=True)
class StaffRow:
    """A user as administrators see them (never the password hash)."""

    id: UUID
    username: str
    role: str
    clinic_id: str
    patient_id: str | None
    display_name: str
    created_at: datetime
    disabled_at: datetime | None


_USER = sql.SQL("id, username, password_hash, role, clinic_id, patient_id, display_name, disabled_at")
_STAFF = sql.SQL("id, username, role, clinic_id, patient_id, display_name, created_at, disabled_at")


async def user_by_username(conn: AsyncConnection, username: str) -> UserRow | None:
    async with conn.cursor(row_factory=class_row(UserRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM users WHERE username = %s").format(_USER), (username,))
        return await cur.fetchone()


async def user_by_id(conn: AsyncConnection, user_id: UUID) -> UserRow | None:
    async with conn.cursor(row_factory=class_row(UserRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM users WHERE id = %s").format(_USER), (user_id,))
        return await cur.fetchone()


async def staff_of_clinic(conn: AsyncConnection, clinic_id: str, *, limit: int, offset: int) -> list[StaffRow]:
    async with conn.cursor(row_factory=class_row(StaffRow)) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM users WHERE clinic_id = %s ORDER BY username LIMIT %s OFFSET %s").format(_STAFF),
            (clinic_id, limit, offset),
        )
        return await cur.fetchall()


async def staff_by_id(conn: AsyncConnection, user_id: UUID) -> StaffRow | None:
    async with conn.cursor(row_factory=class_row(StaffRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM users WHERE id = %s").format(_STAFF), (user_id,))
        return await cur.fetchone()


async def create_user(
    conn: AsyncConnection,
    *,
    username: str,
    password_hash: str,
    role: str,
    clinic_id: str,
    patient_id: str | None,
    display_name: str,
) -> StaffRow | None:
    """Insert a user; None if the username is taken."""
    async with conn.cursor(row_factory=class_row(StaffRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO users (username, password_hash, role, clinic_id, patient_id, display_name) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING RETURNING {}"
            ).format(_STAFF),
            (username, password_hash, role, clinic_id, patient_id, display_name),
        )
        return await cur.fetchone()


async def update_user(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    display_name: str | None = None,
    role: str | None = None,
    password_hash: str | None = None,
    disabled: bool | None = None,
) -> StaffRow | None:
    """Change the given fields; disabling also revokes the user's refresh tokens."""
    disabled_sql = {
        None: sql.SQL("disabled_at"),
        True: sql.SQL("COALESCE(disabled_at, now())"),
        False: sql.SQL("NULL"),
    }[disabled]
    async with conn.cursor(row_factory=class_row(StaffRow)) as cur:
        await cur.execute(
            sql.SQL(
                "UPDATE users SET display_name = COALESCE(%s, display_name), role = COALESCE(%s, role), "
                "password_hash = COALESCE(%s, password_hash), disabled_at = {disabled} WHERE id = %s RETURNING {cols}"
            ).format(disabled=disabled_sql, cols=_STAFF),
            (display_name, role, password_hash, user_id),
        )
        row = await cur.fetchone()
    if row is not None and (disabled or password_hash is not None):
        await revoke_refresh_tokens(conn, user_id)
    return row


async def revoke_refresh_tokens(conn: AsyncConnection, user_id: UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,)
    )


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
