"""A small, known world in a test database: fresh patients, devices, tokens, alerts and sessions on demand.

Ids tell the scope apart so that leak checks can grep responses: resources of the other clinic carry ``other-``,
resources of the demo clinic's second patient carry ``sim-002`` (patients) or ``-p2-``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


_connections: dict[str, psycopg.Connection[Any]] = {}


def execute(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (autocommit) on a connection kept per database for the test session."""
    conn = _connections.get(url)
    if conn is None or conn.closed:
        conn = _connections[url] = psycopg.connect(url, autocommit=True)
    cur = conn.execute(query.encode(), params)
    return cur.fetchall() if cur.description else []


def close(url: str) -> None:
    conn = _connections.pop(url, None)
    if conn is not None:
        conn.close()


@functools.cache
def _user_id(url: str, username: str) -> str:
    return str(execute(url, "SELECT id FROM users WHERE username = %s", (username,))[0][0])


def user_id(url: str, username: str) -> str:
    return _user_id(url, username)


def fresh_patient(url: str, clinic: str, tag: str) -> str:
    pid = f"{tag}-fresh-{_n()}"
    execute(url, "INSERT INTO patients (id, clinic_id, display_name) VALUES (%s, %s, %s)", (pid, clinic, pid))
    return pid


def fresh_device(url: str, patient: str) -> str:
    did = f"dev-{patient}-{_n()}"
    execute(url, "INSERT INTO devices (id, patient_id, kind) VALUES (%s, %s, 'hrs')", (did, patient))
    return did


def fresh_token(url: str, device: str, patient: str) -> str:
    token_hash = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    rows = execute(
        url,
        "INSERT INTO device_tokens (token_hash, device_id, patient_id, expires_at) "
        "VALUES (%s, %s, %s, now() + interval '1 day') RETURNING id",
        (token_hash, device, patient),
    )
    return str(rows[0][0])


def fresh_alert(url: str, patient: str, *, tier: str = "nurse", snoozed: bool = False, tag: str = "") -> str:
    alert_id = f"alert-{tag or patient}-{_n()}"
    now = datetime.now(UTC)
    execute(
        url,
        "INSERT INTO alert_events (alert_id, kind, revision, at, patient_id, rule, tier, message, value, threshold) "
        "VALUES (%s, 'raised', 0, %s, %s, 'hr_above_ceiling', %s, 'HR above ceiling', 131, 120)",
        (alert_id, now, patient, tier),
    )
    execute(
        url,
        "INSERT INTO alerts (alert_id, patient_id, rule, tier, state, last_event, revision, raised_at, updated_at, "
        "message, value, threshold, snoozed_until, snoozed_at, snoozed_by_name) VALUES (%s, %s, 'hr_above_ceiling', "
        "%s, 'active', 'raised', 0, %s, %s, 'HR above ceiling', 131, 120, %s, %s, %s)",
        (
            alert_id,
            patient,
            tier,
            now,
            now,
            now + timedelta(minutes=10) if snoozed else None,
            now if snoozed else None,
            "Nurse Test" if snoozed else None,
        ),
    )
    return alert_id


def fresh_session(url: str, patient: str, tag: str = "") -> str:
    session_id = f"session-{tag or patient}-{_n()}"
    now = datetime.now(UTC)
    execute(
        url,
        "INSERT INTO session_events (session_id, event, patient_id, t, started_at) VALUES (%s, 'start', %s, %s, %s)",
        (session_id, patient, now, now),
    )
    execute(
        url,
        "INSERT INTO sessions (session_id, patient_id, status, started_at) VALUES (%s, %s, 'active', %s)",
        (session_id, patient, now),
    )
    return session_id
