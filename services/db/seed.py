"""Demo data for development: two clinics, nurses, patients with prescriptions and straps (``cardiorehab seed``).

Refused outside development and test: demo passwords must never exist in a hospital's database. ``cardiorehab
seed`` also publishes each demo patient's current prescription to ``prescriptions.v1`` (:func:`current_prescriptions`)
so the stream uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from analytics.events import PrescriptionV1
from services.auth.passwords import hash_password
from services.db.prescriptions import SELECT_COLUMNS as RX_SELECT
from services.db.prescriptions import PrescriptionRow, to_event

DEMO_PASSWORD: Final = "rehab-demo"  # noqa: S105 - development only; seed() refuses to run in production
DEMO_CLINIC: Final = "demo-clinic"
OTHER_CLINIC: Final = "other-clinic"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    clinic_id: str
    patient_id: str | None
    display_name: str


def demo_patient_id(index: int) -> str:
    """The simulator's patient ids: sim-001, sim-002, ... (1-based)."""
    return f"sim-{index:03d}"


def demo_logins(patients: int) -> list[DemoLogin]:
    logins = [
        DemoLogin("nurse1", "nurse", DEMO_CLINIC, None, "Nurse Ada Okafor"),
        DemoLogin("nurse2", "nurse", DEMO_CLINIC, None, "Nurse Ben Larsen"),
        DemoLogin("charge1", "charge_nurse", DEMO_CLINIC, None, "Charge Nurse Chen Wei"),
        DemoLogin("admin1", "clinic_admin", DEMO_CLINIC, None, "Admin Dana Ruiz"),
        DemoLogin("nurse3", "nurse", OTHER_CLINIC, None, "Nurse Eli Novak"),
        DemoLogin("hospital1", "integration", DEMO_CLINIC, None, "St Example Hospital interface"),
    ]
    for i in range(1, min(patients, 3) + 1):
        logins.append(DemoLogin(f"patient{i}", "patient", DEMO_CLINIC, demo_patient_id(i), f"Patient {i}"))
    return logins


FIRST_NAMES: Final = (
    "Alma",
    "Bruno",
    "Carla",
    "Dev",
    "Edith",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Milo",
    "Nora",
    "Oskar",
    "Pia",
)


PRESCRIBER: Final = "nurse1"


def demo_prescription(index: int) -> dict[str, Any]:
    """A plausible first prescription for demo patient ``index`` (CLINICAL.md 2.1).

    Most get a Karvonen band of 40-60 % of a measured heart-rate reserve with the ceiling at 70 %; every fourth is on
    a beta-blocker (RPE primary); every fifth has no measured peak and gets a flagged RHR+20..+30 bpm band.
    """
    rest = 60.0 + (index * 7) % 15
    peak = 135.0 + (index * 11) % 30
    common: dict[str, Any] = {
        "resting_hr_bpm": rest,
        "beta_blocker": index % 4 == 0,
        "rpe_low": 12,
        "rpe_high": 14,
        "sex": "male" if index % 2 else "female",
        "age_years": 50 + (index * 3) % 25,
        "note": "demo prescription",
    }
    if index % 5 == 0:
        return common | {
            "method": "bpm",
            "peak_hr_bpm": None,
            "peak_hr_source": "none",
            "intensity_low": rest + 20,
            "intensity_high": rest + 30,
            "ceiling_bpm": rest + 40,
        }
    reserve = peak - rest
    return common | {
        "method": "karvonen",
        "peak_hr_bpm": peak,
        "peak_hr_source": "exercise_test" if index % 4 == 0 else "cpet",
        "intensity_low": 0.4,
        "intensity_high": 0.6,
        "ceiling_bpm": round(rest + 0.7 * reserve),
    }


