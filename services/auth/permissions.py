"""Which role may do what (pure). Routes ask :func:`allowed` first (403), then scope by clinic/patient (404).

The table is the single source of truth for role checks; ``docs/api.md`` prints it and the authorisation matrix test
(tests/integration/services/api/test_authorization_matrix.py) checks every endpoint against it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from services.auth.principal import Role


class Action(StrEnum):
    CLINIC_READ = "clinic:read"
    CLINIC_WRITE = "clinic:write"
    STAFF_READ = "staff:read"
    STAFF_WRITE = "staff:write"
    PATIENT_READ = "patient:read"
    PATIENT_WRITE = "patient:write"
    PATIENT_ARCHIVE = "patient:archive"
    DEVICE_READ = "device:read"
    DEVICE_MANAGE = "device:manage"
    READINGS_WRITE = "readings:write"
    PRESCRIPTION_READ = "prescription:read"
    PRESCRIPTION_WRITE = "prescription:write"
    HISTORY_READ = "history:read"
    SESSION_READ = "session:read"
    ALERT_READ = "alert:read"
    ALERT_ACT = "alert:act"
    ALERT_SNOOZE_URGENT = "alert:snooze_urgent"
    ENTRY_READ = "entry:read"
    ENTRY_WRITE = "entry:write"
    LIVE_PATIENT = "live:patient"
    LIVE_CLINIC = "live:clinic"


_READERS: Final[frozenset[Role]] = frozenset({"patient", "nurse", "charge_nurse", "clinic_admin", "integration"})
_NURSING: Final[frozenset[Role]] = frozenset({"nurse", "charge_nurse"})
_CLINICAL: Final[frozenset[Role]] = frozenset({"nurse", "charge_nurse", "clinic_admin"})

PERMISSIONS: Final[dict[Action, frozenset[Role]]] = {
    Action.CLINIC_READ: frozenset({"clinic_admin"}),
    Action.CLINIC_WRITE: frozenset({"clinic_admin"}),
    Action.STAFF_READ: frozenset({"clinic_admin"}),
    Action.STAFF_WRITE: frozenset({"clinic_admin"}),
    Action.PATIENT_READ: _READERS,
    Action.PATIENT_WRITE: _CLINICAL,
    Action.PATIENT_ARCHIVE: frozenset({"charge_nurse", "clinic_admin"}),
    Action.DEVICE_READ: _CLINICAL | {"patient"},
    Action.DEVICE_MANAGE: _CLINICAL,
    Action.READINGS_WRITE: frozenset({"device"}),
    Action.PRESCRIPTION_READ: _READERS,
    # Prescribing is clinical work: nurses prescribe under protocol, administrators do not.
    Action.PRESCRIPTION_WRITE: _NURSING,
    Action.HISTORY_READ: _READERS,
    Action.SESSION_READ: _READERS,
    Action.ALERT_READ: _READERS,
    Action.ALERT_ACT: _NURSING,
    # Only a charge nurse may silence an urgent alert, and only briefly (see services/api/routes/alerts.py).
    Action.ALERT_SNOOZE_URGENT: frozenset({"charge_nurse"}),
    Action.ENTRY_READ: _READERS,
    Action.ENTRY_WRITE: frozenset({"patient"}),
    Action.LIVE_PATIENT: _READERS,
    Action.LIVE_CLINIC: _CLINICAL | {"integration"},
}


def allowed(role: str, action: Action) -> bool:
    return role in PERMISSIONS[action]


def roles_for(action: Action) -> list[str]:
    return sorted(PERMISSIONS[action])
