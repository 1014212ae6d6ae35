"""Hospitals: their configuration (``hospitals``, ``hospital_endpoints``), the clinics they serve, and what the
outbox needs to address a patient's events (the patient, their devices, the hospitals and live subscriptions).

Credentials are stored only as references (``hospital_endpoints.credential_ref``), see
services/integrations/credentials.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class EndpointRow:
    channel: str
    settings: dict[str, Any]
    credential_ref: str | None


@dataclass(frozen=True)
class HospitalRecord:
    id: str
    settings: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    endpoints: dict[str, EndpointRow] = field(default_factory=dict)
    clinic_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatientRecord:
    id: str
    clinic_id: str
    display_name: str
    sex: str | None
    birth_year: int | None
    mrn: str | None
    archived_at: datetime | None


@dataclass(frozen=True)
class DeviceRecord:
    id: str
    patient_id: str
    kind: str
    address: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    retired_at: datetime | None


@dataclass(frozen=True)
class SubscriptionTargetRow:
    id: str
    hospital_id: str
    topic: str
    status: str
    content: str
    filter_criteria: list[str]


@dataclass(frozen=True)
class Targets:
    """Everything the outbox planner needs for a set of patients."""

    patients: dict[str, PatientRecord]
    devices: dict[str, list[DeviceRecord]]  # newest enrolment first
    hospitals_by_clinic: dict[str, list[HospitalRecord]]
    subscriptions: dict[str, list[SubscriptionTargetRow]]  # by hospital id


_HOSPITAL_COLUMNS = "h.id, h.settings, h.enabled, h.created_at, h.updated_at"


async def _attach(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[HospitalRecord]:
    """Hospitals with their endpoints and clinics."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    endpoints: dict[str, dict[str, EndpointRow]] = {}
    clinics: dict[str, list[str]] = {}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT hospital_id, channel, settings, credential_ref FROM hospital_endpoints WHERE hospital_id = ANY(%s)",
            (ids,),
        )
        for e in await cur.fetchall():
            endpoints.setdefault(e["hospital_id"], {})[e["channel"]] = EndpointRow(
                e["channel"], e["settings"], e["credential_ref"]
            )
        await cur.execute(
            "SELECT hospital_id, clinic_id FROM hospital_clinics WHERE hospital_id = ANY(%s) ORDER BY clinic_id",
            (ids,),
        )
        for c in await cur.fetchall():
            clinics.setdefault(c["hospital_id"], []).append(c["clinic_id"])
    return [
        HospitalRecord(**r, endpoints=endpoints.get(r["id"], {}), clinic_ids=tuple(clinics.get(r["id"], ())))
        for r in rows
    ]


async def hospitals_of_clinic(
    conn: AsyncConnection, clinic_id: str, *, include_disabled: bool = True, limit: int = 500, offset: int = 0
) -> list[HospitalRecord]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_HOSPITAL_COLUMNS} FROM hospitals h JOIN hospital_clinics c ON c.hospital_id = h.id "  # noqa: S608 - constant column list
            "WHERE c.clinic_id = %s AND (h.enabled OR %s) ORDER BY h.id LIMIT %s OFFSET %s",
            (clinic_id, include_disabled, limit, offset),
        )
        rows = await cur.fetchall()
    return await _attach(conn, rows)


