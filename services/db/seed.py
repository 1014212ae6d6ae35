"""Demo data for development: two clinics, nurses, patients with prescriptions and straps (``cardiorehab seed``).

Refused outside development and test: demo passwords must never exist in a hospital's database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import psycopg

from services.auth.passwords import hash_password

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
        for login in logins:
            conn.execute(
                "INSERT INTO users (username, password_hash, role, clinic_id, patient_id, display_name) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
                "password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, clinic_id = EXCLUDED.clinic_id, "
                "patient_id = EXCLUDED.patient_id, display_name = EXCLUDED.display_name, disabled_at = NULL",
                (login.username, password_hash, login.role, login.clinic_id, login.patient_id, login.display_name),
            )
    return logins
