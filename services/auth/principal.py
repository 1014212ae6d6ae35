"""Who is calling, and the scoping rules every route applies (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["patient", "nurse", "charge_nurse", "clinic_admin", "integration", "device"]
ROLES: tuple[Role, ...] = ("patient", "nurse", "charge_nurse", "clinic_admin", "integration", "device")
CLINICAL_ROLES: frozenset[str] = frozenset({"nurse", "charge_nurse", "clinic_admin"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. Patients carry their own patient id; devices carry the patient they write for."""

    subject: str
    role: Role
    clinic_id: str
    patient_id: str | None = None
    display_name: str = ""
    device_id: str | None = None

    @property
    def is_clinician(self) -> bool:
        return self.role in CLINICAL_ROLES

    def may_read_patient(self, patient_id: str, patient_clinic_id: str) -> bool:
        """A patient sees only themself; clinicians and integrations see only their own clinic's patients."""
        if self.role in ("patient", "device"):
            return self.patient_id == patient_id
        return self.clinic_id == patient_clinic_id

    def may_write_for_patient(self, patient_id: str) -> bool:
        """Devices (and patients entering RPE/symptoms) write only their own stream."""
        return self.role in ("patient", "device") and self.patient_id == patient_id
