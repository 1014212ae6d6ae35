"""Straps and gateways enrolled for a patient, and the device tokens they write with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row


@dataclass(frozen=True)
class DeviceRow:
    id: str
    patient_id: str
    kind: str
    address: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    enrolled_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True)
class DeviceTokenRow:
    id: UUID
    device_id: str
    patient_id: str
    label: str | None
    created_by: UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class DeviceCredential:
    """What a presented device token grants, looked up by its hash (only live tokens of live devices)."""

    token_id: UUID
    device_id: str
    patient_id: str
    clinic_id: str
    last_used_at: datetime | None


_DEVICE = sql.SQL("id, patient_id, kind, address, manufacturer, model, serial, firmware, enrolled_at, retired_at")
_TOKEN = sql.SQL("id, device_id, patient_id, label, created_by, created_at, expires_at, revoked_at, last_used_at")


def new_device_id() -> str:
    return f"d-{secrets.token_hex(6)}"


async def device_by_id(conn: AsyncConnection, device_id: str) -> DeviceRow | None:
    async with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        await cur.execute(sql.SQL("SELECT {} FROM devices WHERE id = %s").format(_DEVICE), (device_id,))
        return await cur.fetchone()


async def devices_of_patient(conn: AsyncConnection, patient_id: str, *, limit: int, offset: int) -> list[DeviceRow]:
    async with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM devices WHERE patient_id = %s ORDER BY enrolled_at DESC, id LIMIT %s OFFSET %s"
            ).format(_DEVICE),
            (patient_id, limit, offset),
        )
        return await cur.fetchall()


async def create_device(
    conn: AsyncConnection,
    *,
    patient_id: str,
    kind: str,
    address: str | None,
    manufacturer: str | None,
    model: str | None,
    serial: str | None,
    firmware: str | None,
) -> DeviceRow:
    async with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO devices (id, patient_id, kind, address, manufacturer, model, serial, firmware) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {}"
            ).format(_DEVICE),
            (new_device_id(), patient_id, kind, address, manufacturer, model, serial, firmware),
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def retire_device(conn: AsyncConnection, device_id: str, by: UUID) -> DeviceRow | None:
    """Retire a device and revoke its tokens; None if it was already retired."""
    async with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        await cur.execute(
            sql.SQL("UPDATE devices SET retired_at = now() WHERE id = %s AND retired_at IS NULL RETURNING {}").format(
                _DEVICE
            ),
            (device_id,),
        )
        row = await cur.fetchone()
    if row is not None:
        await conn.execute(
            "UPDATE device_tokens SET revoked_at = now(), revoked_by = %s WHERE device_id = %s AND revoked_at IS NULL",
            (by, device_id),
        )
    return row


async def create_token(
    conn: AsyncConnection,
    *,
    token_hash: str,
    device_id: str,
    patient_id: str,
    label: str | None,
    created_by: UUID,
    expires_at: datetime,
) -> DeviceTokenRow:
    async with conn.cursor(row_factory=class_row(DeviceTokenRow)) as cur:
        await cur.execute(
            sql.SQL(
                "INSERT INTO device_tokens (token_hash, device_id, patient_id, label, created_by, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {}"
            ).format(_TOKEN),
            (token_hash, device_id, patient_id, label, created_by, expires_at),
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def tokens_of_device(conn: AsyncConnection, device_id: str, *, limit: int, offset: int) -> list[DeviceTokenRow]:
    async with conn.cursor(row_factory=class_row(DeviceTokenRow)) as cur:
        await cur.execute(
            sql.SQL(
                "SELECT {} FROM device_tokens WHERE device_id = %s ORDER BY created_at DESC, id LIMIT %s OFFSET %s"
            ).format(_TOKEN),
            (device_id, limit, offset),
        )
        return await cur.fetchall()


async def revoke_token(conn: AsyncConnection, device_id: str, token_id: UUID, by: UUID) -> DeviceTokenRow | None:
    """Revoke one token of this device (idempotent: a revoked token keeps its first revocation time)."""
    async with conn.cursor(row_factory=class_row(DeviceTokenRow)) as cur:
        await cur.execute(
            sql.SQL(
                "UPDATE device_tokens SET revoked_at = COALESCE(revoked_at, now()), "
                "revoked_by = COALESCE(revoked_by, %s) WHERE id = %s AND device_id = %s RETURNING {}"
            ).format(_TOKEN),
            (by, token_id, device_id),
        )
        return await cur.fetchone()


async def credential_by_hash(conn: AsyncConnection, token_hash: str) -> DeviceCredential | None:
    """The live token with this hash, if its device is enrolled to the same, non-archived patient."""
    async with conn.cursor(row_factory=class_row(DeviceCredential)) as cur:
        await cur.execute(
            "SELECT t.id AS token_id, t.device_id, t.patient_id, p.clinic_id, t.last_used_at "
            "FROM device_tokens t JOIN devices d ON d.id = t.device_id JOIN patients p ON p.id = t.patient_id "
            "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > now() "
            "AND d.retired_at IS NULL AND d.patient_id = t.patient_id AND p.archived_at IS NULL",
            (token_hash,),
        )
        return await cur.fetchone()


async def touch_token(conn: AsyncConnection, token_id: UUID) -> None:
    await conn.execute("UPDATE device_tokens SET last_used_at = now() WHERE id = %s", (token_id,))