def _ensure_prescription(
    conn: psycopg.Connection[Any], patient_id: str, clinic_id: str, index: int, prescriber: str = PRESCRIBER
) -> None:
    """Version 1 for a patient that has none (re-seeding never adds versions)."""
    values = demo_prescription(index)
    names = ["patient_id", "version", "clinic_id", "prescribed_by", "prescribed_by_name", *values]
    conn.execute(
        sql.SQL(
            "INSERT INTO prescriptions ({}) SELECT %s, 1, %s, u.id, u.display_name, {} FROM users u "
            "WHERE u.username = %s ON CONFLICT (patient_id, version) DO NOTHING"
        ).format(sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(", ").join(sql.Placeholder() * len(values))),
        (patient_id, clinic_id, *values.values(), prescriber),
    )


def current_prescriptions(dsn: str, patients: int) -> list[PrescriptionV1]:
    """The newest prescription of every demo patient, as ``prescriptions.v1`` messages (to publish)."""
    ids = [demo_patient_id(i) for i in range(1, patients + 1)] + ["other-001"]
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=class_row(PrescriptionRow)) as cur:
        cur.execute(
            sql.SQL(
                "SELECT DISTINCT ON (patient_id) {} FROM prescriptions WHERE patient_id = ANY(%s) "
                "ORDER BY patient_id, version DESC"
            ).format(RX_SELECT),
            (ids,),
        )
        return [to_event(row) for row in cur.fetchall()]


def mark_published(dsn: str, events: list[PrescriptionV1]) -> None:
    with psycopg.connect(dsn) as conn, conn.transaction():
        for e in events:
            conn.execute(
                "UPDATE prescriptions SET published_at = now() WHERE patient_id = %s AND version = %s",
                (e.patient_id, e.version),
            )


def seed(dsn: str, *, patients: int, environment: str) -> list[DemoLogin]:
    """Create (or refresh) the demo clinic, staff, patients and straps. Idempotent."""
    if environment not in ("development", "test"):
        raise PermissionError("refusing to seed demo accounts outside development/test (CARDIO_ENVIRONMENT)")
    logins = demo_logins(patients)
    password_hash = hash_password(DEMO_PASSWORD)
    with psycopg.connect(dsn) as conn, conn.transaction():
        for clinic, name in ((DEMO_CLINIC, "Demo Cardiac Rehab"), (OTHER_CLINIC, "Other Clinic")):
            conn.execute(
                "INSERT INTO clinics (id, name) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                (clinic, name),
            )
        for i in range(1, patients + 1):
            pid = demo_patient_id(i)
            name = f"{FIRST_NAMES[(i - 1) % len(FIRST_NAMES)]} {chr(65 + (i * 7) % 26)}."
            conn.execute(
                "INSERT INTO patients (id, clinic_id, display_name, sex, birth_year) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name",
                (pid, DEMO_CLINIC, name, "male" if i % 2 else "female", 1950 + (i * 3) % 25),
            )
            conn.execute(
                "INSERT INTO devices (id, patient_id, kind, manufacturer, model) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (f"sim-strap-{i:03d}", pid, "polar_h10" if i % 3 == 0 else "hrs", "cardiorehab", "simulated strap"),
            )
        conn.execute(
            "INSERT INTO patients (id, clinic_id, display_name) VALUES ('other-001', %s, 'Other Patient') "
            "ON CONFLICT (id) DO NOTHING",
            (OTHER_CLINIC,),
        )
        conn.execute(
            "INSERT INTO devices (id, patient_id, kind, manufacturer, model) VALUES ('other-strap-001', 'other-001', "
            "'hrs', 'cardiorehab', 'simulated strap') ON CONFLICT (id) DO NOTHING"
        )
        for login in logins:
            conn.execute(
                "INSERT INTO users (username, password_hash, role, clinic_id, patient_id, display_name) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
                "password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, clinic_id = EXCLUDED.clinic_id, "
                "patient_id = EXCLUDED.patient_id, display_name = EXCLUDED.display_name, disabled_at = NULL",
                (login.username, password_hash, login.role, login.clinic_id, login.patient_id, login.display_name),
            )
        for i in range(1, patients + 1):
            _ensure_prescription(conn, demo_patient_id(i), DEMO_CLINIC, i)
        _ensure_prescription(conn, "other-001", OTHER_CLINIC, 1, prescriber="nurse3")
    return logins