async def hospital_of_clinic(conn: AsyncConnection, clinic_id: str, hospital_id: str) -> HospitalRecord | None:
    """One hospital, if it serves the clinic."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_HOSPITAL_COLUMNS} FROM hospitals h JOIN hospital_clinics c ON c.hospital_id = h.id "  # noqa: S608
            "WHERE c.clinic_id = %s AND h.id = %s",
            (clinic_id, hospital_id),
        )
        row = await cur.fetchone()
    found = await _attach(conn, [row] if row else [])
    return found[0] if found else None


async def enabled_hospitals(conn: AsyncConnection) -> list[HospitalRecord]:
    """Every enabled hospital (the dispatcher's working set)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_HOSPITAL_COLUMNS} FROM hospitals h WHERE h.enabled ORDER BY h.id")  # noqa: S608
        rows = await cur.fetchall()
    return await _attach(conn, rows)


async def hospital_exists(conn: AsyncConnection, hospital_id: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM hospitals WHERE id = %s", (hospital_id,))
    return await cur.fetchone() is not None


async def save_hospital(
    conn: AsyncConnection,
    *,
    hospital_id: str,
    settings: dict[str, Any],
    endpoints: Collection[EndpointRow],
    clinic_id: str,
    actor: UUID | None,
) -> None:
    """Create or replace a hospital's configuration (enabling it), its endpoints, and link it to the clinic."""
    await conn.execute(
        "INSERT INTO hospitals (id, settings, enabled, updated_by) VALUES (%s, %s, true, %s) "
        "ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, enabled = true, updated_at = now(), "
        "updated_by = EXCLUDED.updated_by",
        (hospital_id, Jsonb(settings), actor),
    )
    channels = [e.channel for e in endpoints]
    await conn.execute(
        "DELETE FROM hospital_endpoints WHERE hospital_id = %s AND NOT (channel = ANY(%s))", (hospital_id, channels)
    )
    for endpoint in endpoints:
        await conn.execute(
            "INSERT INTO hospital_endpoints (hospital_id, channel, settings, credential_ref) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (hospital_id, channel) DO UPDATE SET settings = EXCLUDED.settings, "
            "credential_ref = EXCLUDED.credential_ref, updated_at = now()",
            (hospital_id, endpoint.channel, Jsonb(endpoint.settings), endpoint.credential_ref),
        )
    await conn.execute(
        "INSERT INTO hospital_clinics (hospital_id, clinic_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (hospital_id, clinic_id),
    )


async def disable_hospital(conn: AsyncConnection, hospital_id: str, actor: UUID | None) -> None:
    """Stop sending to a hospital (its configuration, subscriptions and delivery history are kept)."""
    await conn.execute(
        "UPDATE hospitals SET enabled = false, updated_at = now(), updated_by = %s WHERE id = %s", (actor, hospital_id)
    )
    await conn.execute(
        "UPDATE fhir_subscriptions SET status = 'off', updated_at = now() WHERE hospital_id = %s AND status <> 'off'",
        (hospital_id,),
    )


async def targets_for_patients(conn: AsyncConnection, patient_ids: Collection[str]) -> Targets:
    """The patients whose clinic an enabled hospital serves, their devices, those hospitals and their live
    subscriptions. One cheap query (and nothing more) when no hospital serves these patients, the common case."""
    ids = sorted(set(patient_ids))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT DISTINCT h.id, h.settings, h.enabled, h.created_at, h.updated_at, c.clinic_id AS served_clinic "
            "FROM patients p JOIN hospital_clinics c ON c.clinic_id = p.clinic_id "
            "JOIN hospitals h ON h.id = c.hospital_id AND h.enabled WHERE p.id = ANY(%s) ORDER BY h.id",
            (ids,),
        )
        hospital_rows = await cur.fetchall()
    if not hospital_rows:
        return Targets({}, {}, {}, {})
    served: dict[str, list[str]] = {}
    unique: dict[str, dict[str, Any]] = {}
    for row in hospital_rows:
        clinic = row.pop("served_clinic")
        unique.setdefault(row["id"], row)
        served.setdefault(clinic, []).append(row["id"])
    records = {h.id: h for h in await _attach(conn, list(unique.values()))}
    hospitals_by_clinic = {clinic: [records[i] for i in hospital_ids] for clinic, hospital_ids in served.items()}
    async with conn.cursor(row_factory=class_row(PatientRecord)) as pcur:
        await pcur.execute(
            "SELECT id, clinic_id, display_name, sex, birth_year, mrn, archived_at FROM patients WHERE id = ANY(%s)",
            (ids,),
        )
        patients = {p.id: p for p in await pcur.fetchall() if p.clinic_id in hospitals_by_clinic}
    devices: dict[str, list[DeviceRecord]] = {}
    async with conn.cursor(row_factory=class_row(DeviceRecord)) as dcur:
        await dcur.execute(
            "SELECT id, patient_id, kind, address, manufacturer, model, serial, firmware, retired_at FROM devices "
            "WHERE patient_id = ANY(%s) ORDER BY enrolled_at DESC, id",
            (list(patients),),
        )
        for d in await dcur.fetchall():
            devices.setdefault(d.patient_id, []).append(d)
    subscriptions: dict[str, list[SubscriptionTargetRow]] = {}
    async with conn.cursor(row_factory=class_row(SubscriptionTargetRow)) as scur:
        await scur.execute(
            "SELECT id, hospital_id, topic, status, content, filter_criteria FROM fhir_subscriptions "
            "WHERE hospital_id = ANY(%s) AND status <> 'off' ORDER BY id",
            (list(records),),
        )
        for s in await scur.fetchall():
            subscriptions.setdefault(s.hospital_id, []).append(s)
    return Targets(patients, devices, hospitals_by_clinic, subscriptions)


async def observation_feed_state(
    conn: AsyncConnection, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The last PCD-01 second sent per (hospital, patient), locked until the transaction ends."""
    if not pairs:
        return {}
    hospitals, patients = zip(*sorted(pairs), strict=True)
    cur = await conn.execute(
        "SELECT f.hospital_id, f.patient_id, f.last_sent_s FROM observation_feeds f "
        "JOIN unnest(%s::text[], %s::text[]) AS k(h, p) ON f.hospital_id = k.h AND f.patient_id = k.p "
        "ORDER BY f.hospital_id, f.patient_id FOR UPDATE OF f",
        (list(hospitals), list(patients)),
    )
    return {(h, p): int(s) for h, p, s in await cur.fetchall()}


async def save_observation_feed_state(conn: AsyncConnection, sent: dict[tuple[str, str], int]) -> None:
    for (hospital_id, patient_id), last in sorted(sent.items()):
        await conn.execute(
            "INSERT INTO observation_feeds (hospital_id, patient_id, last_sent_s) VALUES (%s, %s, %s) "
            "ON CONFLICT (hospital_id, patient_id) DO UPDATE SET "
            "last_sent_s = GREATEST(observation_feeds.last_sent_s, EXCLUDED.last_sent_s)",
            (hospital_id, patient_id, last),
        )


async def any_observation_feed(conn: AsyncConnection) -> bool:
    """Whether any enabled hospital takes PCD-01 observations (so the sink looks at features at all)."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM hospitals WHERE enabled "
        "AND COALESCE((settings -> 'observations' ->> 'send_pcd01')::boolean, false))"
    )
    row = await cur.fetchone()
    return bool(row and row[0])
